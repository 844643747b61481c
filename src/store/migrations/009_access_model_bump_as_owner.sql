-- The access-model version bump (004) ran with the privileges of whoever changed databases or
-- mappings, so that role needed UPDATE on access_model_version as well. The runtime role of
-- deploy/postgres/ had none: every database or mapping registration failed. The bump now runs as
-- the function's owner (the schema owner that ran this migration), which is the better design:
--   * any role allowed to change databases or mappings (dab serve, a DBA's own SQL) bumps the
--     counter, with no privilege on the counter itself to grant, forget or drift;
--   * the runtime role can only read the counter, never set it back or hold it still, so it cannot
--     make other instances keep serving an access model that has changed.
-- SECURITY DEFINER code must not resolve names through a search_path its caller controls: the path
-- is pinned to the schema these tables were created in, with pg_temp last (pg_catalog, unlisted,
-- is searched first), so no object another role creates can stand in for access_model_version.
DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION bump_access_model_version() SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
END;
$$;
