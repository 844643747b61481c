// The help of `dab serve`, `dab migrate` and `dab sandbox`, apart from their commands: `--help`
// must not load the server, the store or the sandbox.

export const SERVE_HELP = `Usage: dab serve

Runs dab in the foreground: opens the store (DATABASE_URL; or, only when store.embedded is true /
DAB_STORE_EMBEDDED=true, the embedded store in store.dataDir — neither stops start-up), applies
migrations under an advisory lock (unless store.migrateOnStart is false),
and listens on listen.host:listen.port. Configuration: the YAML/JSON file named by DAB_CONFIG,
overridden by environment variables (README lists every setting). SIGTERM/SIGINT drain and exit.`;

export const MIGRATE_HELP = `Usage: dab migrate

Applies pending migrations to the configured store and exits. Safe while other instances start:
migrations run under an advisory lock. In production run it as the schema owner role, then
deploy/postgres/dab-store-grants.sql (README, "Deploying"). Reads only the store settings
(DATABASE_URL, or the store section of DAB_CONFIG): no issuers or keys needed.`;

export const SANDBOX_HELP = `Usage: dab sandbox [--port N] [--target-url URL]

Runs dab locally with everything it needs, on loopback, for trying it out — INSECURE, never for
real data: a local OIDC issuer, an STS emulator, and a real PostgreSQL (a throwaway cluster from
the installed server binaries, or the superuser URL given by --target-url / DAB_SANDBOX_TARGET_URL)
behind an RDS-like IAM gate that checks tokens the way RDS does. Seeds a demo database, prints
caller tokens and commands that work as printed. Ctrl-C stops everything.

Options:
  --port N           dab's port (default 8080, env DAB_PORT)
  --target-url URL   PostgreSQL superuser URL to use as the demo database server`;
