-- Rows dab did not write (src/audit/event-mac.ts): every audit row dab inserts from now on carries
-- an HMAC-SHA256 over its canonical form, under a key the database never holds. The runtime role
-- can INSERT into audit_events, so it could add forged rows that the sealer would then seal; without
-- the key it cannot give them a MAC that verifies, and verification reports them as `forged`.
ALTER TABLE audit_events ADD COLUMN event_mac text;

-- Rows that existed before this migration have no MAC, and never can: verification counts them as
-- "written before event MACs". Every id from this one on must carry a MAC. A constant in an
-- immutable function, because the runtime role can call it (EXECUTE is PUBLIC) but cannot change it
-- (only its owner, the schema owner, can replace it). Instances of older dab versions that still
-- write rows after this point would write them without a MAC: upgrade all instances together.
DO $$
DECLARE
  first_mac bigint;
BEGIN
  EXECUTE format('SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM %s', pg_get_serial_sequence('audit_events', 'id')) INTO first_mac;
  first_mac := greatest(first_mac, (SELECT coalesce(max(id), 0) + 1 FROM audit_events));
  EXECUTE format('CREATE FUNCTION audit_event_macs_from() RETURNS bigint LANGUAGE sql IMMUTABLE AS %L', format('SELECT %s::bigint', first_mac));
END;
$$;
