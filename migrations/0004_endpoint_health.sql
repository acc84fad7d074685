-- Endpoint health (a circuit breaker per webhook subscription), per-subscription delivery policy state and
-- ordered delivery. Every dispatcher replica shares this state; each change is one SQL statement (or a few
-- in one transaction under a per-subscription advisory lock), never read-modify-written in application code.

-- Why a parked delivery (next_attempt_at set) waits, so that each event releases exactly what it concerns:
--   retry     backoff after a failed attempt (next_attempt_at is the retry time)
--   paused    its subscription is paused or disabled (infinity; released by resume)
--   circuit   its endpoint's breaker is open or probing (infinity; released when the breaker closes)
--   order     an ordered subscription's older delivery is not settled yet (infinity; released when it is)
--   routing   an ordered delivery whose older messages may not be routed yet (a short wait)
--   rate      it holds a rate-limit slot at next_attempt_at and is sent then without taking another
--   inflight  its subscription had maxInFlight deliveries in flight, or its struggling endpoint its few slots
ALTER TABLE deliveries ADD COLUMN parked_reason text;

-- The oldest not-settled delivery of a subscription: an ordered subscription's head, the breaker's probe.
CREATE INDEX deliveries_unsettled_seq ON deliveries (subscription_id, stream_seq)
  WHERE status IN ('pending', 'failed');
-- Parked counts by reason (the /metrics gauge) and the releases by reason.
CREATE INDEX deliveries_parked ON deliveries (subscription_id, parked_reason)
  WHERE next_attempt_at = 'infinity' AND status IN ('pending', 'failed');

-- What the API shows of the breaker: {state, since, reason, failingSince, nextProbeAt, history: [{at, event,
-- state, reason}, ...newest first, at most 20]}. Written only on transitions, by the statement that makes them.
ALTER TABLE subscriptions ADD COLUMN health jsonb NOT NULL DEFAULT '{"state": "closed", "history": []}';

CREATE TABLE endpoint_health (
  subscription_id   text PRIMARY KEY REFERENCES subscriptions (id) ON DELETE CASCADE,
  state             text NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half_open')),
  -- Sliding window of attempt outcomes in two buckets of window_ms: the current one and the one before it;
  -- the failure rate weighs the previous bucket by how much of it still lies inside the window.
  window_start      timestamptz NOT NULL DEFAULT now(),
  window_total      integer NOT NULL DEFAULT 0,
  window_failed     integer NOT NULL DEFAULT 0,
  prev_total        integer NOT NULL DEFAULT 0,
  prev_failed       integer NOT NULL DEFAULT 0,
  -- First failure of the current unbroken run of failures (any success clears it): drives disabling.
  failing_since     timestamptz,
  -- Opens since the breaker last closed: each re-open waits longer.
  opened_count      integer NOT NULL DEFAULT 0,
  -- open: when to probe; half_open: when to give up on the probe and pick another.
  probe_at          timestamptz,
  probe_delivery_id text,
  -- Set when the subscription must be disabled (410 Gone); cleared once it is.
  disable_reason    text,
  -- Rate limit (GCRA): the theoretical arrival time of the next delivery slot.
  rate_tat          timestamptz,
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoint_health_attention ON endpoint_health (probe_at) WHERE state <> 'closed';
CREATE INDEX endpoint_health_failing ON endpoint_health (failing_since)
  WHERE failing_since IS NOT NULL OR disable_reason IS NOT NULL;

INSERT INTO endpoint_health (subscription_id) SELECT id FROM subscriptions ON CONFLICT DO NOTHING;

-- Every subscription has its row from the start, so the dispatcher's statements only ever update.
CREATE FUNCTION hookline_endpoint_health_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO endpoint_health (subscription_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER subscriptions_endpoint_health AFTER INSERT ON subscriptions
  FOR EACH ROW EXECUTE FUNCTION hookline_endpoint_health_row();

-- The health summary after one event: `state` and `since` change only when the state does; `extra` sets
-- further fields (failingSince, nextProbeAt); the event is prepended to a history of at most 20.
CREATE FUNCTION hookline_health_event(
  p_health jsonb, p_at timestamptz, p_event text, p_state text, p_reason text, p_extra jsonb
) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT (coalesce(p_health, '{}') - 'history')
    || CASE WHEN p_health->>'state' IS DISTINCT FROM p_state
         THEN jsonb_build_object('state', p_state, 'since', p_at) ELSE '{}' END
    || jsonb_build_object('reason', p_reason)
    || coalesce(p_extra, '{}')
    || jsonb_build_object('history', (
         SELECT coalesce(jsonb_agg(e ORDER BY i), '[]')
         FROM jsonb_array_elements(
           jsonb_build_array(jsonb_build_object('at', p_at, 'event', p_event, 'state', p_state, 'reason', p_reason))
           || coalesce(p_health->'history', '[]')) WITH ORDINALITY AS x(e, i)
         WHERE i <= 20))
$$;
