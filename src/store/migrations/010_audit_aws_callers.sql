-- AWS IAM callers (issue 12): a grant or change by an AWS principal records the ARN STS stated
-- (actor_subject holds the canonical role ARN), its account and the role session name, e.g. the
-- EC2 instance id. They are part of the event MAC when set (src/audit/event-mac.ts), so rows
-- without them, old ones included, keep their MACs; seal format 3 (audit-canonical.ts) covers them.
ALTER TABLE audit_events ADD COLUMN caller_arn text;
ALTER TABLE audit_events ADD COLUMN caller_account text;
ALTER TABLE audit_events ADD COLUMN caller_session_name text;
