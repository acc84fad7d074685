-- Every attempt stays on record, including one whose process died while it was out, and an operator can
-- see which deliveries wait for another process to take over a dead one's work.

-- An attempt's outcome: succeeded (2xx), failed (any other answer, a timeout, a network error) or
-- interrupted: the process sending it stopped (crash, kill) before recording its result, so whether the
-- endpoint received it is unknown. NULL on rows written before this column: a 2xx succeeded, else failed.
ALTER TABLE attempts ADD COLUMN outcome text CHECK (outcome IN ('succeeded', 'failed', 'interrupted'));

-- The attempt a dispatcher process has handed to the network and not recorded yet: written just before the
-- request goes out, cleared when the attempt is recorded. Whoever finds it later with attempt_count still
-- below sending_n, and its process gone, records that attempt as interrupted.
ALTER TABLE deliveries ADD COLUMN sending_n integer;
ALTER TABLE deliveries ADD COLUMN sending_since timestamptz;
ALTER TABLE deliveries ADD COLUMN sending_by text;

-- Dispatcher processes running now: each refreshes its row every second and deletes it when it stops
-- cleanly. A process whose row is gone or stale is taken as dead.
CREATE TABLE dispatcher_processes (
  id         text PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now(),
  seen_at    timestamptz NOT NULL DEFAULT now()
);
