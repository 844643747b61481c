-- Run as the RDS master user on the database dab will broker (example: schema "app").
-- Privileges live in group roles; login users get one group role plus rds_iam, which makes
-- IAM tokens their only way in (no password fallback).

CREATE ROLE oltp_ro_role NOLOGIN;
GRANT USAGE ON SCHEMA app TO oltp_ro_role;
GRANT SELECT ON ALL TABLES IN SCHEMA app TO oltp_ro_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO oltp_ro_role;

CREATE ROLE oltp_rw_role NOLOGIN;
GRANT USAGE ON SCHEMA app TO oltp_rw_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA app TO oltp_rw_role;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA app TO oltp_rw_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO oltp_rw_role;

CREATE USER oltp_ro_user WITH LOGIN;
GRANT rds_iam TO oltp_ro_user;
GRANT oltp_ro_role TO oltp_ro_user;

CREATE USER oltp_rw_user WITH LOGIN;
GRANT rds_iam TO oltp_rw_user;
GRANT oltp_rw_role TO oltp_rw_user;

CREATE USER pgmonitor WITH LOGIN;
GRANT rds_iam TO pgmonitor;
GRANT pg_monitor TO pgmonitor;
