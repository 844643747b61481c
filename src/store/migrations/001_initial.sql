-- dab's first schema: registered databases, caller mappings, and the append-only audit log.

CREATE TABLE databases (
  name          text PRIMARY KEY,
  host          text NOT NULL,
  port          integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
  region        text NOT NULL,
  dbname        text NOT NULL,
  role_arn      text NOT NULL,
  external_id   text,
  sslmode       text NOT NULL,
  -- {"ro": {"dbUser": "...", "roleArn": "..."}, "rw": {...}, "monitor": {...}}
  levels        jsonb NOT NULL,
  description   text,
  version       integer NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE mappings (
  id             uuid PRIMARY KEY,
  issuer         text NOT NULL,
  subject        text,
  group_name     text,
  database_name  text NOT NULL REFERENCES databases (name) ON DELETE RESTRICT,
  levels         text[] NOT NULL,
  expires_at     timestamptz,
  description    text,
  version        integer NOT NULL DEFAULT 1,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CHECK ((subject IS NULL) <> (group_name IS NULL))
);
-- The grant path looks mappings up by database and principal key.
CREATE INDEX mappings_by_subject ON mappings (database_name, issuer, subject) WHERE subject IS NOT NULL;
CREATE INDEX mappings_by_group ON mappings (database_name, issuer, group_name) WHERE group_name IS NOT NULL;

CREATE TABLE audit_events (
  id                 bigserial PRIMARY KEY,
  event_id           uuid NOT NULL UNIQUE,
  occurred_at        timestamptz NOT NULL,
  event_type         text NOT NULL,
  outcome            text NOT NULL,
  reason             text NOT NULL,
  rule               text,
  request_id         text,
  actor_issuer       text,
  actor_subject      text,
  actor_groups       text[],
  source_ip          text,
  user_agent         text,
  database_name      text,
  access_level       text,
  db_user            text,
  role_arn           text,
  session_name       text,
  source_identity    text,
  access_key_id      text,
  token_fingerprint  text,
  expires_at         timestamptz,
  caller_reason      text,
  details            jsonb
);
CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at);

-- Append-only, enforced by the database itself: no role that runs through these triggers
-- can rewrite or remove history. (Dropping the triggers needs the table owner; README shows
-- the production split where the runtime role owns nothing.)
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
