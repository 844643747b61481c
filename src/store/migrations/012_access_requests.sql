-- Just-in-time access (issue 16): DBA policy on who may request which levels and who approves,
-- the requests themselves (their approved windows are part of the access model), and the
-- notification outbox that delivers webhooks with retries.

-- One request policy per name, its declaration as apply reads it (validated by dab, not here).
CREATE TABLE request_policies (
  name        text PRIMARY KEY,
  body        jsonb NOT NULL,
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A request's stored state is pending, approved, denied, cancelled, expired or revoked. Whether an
-- approved window is active or has ended, and whether a pending request has timed out, follows from
-- the clock at decision time (window_ends_at, pending_until): no job has to run for either.
CREATE TABLE access_requests (
  id                  uuid PRIMARY KEY,
  requester_issuer    text NOT NULL,
  requester_subject   text NOT NULL,
  requester_groups    text[] NOT NULL DEFAULT '{}',
  database_name       text NOT NULL,
  access_level        text NOT NULL,
  reason              text NOT NULL,
  duration_seconds    integer NOT NULL CHECK (duration_seconds > 0),
  break_glass         boolean NOT NULL DEFAULT false,
  policy_name         text NOT NULL,
  approvals_required  integer NOT NULL CHECK (approvals_required >= 0),
  state               text NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'cancelled', 'expired', 'revoked')),
  version             integer NOT NULL DEFAULT 1,
  created_at          timestamptz NOT NULL,
  pending_until       timestamptz NOT NULL,
  -- [{issuer, subject, at, version, note}], in order.
  approvals           jsonb NOT NULL DEFAULT '[]',
  window_starts_at    timestamptz,
  window_ends_at      timestamptz,
  closed_at           timestamptz,
  closed_by           jsonb,
  close_reason        text,
  reviewed_at         timestamptz,
  reviewed_by         jsonb,
  review_note         text
);
CREATE INDEX access_requests_open ON access_requests (state, window_ends_at);
CREATE INDEX access_requests_by_requester ON access_requests (requester_issuer, requester_subject, created_at);
CREATE INDEX access_requests_unreviewed ON access_requests (created_at) WHERE break_glass AND reviewed_at IS NULL;

-- Approving, revoking or cancelling changes what callers may get: every replica must see it within
-- accessModel.maxStalenessMs, through the same counter the mapping tables bump (004, 009).
CREATE TRIGGER access_requests_bump_access_model AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON access_requests
  FOR EACH STATEMENT EXECUTE FUNCTION bump_access_model_version();
CREATE TRIGGER request_policies_bump_access_model AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON request_policies
  FOR EACH STATEMENT EXECUTE FUNCTION bump_access_model_version();

-- The webhook outbox: a row per (event, webhook), written in the transaction of the change it
-- reports, so a crash or an unreachable receiver loses nothing; delivered or given up, it stays
-- for inspection until a DBA prunes it.
CREATE TABLE notification_deliveries (
  id               uuid PRIMARY KEY,
  webhook          text NOT NULL,
  event_type       text NOT NULL,
  access_request_id uuid,
  payload          jsonb NOT NULL,
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  last_error       text,
  delivered_at     timestamptz,
  given_up_at      timestamptz,
  created_at       timestamptz NOT NULL
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE delivered_at IS NULL AND given_up_at IS NULL;

-- A grant made under an approved window, and every step of a request, name the request. Part of
-- the event MAC and seal format 3 only when set (src/audit/audit-canonical.ts ADDED_FIELDS), so
-- rows without it, old ones included, keep their MACs.
ALTER TABLE audit_events ADD COLUMN access_request_id text;
CREATE INDEX audit_events_access_request ON audit_events (access_request_id) WHERE access_request_id IS NOT NULL;
