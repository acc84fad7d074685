-- Subscriptions, the messages the router has seen, one delivery per (message, subscription) and an
-- append-only log of attempts. Workers never read-modify-write shared rows: attempts are keyed
-- (delivery_id, n) so a repeat insert is a no-op, and delivery state only moves forward (attempt_count).

CREATE SEQUENCE subscription_version;

CREATE TABLE subscriptions (
  id                  text PRIMARY KEY,
  tenant              text NOT NULL,
  owner               text NOT NULL,
  type                text NOT NULL CHECK (type IN ('webhook', 'poll')),
  topic               text NOT NULL,
  url                 text,
  secret              text,
  previous_secret     text,
  previous_secret_expires_at timestamptz,
  status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'disabled')),
  disabled_reason     text,
  retry               jsonb NOT NULL,
  timeout_ms          integer NOT NULL,
  ordered             boolean NOT NULL DEFAULT false,
  filter              jsonb,
  description         text,
  options             jsonb NOT NULL DEFAULT '{}',
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  deleted_at          timestamptz,
  -- Bumped on every change: the router reloads rows whose version is above the highest it holds.
  version             bigint NOT NULL DEFAULT nextval('subscription_version')
);
CREATE INDEX subscriptions_version ON subscriptions (version);
CREATE INDEX subscriptions_listing ON subscriptions (tenant, created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE messages (
  id            text PRIMARY KEY,
  tenant        text NOT NULL,
  topic         text NOT NULL,
  stream_seq    bigint NOT NULL,
  published_at  timestamptz NOT NULL
);
CREATE INDEX messages_published ON messages (tenant, published_at);

CREATE TABLE deliveries (
  id               text PRIMARY KEY,
  message_id       text NOT NULL,
  subscription_id  text NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  tenant           text NOT NULL,
  stream_seq       bigint NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed', 'succeeded', 'dead')),
  attempt_count    integer NOT NULL DEFAULT 0,
  last_status_code integer,
  last_error       text,
  -- Set while a delivery is parked in Postgres (retry backoff, paused, endpoint over its share); the
  -- scheduler re-enqueues it when due. NULL while it lives in the JetStream work queue.
  next_attempt_at  timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (message_id, subscription_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
  WHERE next_attempt_at IS NOT NULL AND status IN ('pending', 'failed');
CREATE INDEX deliveries_by_subscription ON deliveries (subscription_id, status, created_at, id);

CREATE TABLE attempts (
  delivery_id      text NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  n                integer NOT NULL,
  started_at       timestamptz NOT NULL,
  duration_ms      integer NOT NULL,
  status_code      integer,
  error            text,
  response_excerpt text,
  PRIMARY KEY (delivery_id, n)
);
