-- One counter that every change to databases or mappings bumps, by whatever path (the API of
-- any instance, `dab admin apply`, or a DBA's own SQL). Each dab instance re-reads it at most
-- every accessModel.maxStalenessMs before deciding, and drops its in-memory model when it moved.
CREATE TABLE access_model_version (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  version bigint NOT NULL
);
INSERT INTO access_model_version (version) VALUES (1);

CREATE FUNCTION bump_access_model_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE access_model_version SET version = version + 1;
  RETURN NULL;
END;
$$;
CREATE TRIGGER databases_bump_access_model AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON databases
  FOR EACH STATEMENT EXECUTE FUNCTION bump_access_model_version();
CREATE TRIGGER mappings_bump_access_model AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON mappings
  FOR EACH STATEMENT EXECUTE FUNCTION bump_access_model_version();
