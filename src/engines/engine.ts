import type { TSchema } from 'typebox';
import type { PresignTarget } from '../aws/sigv4-presign.js';
import type { PolicyStatement } from '../bootstrap/iam-policies.js';
import type { AccessLevel, Database } from '../databases/database-schema.js';

// The seam every database engine plugs into (BRIEF §4). An engine is one module that says what its
// registration needs, how its token is signed, what its bootstrap artefacts are, how the preflight
// check logs in, and which client formats it offers. The grant path, audit, explain and dry-run
// only ever hold an Engine, never an engine's name: adding one is a module plus a registry line
// (src/engines/registry.ts). This file stays free of runtime imports, so engines (and the CLI,
// which reads client formats) can load it cheaply.

export interface FieldProblem {
  /** Path under the body, e.g. "body.sslmode" or "body.levels.ro.accessString". */
  field: string;
  message: string;
}

export interface EngineRegistration {
  /** Top-level registration fields only this engine takes; refused (400 naming the field) on others. */
  fields: Readonly<Record<string, TSchema>>;
  /** Which of `fields` a registration must carry once defaults are filled in. */
  required: readonly string[];
  /** Fields of a level (besides dbUser and roleArn) only this engine takes, e.g. an access string. */
  levelFields: Readonly<Record<string, TSchema>>;
  requiredLevelFields: readonly string[];
  /** Filled in where the body leaves them out: the port always, and any engine field with a default. */
  defaults: { readonly port: number } & Readonly<Record<string, unknown>>;
  /**
   * Rules of this engine JSON Schema cannot say, e.g. the engine's DB user name syntax, TLS required,
   * a cache name instead of an endpoint. Fields are named "body.…" (the caller re-roots them).
   */
  problems(db: Database): FieldProblem[];
}

/** Engine-specific fields of a grant (beyond token, user, host, port, region, expiresAt). */
export interface EngineGrant {
  /** JSON Schemas of the fields `fields()` returns, for the Grant response (all optional there). */
  schema: Readonly<Record<string, TSchema>>;
  fields(db: Database): Record<string, unknown>;
}

export interface BootstrapOptions {
  /**
   * Schemas (PostgreSQL; default public) or databases (MySQL; default the registered one) to grant
   * ro and rw on, as the DBA asked (?schema=); engines without them ignore it.
   */
  schemas?: readonly string[];
}

/** What a DBA runs on the database side; the IAM side is built from `connectPermission`. */
export interface EngineBootstrap {
  /** Idempotent SQL for SQL engines (run as the master user). */
  sql?: string;
  /** Shell commands (e.g. `aws elasticache create-user …`) for engines prepared through an API. */
  commands?: string;
  warnings: string[];
}

/** What the IAM side needs of a registration. */
export type ConnectTarget = Pick<Database, 'region' | 'roleArn' | 'externalId' | 'levels'> & { readonly [field: string]: unknown };

export interface ConnectPermission {
  /** The permission policy's statement(s) for the DB users of these levels on this database. */
  statements: PolicyStatement[];
  /** E.g. a placeholder used for a resource id that is not registered. */
  warnings: string[];
}

/** One level's login in a preflight check (the token is a secret: never logged, never returned). */
export interface LoginRequest {
  db: Database;
  level: AccessLevel;
  dbUser: string;
  /** The role whose session signed the token (for the explanation of a refusal). */
  roleArn: string;
  token: string;
  timeoutMs: number;
  /** Strings to scrub from any message (token, credentials, ExternalId). */
  secrets: readonly string[];
}

/** ok: logged in as dbUser and the level's privileges are there; skipped: dab cannot reach it. */
export interface LoginOutcome {
  status: 'ok' | 'failed' | 'skipped';
  message: string;
}

export type LoginCheck = (request: LoginRequest) => Promise<LoginOutcome>;

/** One way `dab creds --format …` prints a grant (the grant as the HTTP API answers it). */
export interface ClientFormat {
  name: string;
  /** One line for --help. */
  help: string;
  render(grant: Readonly<Record<string, unknown>> & { token: string; user: string; host: string; port: number }): string;
}

export interface Engine {
  /** The registration's `engine` value. */
  name: string;
  /** For humans: "RDS/Aurora PostgreSQL". */
  title: string;
  registration: EngineRegistration;
  /** What a token for this DB user of this database signs (service, signed host, query, lifetime). */
  tokenTarget(db: Database, dbUser: string): PresignTarget;
  grant: EngineGrant;
  bootstrap(db: Database, opts: BootstrapOptions): EngineBootstrap;
  /** The IAM permission a level's role needs to connect as its DB users. */
  connectPermission(db: ConnectTarget, roleArn: string, levels: readonly AccessLevel[]): ConnectPermission;
  /** Logs in as the level's DB user with a fresh token and proves the level's privileges. */
  login: LoginCheck;
  /** `dab creds --format` choices besides json (the first is the default for humans: env lines). */
  clientFormats: readonly ClientFormat[];
}
