-- List cursors carry (created_at, id) through JavaScript, whose dates hold milliseconds. Rows created with
-- microsecond timestamps could not be compared exactly against a cursor, so listing keyset pages needed
-- date_trunc() in ORDER BY, which no index serves. Store milliseconds instead and keep the plain keyset.
ALTER TABLE subscriptions ALTER COLUMN created_at SET DEFAULT date_trunc('milliseconds', now());
ALTER TABLE deliveries ALTER COLUMN created_at SET DEFAULT date_trunc('milliseconds', now());
UPDATE subscriptions SET created_at = date_trunc('milliseconds', created_at)
  WHERE created_at <> date_trunc('milliseconds', created_at);
UPDATE deliveries SET created_at = date_trunc('milliseconds', created_at)
  WHERE created_at <> date_trunc('milliseconds', created_at);
