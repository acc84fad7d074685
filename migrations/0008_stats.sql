-- Answers without paging: per-subscription and per-tenant statistics, messages listed by topic and batch
-- summaries (GET /v1/subscriptions/:id/stats, GET /v1/stats, GET /v1/messages, POST /v1/messages/summary).
--
-- Counts by delivery state are counted from the deliveries table in one statement (one snapshot), served by
-- the existing deliveries_by_subscription index (index-only). Everything measured over a time window
-- (attempts, success rate, latency, last success and failure, deliveries per minute) comes from a per-minute
-- rollup written by statement-level triggers: one aggregated upsert per statement that inserts attempts or
-- deliveries, so the dispatcher's and router's batched writes stay one statement each, and a day's figures
-- are at most 1,440 rows per subscription to read whatever the traffic.

-- Upper bounds (exclusive, milliseconds) of the latency histogram's buckets; the last bucket is unbounded.
-- Kept in sync with LATENCY_BUCKET_BOUNDS_MS in shared/db/stats.ts.
CREATE FUNCTION hookline_latency_bucket(ms integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
  SELECT width_bucket(ms, ARRAY[10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000])
$$;

CREATE FUNCTION hookline_add_counts(a integer[], b integer[]) RETURNS integer[] LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i) FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
$$;

CREATE TABLE subscription_minutes (
  subscription_id     text NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  minute              timestamptz NOT NULL,
  tenant              text NOT NULL,
  -- Deliveries created (fan-out, replay, a poll delivery handed out for the first time).
  deliveries          integer NOT NULL DEFAULT 0,
  attempts            integer NOT NULL DEFAULT 0,
  succeeded           integer NOT NULL DEFAULT 0,
  failed              integer NOT NULL DEFAULT 0,
  -- Attempts per latency bucket (hookline_latency_bucket 0..11).
  latency_buckets     integer[] NOT NULL DEFAULT '{0,0,0,0,0,0,0,0,0,0,0,0}',
  last_success_at     timestamptz,
  last_failure_at     timestamptz,
  last_failure_error  text,
  last_failure_status integer,
  PRIMARY KEY (subscription_id, minute)
);
CREATE INDEX subscription_minutes_tenant ON subscription_minutes (tenant, minute);
-- Pruning (rows older than a day are never read).
CREATE INDEX subscription_minutes_minute ON subscription_minutes (minute);

-- Rows are upserted in (subscription_id, minute) order so that concurrent statements lock shared rows in the
-- same order and cannot deadlock.
CREATE FUNCTION hookline_attempts_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH a AS (
    SELECT d.subscription_id, d.tenant, date_trunc('minute', n.started_at) AS minute, n.started_at,
      n.duration_ms, n.status_code, n.error, coalesce(n.status_code BETWEEN 200 AND 299, false) AS ok
    FROM new_attempts n JOIN deliveries d ON d.id = n.delivery_id
  ),
  last_failure AS (
    SELECT DISTINCT ON (subscription_id, minute) subscription_id, minute, started_at, error, status_code
    FROM a WHERE NOT ok ORDER BY subscription_id, minute, started_at DESC
  ),
  g AS (
    SELECT subscription_id, minute, min(tenant) AS tenant, count(*)::int AS attempts,
      (count(*) FILTER (WHERE ok))::int AS succeeded, (count(*) FILTER (WHERE NOT ok))::int AS failed,
      ARRAY[
        count(*) FILTER (WHERE hookline_latency_bucket(duration_ms) = 0),
        count(*) FILTER (WHERE hookline_latency_bucket(duration_ms) = 1),
        count(*) FILTER (WHERE hookline_latency_bucket(duration_ms) = 2),
        count(*) FILTER (WHERE hookline_latency_bucket(duration_ms) = 3),
        count(*) FILTER (WHERE hookline_latency_bucket(duration_ms) = 4),
        count(*) FILTER (WHERE hookline_latency_bucket(duration_ms) = 5),
        count(*) FILTER (WHERE hookline_latency_bucket(duration_ms) = 6),
        count(*) FILTER (WHERE hookline_latency_bucket(duration_ms) = 7),
        count(*) FILTER (WHERE hookline_latency_bucket(duration_ms) = 8),
        count(*) FILTER (WHERE hookline_latency_bucket(duration_ms) = 9),
        count(*) FILTER (WHERE hookline_latency_bucket(duration_ms) = 10),
        count(*) FILTER (WHERE hookline_latency_bucket(duration_ms) = 11)
      ]::int[] AS latency_buckets,
      max(started_at) FILTER (WHERE ok) AS last_success_at
    FROM a GROUP BY subscription_id, minute
  )
  INSERT INTO subscription_minutes AS s (subscription_id, minute, tenant, attempts, succeeded, failed, latency_buckets,
    last_success_at, last_failure_at, last_failure_error, last_failure_status)
  SELECT g.subscription_id, g.minute, g.tenant, g.attempts, g.succeeded, g.failed, g.latency_buckets,
    g.last_success_at, f.started_at, f.error, f.status_code
  FROM g LEFT JOIN last_failure f USING (subscription_id, minute)
  ORDER BY g.subscription_id, g.minute
  ON CONFLICT (subscription_id, minute) DO UPDATE SET
    attempts = s.attempts + excluded.attempts,
    succeeded = s.succeeded + excluded.succeeded,
    failed = s.failed + excluded.failed,
    latency_buckets = hookline_add_counts(s.latency_buckets, excluded.latency_buckets),
    last_success_at = greatest(s.last_success_at, excluded.last_success_at),
    last_failure_at = greatest(s.last_failure_at, excluded.last_failure_at),
    last_failure_error = CASE WHEN excluded.last_failure_at >= s.last_failure_at OR s.last_failure_at IS NULL
      THEN excluded.last_failure_error ELSE s.last_failure_error END,
    last_failure_status = CASE WHEN excluded.last_failure_at >= s.last_failure_at OR s.last_failure_at IS NULL
      THEN excluded.last_failure_status ELSE s.last_failure_status END;
  RETURN NULL;
END
$$;
CREATE TRIGGER attempts_rollup AFTER INSERT ON attempts
  REFERENCING NEW TABLE AS new_attempts FOR EACH STATEMENT EXECUTE FUNCTION hookline_attempts_rollup();

CREATE FUNCTION hookline_deliveries_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO subscription_minutes AS s (subscription_id, minute, tenant, deliveries)
  SELECT subscription_id, date_trunc('minute', created_at), min(tenant), count(*)::int
  FROM new_deliveries GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (subscription_id, minute) DO UPDATE SET deliveries = s.deliveries + excluded.deliveries;
  RETURN NULL;
END
$$;
CREATE TRIGGER deliveries_rollup AFTER INSERT ON deliveries
  REFERENCING NEW TABLE AS new_deliveries FOR EACH STATEMENT EXECUTE FUNCTION hookline_deliveries_rollup();

-- GET /v1/messages: newest first by topic (exact topic) or by time (patterns, filtered), keyset (published_at, id).
CREATE INDEX messages_by_topic ON messages (tenant, topic, published_at DESC, id DESC);
CREATE INDEX messages_listing ON messages (tenant, published_at DESC, id DESC) INCLUDE (topic);
DROP INDEX messages_published;
