-- Tamper evidence for audit_events: sealed batches whose hashes chain (src/audit/audit-sealer.ts).
--
-- Each seal covers the contiguous id range (previous seal's last_id, last_id]. Ids in that range that
-- never committed (rolled-back inserts burn sequence values) are listed in `gaps`, so verification can
-- tell a sequence gap from a deleted row, and a row forged into a gap from a real one. `row_hashes`
-- holds one SHA-256 per sealed row in id order (32 bytes each): that is what lets verification name
-- the first broken event instead of only the broken batch. Everything is committed to by seal_hash,
-- which chains to the previous seal's.

CREATE TABLE audit_seals (
  seq             bigint PRIMARY KEY CHECK (seq >= 1),
  -- Version of the row serialisation and seal hash layout (src/audit/audit-canonical.ts).
  format          smallint NOT NULL,
  first_id        bigint NOT NULL,
  last_id         bigint NOT NULL CHECK (last_id >= first_id),
  row_count       integer NOT NULL CHECK (row_count >= 1),
  -- Inclusive [from, to] pairs, flattened: {from1, to1, from2, to2, ...}.
  gaps            bigint[] NOT NULL DEFAULT '{}',
  row_hashes      bytea NOT NULL,
  rows_digest     text NOT NULL,
  prev_seal_hash  text NOT NULL,
  seal_hash       text NOT NULL UNIQUE,
  sealed_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX audit_seals_last_id ON audit_seals (last_id);

-- Append-only like audit_events. A separate function because the message names the table.
CREATE FUNCTION audit_seals_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_seals is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_seals_no_update_delete BEFORE UPDATE OR DELETE ON audit_seals
  FOR EACH ROW EXECUTE FUNCTION audit_seals_refuse_change();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
  FOR EACH STATEMENT EXECUTE FUNCTION audit_seals_refuse_change();
