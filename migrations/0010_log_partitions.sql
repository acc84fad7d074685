-- The delivery log (messages, deliveries, attempts) is partitioned by time, so retention removes a whole
-- partition at once (DROP TABLE: constant time, no dead rows, no vacuum) instead of deleting rows.
--
-- Partition key: the row's id, by range. Ids are time-sortable strings:
--   messages    msg_ + ULID (time of publish + random)
--   deliveries  dlv_ + its message's ULID time (10 characters) + 16 characters of sha256(message:subscription)
--   attempts    keyed by delivery_id, so ranged exactly like deliveries
-- A unique constraint on a partitioned table must contain the partition key; with the id as key the primary
-- keys stay what they were, the router's re-fan-out after a crash still meets the same row (the delivery id
-- is still a pure function of message and subscription, ON CONFLICT (id) holds across partitions), and every
-- lookup or update by id is pruned to one partition, at plan time for a constant and at run time for the
-- dispatcher's batched joins. A delivery lives in the partition of its message's publish time, and so do its
-- attempts, whenever they happen: a day's messages, deliveries and attempts share bounds and are dropped
-- together. Partitioning by a timestamp column instead would have forced the key into every primary key and
-- into every statement that names a delivery by id, or made each such lookup probe every partition.
--
-- Before this migration a delivery id was dlv_ + 26 hash characters, which carries no time. Existing rows are
-- renamed to the new form (dlv_ + message time + the first 16 of those hash characters: exactly what
-- shared/ids.ts deliveryId() now computes), and a job still queued under an old id is mapped to the new one
-- by the dispatcher (shared/ids.ts currentDeliveryId), which needs only the job's message id. Message ids, and
-- so webhook-id, do not change. A delivery id an API client kept from before the upgrade answers 404; the
-- message's deliveries (GET /v1/messages/:id) list the new ids.
--
-- attempts no longer has a foreign key to deliveries: between partitioned tables it would make every partition
-- drop run a referencing-rows check over the whole attempts table. Attempts are only ever inserted when their
-- delivery exists (services/dispatcher/storage/attempt-outcomes.ts, shared/db/poll-deliveries.ts check it),
-- subscriptions are only ever soft-deleted, and an attempt partition is dropped with the delivery partition
-- of the same range.
--
-- What is on record now goes into one partition per table below a cut (now, or past the newest id if a
-- clock ran ahead); partitions from the cut on are created ahead of time by the log maintenance task
-- (shared/log-retention.ts), which every router and dispatcher runs, one at a time, and which drops expired
-- partitions. The copy runs inside this migration's transaction: it takes time in proportion to the rows held
-- (see docs/retention.md), during which the old tables are locked.

-- The 10 Crockford base32 characters of a ULID's time part, and back (shared/ids.ts encodeTime).
CREATE FUNCTION hookline_ulid_time(ms bigint) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((ms >> (5 * (9 - i))) & 31)::int + 1, 1), '' ORDER BY i)
  FROM generate_series(0, 9) AS i
$$;
CREATE FUNCTION hookline_ulid_ms(id text) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT sum((strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(id, 5 + i, 1)) - 1)::bigint << (5 * (9 - i)))::bigint
  FROM generate_series(0, 9) AS i
  WHERE id ~ '^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{10}'
$$;
-- A delivery's id from its message id and its pre-0010 id (ids.ts deliveryId/currentDeliveryId).
CREATE FUNCTION hookline_current_delivery_id(old_id text, message_id text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT 'dlv_' || CASE WHEN message_id ~ '^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{10}' THEN substr(message_id, 5, 10)
    ELSE '0000000000' END || substr(old_id, 5, 16)
$$;

ALTER TABLE messages RENAME TO messages_0009;
ALTER TABLE deliveries RENAME TO deliveries_0009;
ALTER TABLE attempts RENAME TO attempts_0009;

-- Ids compare byte-wise ("C"): partition bounds are plain string ranges, whatever the database's locale.
CREATE TABLE messages (
  id            text COLLATE "C" NOT NULL,
  tenant        text NOT NULL,
  topic         text NOT NULL,
  stream_seq    bigint NOT NULL,
  published_at  timestamptz NOT NULL
) PARTITION BY RANGE (id);

CREATE TABLE deliveries (
  id               text COLLATE "C" NOT NULL,
  message_id       text COLLATE "C" NOT NULL,
  subscription_id  text NOT NULL,
  tenant           text NOT NULL,
  stream_seq       bigint NOT NULL,
  status           text NOT NULL DEFAULT 'pending'
    CONSTRAINT deliveries_status_check CHECK (status IN ('pending', 'failed', 'succeeded', 'dead')),
  attempt_count    integer NOT NULL DEFAULT 0,
  last_status_code integer,
  last_error       text,
  next_attempt_at  timestamptz,
  created_at       timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  parked_reason    text,
  sending_n        integer,
  sending_since    timestamptz,
  sending_by       text
) PARTITION BY RANGE (id);

CREATE TABLE attempts (
  delivery_id      text COLLATE "C" NOT NULL,
  n                integer NOT NULL,
  started_at       timestamptz NOT NULL,
  duration_ms      integer NOT NULL,
  status_code      integer,
  error            text,
  response_excerpt text,
  outcome          text CONSTRAINT attempts_outcome_check CHECK (outcome IN ('succeeded', 'failed', 'interrupted'))
) PARTITION BY RANGE (delivery_id);

DO $$
DECLARE
  cut_ms bigint;
  newest bigint;
BEGIN
  cut_ms := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint + 1;
  SELECT greatest(max(hookline_ulid_ms(id)), 0) INTO newest FROM messages_0009;
  cut_ms := greatest(cut_ms, newest + 1);
  SELECT greatest(max(hookline_ulid_ms(message_id)), 0) INTO newest FROM deliveries_0009;
  cut_ms := greatest(cut_ms, newest + 1);
  EXECUTE format('CREATE TABLE messages_before_0010 PARTITION OF messages FOR VALUES FROM (MINVALUE) TO (%L)',
    'msg_' || hookline_ulid_time(cut_ms));
  EXECUTE format('CREATE TABLE deliveries_before_0010 PARTITION OF deliveries FOR VALUES FROM (MINVALUE) TO (%L)',
    'dlv_' || hookline_ulid_time(cut_ms));
  EXECUTE format('CREATE TABLE attempts_before_0010 PARTITION OF attempts FOR VALUES FROM (MINVALUE) TO (%L)',
    'dlv_' || hookline_ulid_time(cut_ms));
END
$$;

-- The rows, before any index or trigger exists on the new tables: indexes are built once, in bulk, and the
-- statistics triggers do not count again what delivery_counts and the rollups already hold.
INSERT INTO messages SELECT id, tenant, topic, stream_seq, published_at FROM messages_0009;
INSERT INTO deliveries
  SELECT hookline_current_delivery_id(id, message_id), message_id, subscription_id, tenant, stream_seq, status,
    attempt_count, last_status_code, last_error, next_attempt_at, created_at, updated_at, parked_reason, sending_n,
    sending_since, sending_by
  FROM deliveries_0009;
INSERT INTO attempts
  SELECT hookline_current_delivery_id(a.delivery_id, d.message_id), a.n, a.started_at, a.duration_ms, a.status_code,
    a.error, a.response_excerpt, a.outcome
  FROM attempts_0009 a JOIN deliveries_0009 d ON d.id = a.delivery_id;
UPDATE endpoint_health h SET probe_delivery_id = hookline_current_delivery_id(d.id, d.message_id)
  FROM deliveries_0009 d WHERE d.id = h.probe_delivery_id;

DROP TABLE attempts_0009;
DROP TABLE deliveries_0009;
DROP TABLE messages_0009;

ALTER TABLE messages ADD CONSTRAINT messages_pkey PRIMARY KEY (id);
CREATE INDEX messages_by_topic ON messages (tenant, topic, published_at DESC, id DESC);
CREATE INDEX messages_listing ON messages (tenant, published_at DESC, id DESC) INCLUDE (topic);

ALTER TABLE deliveries ADD CONSTRAINT deliveries_pkey PRIMARY KEY (id);
ALTER TABLE deliveries ADD CONSTRAINT deliveries_subscription_id_fkey
  FOREIGN KEY (subscription_id) REFERENCES subscriptions (id) ON DELETE CASCADE;
-- A message's deliveries (GET /v1/messages/:id); readers also bound the id by the message's time, so only
-- that message's partition is searched. (message_id, subscription_id) was unique; the primary key, a function
-- of both, now says so.
CREATE INDEX deliveries_by_message ON deliveries (message_id);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
  WHERE next_attempt_at IS NOT NULL AND status IN ('pending', 'failed');
CREATE INDEX deliveries_by_subscription ON deliveries (subscription_id, status, created_at, id);
CREATE INDEX deliveries_unsettled_seq ON deliveries (subscription_id, stream_seq)
  WHERE status IN ('pending', 'failed');
CREATE INDEX deliveries_parked ON deliveries (subscription_id, parked_reason)
  WHERE next_attempt_at = 'infinity' AND status IN ('pending', 'failed');

ALTER TABLE attempts ADD CONSTRAINT attempts_pkey PRIMARY KEY (delivery_id, n);

-- The statistics of 0008, on the new tables (the functions are unchanged).
CREATE TRIGGER attempts_rollup AFTER INSERT ON attempts
  REFERENCING NEW TABLE AS new_attempts FOR EACH STATEMENT EXECUTE FUNCTION hookline_attempts_rollup();
CREATE TRIGGER attempts_tenant_rollup AFTER INSERT ON attempts
  REFERENCING NEW TABLE AS new_attempts FOR EACH STATEMENT EXECUTE FUNCTION hookline_attempts_tenant_rollup();
CREATE TRIGGER deliveries_inserted AFTER INSERT ON deliveries
  REFERENCING NEW TABLE AS new_deliveries FOR EACH STATEMENT EXECUTE FUNCTION hookline_deliveries_inserted();
CREATE TRIGGER deliveries_updated AFTER UPDATE ON deliveries
  REFERENCING OLD TABLE AS old_deliveries NEW TABLE AS new_deliveries
  FOR EACH STATEMENT EXECUTE FUNCTION hookline_deliveries_updated();
CREATE TRIGGER deliveries_deleted AFTER DELETE ON deliveries
  REFERENCING OLD TABLE AS old_deliveries FOR EACH STATEMENT EXECUTE FUNCTION hookline_deliveries_deleted();
CREATE TRIGGER messages_inserted AFTER INSERT ON messages
  REFERENCING NEW TABLE AS new_messages FOR EACH STATEMENT EXECUTE FUNCTION hookline_messages_inserted();
