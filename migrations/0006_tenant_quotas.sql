-- Per-tenant quotas: a tenant's overrides of the installation defaults (HOOKLINE_TENANT_MAX_*); null means
-- "use the default".
ALTER TABLE tenant_settings
  ADD COLUMN max_subscriptions       integer CHECK (max_subscriptions >= 0),
  ADD COLUMN max_poll_subscriptions  integer CHECK (max_poll_subscriptions >= 0),
  ADD COLUMN max_streams             integer CHECK (max_streams >= 0);

-- Counting a tenant's live subscriptions (and poll subscriptions) when one is created.
CREATE INDEX subscriptions_tenant_type ON subscriptions (tenant, type) WHERE deleted_at IS NULL;

-- Open SSE streams and WebSockets of every api replica, so a tenant's stream quota holds across replicas.
-- Each replica renews the lease of its own rows; a crashed replica's rows lapse when their lease expires.
CREATE TABLE live_streams (
  id          text PRIMARY KEY,
  tenant      text NOT NULL,
  replica     text NOT NULL,
  expires_at  timestamptz NOT NULL
);
CREATE INDEX live_streams_tenant ON live_streams (tenant, expires_at);
CREATE INDEX live_streams_replica ON live_streams (replica);
