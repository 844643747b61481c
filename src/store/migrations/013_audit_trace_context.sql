-- Tracing (issue 15): a grant joins its caller's trace. trace_id and parent_span_id come from a valid
-- W3C traceparent (the caller's trace and span), client_request_id from the caller's own x-request-id
-- (request_id stays dab's own UUIDv7). All nullable: rows from before, and requests without those
-- headers, have none, and their canonical form and MAC are unchanged — the columns enter both only
-- when set (src/audit/audit-canonical.ts ADDED_FIELDS), so old MACs and seals still verify.
ALTER TABLE audit_events ADD COLUMN trace_id text;
ALTER TABLE audit_events ADD COLUMN parent_span_id text;
ALTER TABLE audit_events ADD COLUMN client_request_id text;
-- The auditor's traceId filter. A trace id is random, so a B-tree would dirty a random leaf per
-- traced grant (see 008_audit_insert_cost.sql); a hash index stores ~16 bytes a row and serves the
-- equality lookup. Partial: an untraced grant row touches no page of it.
CREATE INDEX audit_events_trace_id ON audit_events USING hash (trace_id) WHERE trace_id IS NOT NULL;
