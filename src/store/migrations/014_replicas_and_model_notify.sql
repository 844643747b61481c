-- Two things replicas on one store need.
--
-- 1. dab_replicas: each dab serve process heartbeats here (src/budgets/replica-heartbeat.ts), so
--    every replica knows how many share the per-endpoint mint budget and takes budget / replicas.
--    Not audit data: rows are upserted, and deleted when a replica stops or has long been silent.
CREATE TABLE dab_replicas (
  replica_id text PRIMARY KEY,
  started_at timestamptz NOT NULL,
  seen_at timestamptz NOT NULL
);

-- 2. The access-model version bump also NOTIFYs, with the new version as payload, so replicas that
--    LISTEN (src/mappings/access-model-listener.ts) drop their model at once instead of at their
--    next poll. Delivered at commit, and only then; the poll stays as the safety net.
--    CREATE OR REPLACE resets SECURITY DEFINER and the pinned search_path, so both are set again
--    exactly as migration 009 set them.
CREATE OR REPLACE FUNCTION bump_access_model_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v bigint;
BEGIN
  UPDATE access_model_version SET version = version + 1 RETURNING version INTO v;
  PERFORM pg_notify('dab_access_model', v::text);
  RETURN NULL;
END;
$$;
DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION bump_access_model_version() SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
END;
$$;
