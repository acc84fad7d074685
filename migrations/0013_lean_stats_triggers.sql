-- The statistics triggers of 0008 did more work per statement than the figures need; the figures are unchanged.
--
-- * deliveries_updated joined the old and new rows (twice) to find the deliveries whose state moved. Most updates
--   of deliveries move none: the mark a dispatcher sets before each send, a lease, a retry's time. Counting the
--   old rows out and the new rows in per (subscription, state) gives the same deltas without a join, and rows
--   whose state did not move cancel out, so such a statement writes nothing.
-- * The attempt rollups were two triggers, each joining every new attempt to its delivery; one trigger now joins
--   once and upserts both the subscription and the tenant minute, and finds each attempt's latency bucket once
--   rather than once per bucket.
-- Upserts keep their key order (see 0008), so concurrent statements still cannot deadlock.

CREATE OR REPLACE FUNCTION hookline_deliveries_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A delivery's subscription and tenant never change: only its state moves between the two sides.
  INSERT INTO delivery_counts AS c (subscription_id, status, shard, tenant, n)
  SELECT subscription_id, status, hookline_shard(), min(tenant), sum(delta)
  FROM (
    SELECT subscription_id, status, tenant, -1 AS delta FROM old_deliveries
    UNION ALL
    SELECT subscription_id, status, tenant, 1 FROM new_deliveries
  ) moved
  GROUP BY 1, 2 HAVING sum(delta) <> 0 ORDER BY 1, 2
  ON CONFLICT (subscription_id, status, shard) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END
$$;

-- One statement: the attempts joined to their deliveries once, the subscription minutes upserted, then the
-- tenant minutes. The tenant upsert waits on the subscription upsert (the one-time filter reads its count), so
-- rows are still locked subscription minutes first, tenant minutes second, as every other writer does.
CREATE OR REPLACE FUNCTION hookline_attempts_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH a AS (
    SELECT d.subscription_id, d.tenant, date_trunc('minute', n.started_at) AS minute, n.started_at,
      hookline_latency_bucket(n.duration_ms) AS bucket, n.status_code, n.error,
      coalesce(n.status_code BETWEEN 200 AND 299, false) AS ok
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
        count(*) FILTER (WHERE bucket = 0), count(*) FILTER (WHERE bucket = 1), count(*) FILTER (WHERE bucket = 2),
        count(*) FILTER (WHERE bucket = 3), count(*) FILTER (WHERE bucket = 4), count(*) FILTER (WHERE bucket = 5),
        count(*) FILTER (WHERE bucket = 6), count(*) FILTER (WHERE bucket = 7), count(*) FILTER (WHERE bucket = 8),
        count(*) FILTER (WHERE bucket = 9), count(*) FILTER (WHERE bucket = 10), count(*) FILTER (WHERE bucket = 11)
      ]::int[] AS latency_buckets,
      max(started_at) FILTER (WHERE ok) AS last_success_at
    FROM a GROUP BY subscription_id, minute
  ),
  by_subscription AS (
    INSERT INTO subscription_minutes AS s (subscription_id, minute, shard, tenant, attempts, succeeded, failed,
      latency_buckets, last_success_at, last_failure_at, last_failure_error, last_failure_status)
    SELECT g.subscription_id, g.minute, hookline_shard(), g.tenant, g.attempts, g.succeeded, g.failed, g.latency_buckets,
      g.last_success_at, f.started_at, f.error, f.status_code
    FROM g LEFT JOIN last_failure f USING (subscription_id, minute)
    ORDER BY g.subscription_id, g.minute
    ON CONFLICT (subscription_id, minute, shard) DO UPDATE SET
      attempts = s.attempts + excluded.attempts,
      succeeded = s.succeeded + excluded.succeeded,
      failed = s.failed + excluded.failed,
      latency_buckets = hookline_add_counts(s.latency_buckets, excluded.latency_buckets),
      last_success_at = greatest(s.last_success_at, excluded.last_success_at),
      last_failure_at = greatest(s.last_failure_at, excluded.last_failure_at),
      last_failure_error = CASE WHEN excluded.last_failure_at >= s.last_failure_at OR s.last_failure_at IS NULL
        THEN excluded.last_failure_error ELSE s.last_failure_error END,
      last_failure_status = CASE WHEN excluded.last_failure_at >= s.last_failure_at OR s.last_failure_at IS NULL
        THEN excluded.last_failure_status ELSE s.last_failure_status END
    RETURNING 1
  )
  INSERT INTO tenant_minutes AS t (tenant, minute, shard, attempts, succeeded, failed)
  SELECT tenant, minute, hookline_shard(), count(*), count(*) FILTER (WHERE ok), count(*) FILTER (WHERE NOT ok)
  FROM a WHERE (SELECT count(*) FROM by_subscription) >= 0
  GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (tenant, minute, shard) DO UPDATE SET attempts = t.attempts + excluded.attempts,
    succeeded = t.succeeded + excluded.succeeded, failed = t.failed + excluded.failed;
  RETURN NULL;
END
$$;

DROP TRIGGER attempts_tenant_rollup ON attempts;
DROP FUNCTION hookline_attempts_tenant_rollup();
