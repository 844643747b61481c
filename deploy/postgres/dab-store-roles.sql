-- dab's own store, production role split. Run once as a superuser / RDS master user.
--   dab_owner: owns the schema; used only by `dab migrate` (a deploy job).
--   dab_app:   what `dab serve` runs as (with store.migrateOnStart: false). It can read and
--              write databases/mappings, but may only INSERT and SELECT the audit log: it
--              cannot UPDATE, DELETE or TRUNCATE it, nor drop the triggers that also refuse those.
CREATE ROLE dab_owner LOGIN;   -- set a password or use IAM auth for it
CREATE ROLE dab_app LOGIN;     -- likewise
CREATE DATABASE dab OWNER dab_owner;
\connect dab
ALTER DEFAULT PRIVILEGES FOR ROLE dab_owner IN SCHEMA public REVOKE ALL ON TABLES FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO dab_app;

-- After `DATABASE_URL=postgres://dab_owner@.../dab dab migrate` has created the tables:
GRANT SELECT, INSERT, UPDATE, DELETE ON databases, mappings TO dab_app;
GRANT SELECT, INSERT ON audit_events TO dab_app;
GRANT USAGE ON SEQUENCE audit_events_id_seq TO dab_app;
-- The sealer appends hash-chained seals; like the log, they can be added to and read, never changed.
-- (It also reads pg_locks and the sequence's last value: open to every role with USAGE.)
GRANT SELECT, INSERT ON audit_seals TO dab_app;
GRANT SELECT ON schema_migrations TO dab_app;
