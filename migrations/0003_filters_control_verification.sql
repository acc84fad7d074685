-- Issue 4 (api side): endpoint ownership verification and per-tenant settings.
-- Filters and the per-subscription policy (maxInFlight, rateLimit, permanentFailureStatuses) need no schema:
-- they live in subscriptions.filter and subscriptions.options (jsonb), which 0001 already has.

-- A webhook subscription whose endpoint has not proved it wants the traffic waits in
-- 'pending_verification'; the dispatcher parks deliveries of any subscription that is not 'active'.
ALTER TABLE subscriptions DROP CONSTRAINT IF EXISTS subscriptions_status_check;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_status_check
  CHECK (status IN ('active', 'paused', 'disabled', 'pending_verification'));

-- When the endpoint at the current url last echoed a challenge (NULL: never, or the url changed since),
-- and why the latest check failed (NULL after a success).
ALTER TABLE subscriptions ADD COLUMN verified_at timestamptz;
ALTER TABLE subscriptions ADD COLUMN verification_error text;

-- Per-tenant overrides of installation defaults; a NULL column means "use the default".
CREATE TABLE tenant_settings (
  tenant            text PRIMARY KEY,
  verify_endpoints  boolean,
  updated_at        timestamptz NOT NULL DEFAULT now()
);
