-- Retention (dab audit archive, src/audit/audit-archive.ts): the one way events leave audit_events.
--
-- The append-only trigger now lets a DELETE through only when all of these hold:
--   * the transaction declared how far it archives (SET LOCAL dab.archive_through_id);
--   * the row is at or below that id, and that id is already sealed (the seals, which are kept,
--     still commit to every archived event, so the archive file can be checked against them);
--   * the current role is (a member of) the table's owner — a role that could drop this trigger
--     anyway. The runtime role (INSERT/SELECT only, see deploy/postgres/dab-store-roles.sql) cannot,
--     so append-only still holds for it. UPDATE and TRUNCATE stay refused for everyone.
CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  through bigint;
BEGIN
  IF TG_OP = 'DELETE' THEN
    through := nullif(current_setting('dab.archive_through_id', true), '')::bigint;
    IF through IS NOT NULL AND OLD.id <= through
       AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER')
       AND through <= (SELECT coalesce(max(last_id), 0) FROM audit_seals) THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Verification looks up the archive records (few) without scanning the log.
CREATE INDEX audit_events_archived ON audit_events (id) WHERE event_type = 'audit.archived';
