-- An approved window ends by the clock alone (the grant path compares windowEndsAt with now), so
-- nothing has to run for access to stop. This column is only for the record: the sweep that marks
-- timed-out requests also writes one access_request.ended row (and a webhook) per window whose end
-- has passed, and stamps it here so each is recorded once, by one replica.
ALTER TABLE access_requests ADD COLUMN end_recorded_at timestamptz;

-- What the sweep looks for on every poll: approved windows over and not yet recorded. Small, since
-- rows leave it once recorded.
CREATE INDEX access_requests_window_end_due ON access_requests (window_ends_at)
  WHERE state = 'approved' AND end_recorded_at IS NULL;
