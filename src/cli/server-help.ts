// The help of `dab serve` and `dab migrate`, apart from their commands: `--help` must not load the server.

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
