-- dab's own store, production role split: step 2 of 2. Run after EVERY `dab migrate` (a migration
-- may add a table), as dab_owner — the owner grants on its own tables, no superuser needed:
--
--   psql "postgres://dab_owner@<host>/dab" -v ON_ERROR_STOP=1 -f deploy/postgres/dab-store-grants.sql
--
-- Idempotent. This is exactly what `dab serve` needs as dab_app, no more: the same list is in
-- src/store/required-privileges.ts, which /readyz checks (503 naming what is missing), and
-- test/deploy/store-roles.test.ts fails if the two differ.
GRANT SELECT, INSERT, UPDATE, DELETE ON databases, mappings TO dab_app;
-- The audit log and its seals can be added to and read, never changed.
GRANT SELECT, INSERT ON audit_events, audit_seals TO dab_app;
-- nextval for new events; the sealer reads the sequence's last value (pg_sequence_last_value).
GRANT USAGE ON SEQUENCE audit_events_id_seq TO dab_app;
-- Read only: the version bump of databases/mappings changes runs as the owner (migration 009).
GRANT SELECT ON access_model_version, schema_migrations TO dab_app;
-- Replica heartbeats sizing each replica's share of the mint budget (migration 014): not audit data.
GRANT SELECT, INSERT, UPDATE, DELETE ON dab_replicas TO dab_app;
-- Just-in-time access (migration 012): policies are applied like mappings; requests and webhook
-- deliveries change state but are never deleted by dab.
GRANT SELECT, INSERT, UPDATE, DELETE ON request_policies TO dab_app;
GRANT SELECT, INSERT, UPDATE ON access_requests, notification_deliveries TO dab_app;
