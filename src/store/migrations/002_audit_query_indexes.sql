-- Indexes for the auditor API (GET /v1/audit/events, holders, lookup, export) at ten million rows.
--
-- Every list is ordered by (occurred_at, id) and paged by keyset on that pair, so each index that
-- serves a filter ends in (occurred_at, id): the planner walks it in either direction, starts right
-- after the cursor and stops after `limit` rows, whatever the table size. The partial ones skip the
-- rows that can never match (admin events have no DB user, denials no token), which keeps them
-- small and keeps the grant path's INSERT cheap. Low-cardinality filters (event type, outcome,
-- issuer, level, group) ride along on whichever of these the query has, or on the time index.

-- Replaces the single-column time index: (occurred_at, id) serves everything it did, plus the
-- keyset tie-break, so keeping both would only cost every INSERT one more index update.
DROP INDEX IF EXISTS audit_events_occurred_at;
CREATE INDEX audit_events_time ON audit_events (occurred_at, id);

-- "Everything alice did this week."
CREATE INDEX audit_events_subject_time ON audit_events (actor_subject, occurred_at, id) WHERE actor_subject IS NOT NULL;

-- "Everything on orders-prod between 14:00 and 15:00."
CREATE INDEX audit_events_database_time ON audit_events (database_name, occurred_at, id) WHERE database_name IS NOT NULL;

-- "Who held orders_rw at 14:05?" and the dbUser filter. A token lives at most 900 s, so the
-- holders query bounds occurred_at to (at - 900 s, at] and reads a few index entries per DB user.
CREATE INDEX audit_events_db_user_time ON audit_events (db_user, occurred_at, id) WHERE db_user IS NOT NULL;

-- Point lookups: one request, one presented token, one STS session (to join CloudTrail).
-- (Grant id is event_id, already UNIQUE.)
CREATE INDEX audit_events_request_id ON audit_events (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX audit_events_token_fingerprint ON audit_events (token_fingerprint) WHERE token_fingerprint IS NOT NULL;
CREATE INDEX audit_events_access_key_id ON audit_events (access_key_id) WHERE access_key_id IS NOT NULL;

-- The mapping as recorded when a grant was made: the latest created/updated event for that mapping
-- id at or before the grant. Admin changes are rare, so this index stays tiny; the holders query
-- repeats this exact predicate so the planner can use it.
CREATE INDEX audit_events_mapping_changes ON audit_events (rule, occurred_at, id)
  WHERE event_type IN ('mapping.created', 'mapping.updated');
