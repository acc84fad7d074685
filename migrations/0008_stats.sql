-- Answers without paging: per-subscription and per-tenant statistics, messages listed by topic and batch
-- summaries (GET /v1/subscriptions/:id/stats, GET /v1/stats, GET /v1/messages, POST /v1/messages/summary).
--
-- Counting a million rows takes a second, so the figures are kept as they change, by statement-level triggers
-- with transition tables: each statement that inserts or updates deliveries, attempts or messages (the router's
-- and dispatcher's batched writes) adds one aggregated upsert, in the same transaction, so the figures are
-- exact and as consistent as the rows they count.
--   delivery_counts       deliveries by (subscription, state): counts by state in one snapshot
--   subscription_minutes  per subscription and minute: deliveries, attempts, outcomes, a latency histogram,
--                         the last success and failure; a day is at most 1,440 rows to read
--   tenant_minutes        the same totals per tenant and minute, plus messages published
-- Hot rows are spread over four shards (by backend process) so that concurrent writers seldom wait on one
-- row; readers sum the shards. Every upsert runs in key order, so concurrent statements cannot deadlock.

CREATE FUNCTION hookline_shard() RETURNS smallint LANGUAGE sql STABLE AS $$ SELECT (pg_backend_pid() % 4)::smallint $$;

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
  shard               smallint NOT NULL,
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
  PRIMARY KEY (subscription_id, minute, shard)
);
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
      THEN excluded.last_failure_status ELSE s.last_failure_status END;
  RETURN NULL;
END
$$;
CREATE TRIGGER attempts_rollup AFTER INSERT ON attempts
  REFERENCING NEW TABLE AS new_attempts FOR EACH STATEMENT EXECUTE FUNCTION hookline_attempts_rollup();

CREATE TABLE tenant_minutes (
  tenant      text NOT NULL,
  minute      timestamptz NOT NULL,
  shard       smallint NOT NULL,
  messages    integer NOT NULL DEFAULT 0,
  deliveries  integer NOT NULL DEFAULT 0,
  attempts    integer NOT NULL DEFAULT 0,
  succeeded   integer NOT NULL DEFAULT 0,
  failed      integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, minute, shard)
);
CREATE INDEX tenant_minutes_minute ON tenant_minutes (minute);

CREATE TABLE delivery_counts (
  subscription_id  text NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  status           text NOT NULL,
  shard            smallint NOT NULL,
  tenant           text NOT NULL,
  -- A shard may go negative (a delivery counted in one shard moves on in another); the sum is exact.
  n                bigint NOT NULL,
  PRIMARY KEY (subscription_id, status, shard)
);
CREATE INDEX delivery_counts_tenant ON delivery_counts (tenant);

CREATE FUNCTION hookline_attempts_tenant_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tenant_minutes AS t (tenant, minute, shard, attempts, succeeded, failed)
  SELECT d.tenant, date_trunc('minute', n.started_at), hookline_shard(), count(*),
    count(*) FILTER (WHERE n.status_code BETWEEN 200 AND 299),
    count(*) FILTER (WHERE n.status_code IS NULL OR n.status_code NOT BETWEEN 200 AND 299)
  FROM new_attempts n JOIN deliveries d ON d.id = n.delivery_id
  GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (tenant, minute, shard) DO UPDATE SET attempts = t.attempts + excluded.attempts,
    succeeded = t.succeeded + excluded.succeeded, failed = t.failed + excluded.failed;
  RETURN NULL;
END
$$;
CREATE TRIGGER attempts_tenant_rollup AFTER INSERT ON attempts
  REFERENCING NEW TABLE AS new_attempts FOR EACH STATEMENT EXECUTE FUNCTION hookline_attempts_tenant_rollup();

CREATE FUNCTION hookline_deliveries_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO delivery_counts AS c (subscription_id, status, shard, tenant, n)
  SELECT subscription_id, status, hookline_shard(), min(tenant), count(*)
  FROM new_deliveries GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (subscription_id, status, shard) DO UPDATE SET n = c.n + excluded.n;

  INSERT INTO subscription_minutes AS s (subscription_id, minute, shard, tenant, deliveries)
  SELECT subscription_id, date_trunc('minute', created_at), hookline_shard(), min(tenant), count(*)::int
  FROM new_deliveries GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (subscription_id, minute, shard) DO UPDATE SET deliveries = s.deliveries + excluded.deliveries;

  INSERT INTO tenant_minutes AS t (tenant, minute, shard, deliveries)
  SELECT tenant, date_trunc('minute', created_at), hookline_shard(), count(*)::int
  FROM new_deliveries GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (tenant, minute, shard) DO UPDATE SET deliveries = t.deliveries + excluded.deliveries;
  RETURN NULL;
END
$$;
CREATE TRIGGER deliveries_inserted AFTER INSERT ON deliveries
  REFERENCING NEW TABLE AS new_deliveries FOR EACH STATEMENT EXECUTE FUNCTION hookline_deliveries_inserted();

CREATE FUNCTION hookline_deliveries_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO delivery_counts AS c (subscription_id, status, shard, tenant, n)
  SELECT subscription_id, status, hookline_shard(), min(tenant), sum(delta)
  FROM (
    SELECT o.subscription_id, o.status, o.tenant, -1 AS delta FROM old_deliveries o JOIN new_deliveries n USING (id)
    WHERE o.status <> n.status
    UNION ALL
    SELECT n.subscription_id, n.status, n.tenant, 1 FROM old_deliveries o JOIN new_deliveries n USING (id)
    WHERE o.status <> n.status
  ) moved
  GROUP BY 1, 2 HAVING sum(delta) <> 0 ORDER BY 1, 2
  ON CONFLICT (subscription_id, status, shard) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END
$$;
CREATE TRIGGER deliveries_updated AFTER UPDATE ON deliveries
  REFERENCING OLD TABLE AS old_deliveries NEW TABLE AS new_deliveries
  FOR EACH STATEMENT EXECUTE FUNCTION hookline_deliveries_updated();

CREATE FUNCTION hookline_deliveries_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A subscription's own deletion removes its counters (cascade): only live subscriptions are adjusted.
  INSERT INTO delivery_counts AS c (subscription_id, status, shard, tenant, n)
  SELECT o.subscription_id, o.status, hookline_shard(), min(o.tenant), -count(*)
  FROM old_deliveries o WHERE EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = o.subscription_id)
  GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (subscription_id, status, shard) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END
$$;
CREATE TRIGGER deliveries_deleted AFTER DELETE ON deliveries
  REFERENCING OLD TABLE AS old_deliveries FOR EACH STATEMENT EXECUTE FUNCTION hookline_deliveries_deleted();

CREATE FUNCTION hookline_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tenant_minutes AS t (tenant, minute, shard, messages)
  SELECT tenant, date_trunc('minute', published_at), hookline_shard(), count(*)::int
  FROM new_messages GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (tenant, minute, shard) DO UPDATE SET messages = t.messages + excluded.messages;
  RETURN NULL;
END
$$;
CREATE TRIGGER messages_inserted AFTER INSERT ON messages
  REFERENCING NEW TABLE AS new_messages FOR EACH STATEMENT EXECUTE FUNCTION hookline_messages_inserted();

-- Deliveries recorded before this migration.
INSERT INTO delivery_counts (subscription_id, status, shard, tenant, n)
  SELECT subscription_id, status, 0, min(tenant), count(*) FROM deliveries GROUP BY 1, 2;

-- GET /v1/messages: newest first by topic (exact topic) or by time (patterns, filtered), keyset (published_at, id).
CREATE INDEX messages_by_topic ON messages (tenant, topic, published_at DESC, id DESC);
CREATE INDEX messages_listing ON messages (tenant, published_at DESC, id DESC) INCLUDE (topic);
DROP INDEX messages_published;
