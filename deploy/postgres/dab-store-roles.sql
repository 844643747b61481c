-- dab's own store, production role split: step 1 of 2. Run ONCE, before the first `dab migrate`,
-- as a superuser or the RDS master user, connected to any database of the server:
--
--   psql "postgres://<master>@<host>/postgres" -v ON_ERROR_STOP=1 -f deploy/postgres/dab-store-roles.sql
--
-- Then, at every deploy (README, "Deploying"):
--   DATABASE_URL=postgres://dab_owner@<host>/dab dab migrate
--   psql "postgres://dab_owner@<host>/dab" -v ON_ERROR_STOP=1 -f deploy/postgres/dab-store-grants.sql
--
--   dab_owner: owns the schema and every table; used only by `dab migrate` and `dab audit archive`.
--   dab_app:   what `dab serve` runs as (with store.migrateOnStart: false). It owns nothing and can
--              create nothing: it reads and writes databases and mappings, and may only INSERT and
--              SELECT the audit log and its seals — no UPDATE, DELETE or TRUNCATE, and it cannot
--              drop or disable the triggers that also refuse those (only an owner could).
CREATE ROLE dab_owner LOGIN;   -- set a password, or GRANT rds_iam TO dab_owner for IAM auth
CREATE ROLE dab_app LOGIN;     -- likewise
-- The RDS master user is no superuser: creating a database owned by another role needs membership
-- in that role (PostgreSQL 16+). Harmless for a superuser.
GRANT dab_owner TO CURRENT_USER;
CREATE DATABASE dab OWNER dab_owner;
-- Nobody else connects or makes temporary tables there; the owner keeps both by ownership.
REVOKE ALL ON DATABASE dab FROM PUBLIC;
GRANT CONNECT ON DATABASE dab TO dab_app;

\connect dab
-- PostgreSQL before 15 let every role create objects in schema public: the runtime role must not
-- (it could shadow names). The owner creates the schema's tables; the runtime role only uses them.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO dab_owner;
GRANT USAGE ON SCHEMA public TO dab_app;
