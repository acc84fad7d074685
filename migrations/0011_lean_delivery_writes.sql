-- What a delivery costs PostgreSQL in bytes (bench/write-cost.ts, docs/capacity.md). A delivery row is written
-- three times on its first try: inserted by the router, marked by the dispatcher just before the request goes
-- out (sending_n, sending_since, sending_by) and settled with the outcome. Before this migration:
--   * every page was filled to the brim by the inserts, so neither update found room on the row's own page:
--     each wrote a new row version elsewhere and a new entry in every index, and left a dead row;
--   * `status` led the subscription listing index (subscription_id, status, created_at, id), so settling a
--     delivery moved its entry from the pending part of the index to the succeeded part: the index grew by a
--     whole entry per settle and kept the dead one until vacuum: 379 of the 1,371 bytes a delivery wrote.
--
-- 1. Room for the mark, where WAL matters more than disk. The mark changes no indexed column, so with room on
--    the page it is a HOT update: the new version goes on the same page and no index is touched; the page is
--    pruned in passing. bench/write-cost.ts measured, per first-try delivery, fillfactor 100 / 70 / 50: HOT
--    0.08 / 0.42 / 0.89 of 2 updates, WAL 2,552 / 2,242 / 1,926 bytes, dead rows 1.91 / 1.59 / 1.12. But the
--    room stays empty once the rows are settled: a settled row takes 190 bytes of heap at 100, 390 at 50, for
--    as long as the log is kept. Disk held for the retention period is what an installation sizes for, so the
--    default stays 100; `hookline.deliveries_fillfactor` (a database setting: ALTER DATABASE … SET
--    hookline.deliveries_fillfactor = 50) gives new deliveries partitions room where WAL volume (replication,
--    archiving) or vacuum is the limit. See docs/capacity.md.
-- 2. The listing index keyed without the volatile `status`: (subscription_id, created_at, id) lists a
--    subscription's deliveries in order, all of them or filtered by a common status (succeeded), and a
--    settle re-inserts the same key, which PostgreSQL's bottom-up deletion removes in place instead of
--    splitting pages. The rare statuses are found through small partial indexes: the unsettled (pending,
--    failed: few at any time) through deliveries_unsettled_seq (0004), sorted after; the dead through one of
--    their own (once dead, a delivery stays dead unless resent). A partial index of the unsettled in listing
--    order was measured too: every delivery passes through pending, so between vacuums it grew by as much as
--    the index it replaced had.
-- 3. The statistics rollups (0008) are small and updated by every batch: half of each page is left free so
--    that their counter updates stay HOT too.
--
-- PostgreSQL 15 keeps no storage parameters on a partitioned table and a new partition does not inherit any,
-- so the fill is set on each partition: on those that exist here, and by the log maintenance task on each one
-- it creates (shared/db/log-partitions.ts calls hookline_log_partition_storage). Pages written before keep
-- their fill.

CREATE FUNCTION hookline_log_partition_storage(partition regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  parent regclass := (SELECT inhparent FROM pg_inherits WHERE inhrelid = partition);
  fill text := nullif(current_setting('hookline.deliveries_fillfactor', true), '');
BEGIN
  IF parent IS DISTINCT FROM 'deliveries'::regclass OR fill IS NULL THEN
    RETURN;
  END IF;
  -- A bad value must never keep a partition from being made: it is reported and left out.
  IF fill !~ '^[0-9]{2,3}$' OR fill::int NOT BETWEEN 10 AND 100 THEN
    RAISE WARNING 'hookline.deliveries_fillfactor must be 10 to 100, not %; partition % keeps the default', fill, partition;
    RETURN;
  END IF;
  EXECUTE format('ALTER TABLE %s SET (fillfactor = %s)', partition, fill::int);
END
$$;

SELECT hookline_log_partition_storage(relid) FROM pg_partition_tree('deliveries') WHERE isleaf;

-- GET /v1/subscriptions/:id/deliveries[?status=…], keyset (created_at, id).
CREATE INDEX deliveries_by_subscription_time ON deliveries (subscription_id, created_at, id);
CREATE INDEX deliveries_dead_by_subscription ON deliveries (subscription_id, created_at, id)
  WHERE status = 'dead';
DROP INDEX deliveries_by_subscription;

ALTER TABLE delivery_counts SET (fillfactor = 50);
ALTER TABLE subscription_minutes SET (fillfactor = 50);
ALTER TABLE tenant_minutes SET (fillfactor = 50);
