-- Engines (src/engines/): a database is PostgreSQL, MySQL/MariaDB or an ElastiCache cache, and each
-- engine has its own registration fields. Those live in one jsonb column, validated by the engine,
-- so a new engine needs no migration. Every database registered so far is PostgreSQL.
ALTER TABLE databases ADD COLUMN engine text NOT NULL DEFAULT 'postgres';
ALTER TABLE databases ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'::jsonb;
UPDATE databases SET settings = jsonb_strip_nulls(jsonb_build_object('dbname', dbname, 'sslmode', sslmode, 'resourceId', resource_id));
ALTER TABLE databases DROP COLUMN dbname, DROP COLUMN sslmode, DROP COLUMN resource_id;
-- From now on every registration names its engine (dab fills in postgres when a body leaves it out).
ALTER TABLE databases ALTER COLUMN engine DROP DEFAULT;

-- The audit row of a grant records the engine it was for. Rows written before this migration have
-- none (NULL), and their canonical form and MAC are unchanged: the column enters both only when set
-- (src/audit/audit-canonical.ts), so old MACs and seals still verify and a set engine is covered.
ALTER TABLE audit_events ADD COLUMN engine text;
