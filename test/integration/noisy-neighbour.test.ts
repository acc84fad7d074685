import { describe, expect, it } from '@jest/globals';
import { withBroker } from '../helpers/kit.js';
import { waitFor } from '../helpers/wait-for.js';

const hl = withBroker({ HOOKLINE_DISPATCH_CONCURRENCY: '64', HOOKLINE_BREAKER_OPEN_MS: '1500', HOOKLINE_BREAKER_MAX_OPEN_MS: '1500' });

/** Publishes `count` messages ({i}) in batches of 1,000. */
async function publishBurst(topic: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1000) {
    await hl.publishBatch(topic, Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({ i: i + j })));
  }
}

/** Jobs of one subscription still queued in DELIVERIES. */
async function queuedJobs(subscriptionId: string): Promise<number> {
  const jsm = await hl.broker.nc.jetstreamManager();
  const subject = hl.broker.names.deliverySubject(subscriptionId);
  const info = await jsm.streams.info(hl.broker.names.deliveriesStream, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const { rows } = await hl.db.query(sql, params);
  return rows[0].n;
}

describe("a failing or saturated endpoint's burst", () => {
  it('when a burst goes to an endpoint whose breaker opens, then most of it waits in Postgres without an attempt, no job stays queued, and once it answers again every one is delivered with its attempt on record', async () => {
    const BURST = 4000;
    let alive = false;
    const flaky = await hl.receiver(() => (alive ? { status: 200 } : { status: 503 }));
    const { id } = await hl.subscribe({
      topic: 'failing.>',
      url: flaky.url,
      retry: { maxAttempts: 50, initialDelayMs: 500, maxDelayMs: 1000, multiplier: 2 },
    });
    await publishBurst('failing.orders', BURST);
    // Every delivery is attempted or parked, and the stream no longer holds the backlog.
    await waitFor(
      async () =>
        (await count(
          `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND (attempt_count > 0 OR next_attempt_at IS NOT NULL)`,
          [id],
        )) === BURST,
      'every delivery of the burst to be attempted or parked',
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const parkedWithoutAttempt = await count(
      `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND attempt_count = 0 AND parked_reason = 'circuit'`,
      [id],
    );
    // Most of the burst never cost an attempt, nor a job taken one at a time.
    expect(flaky.requests.length).toBeLessThan(BURST / 2);
    expect(parkedWithoutAttempt).toBeGreaterThan(BURST / 2);
    await waitFor(async () => (await queuedJobs(id)) === 0, 'no job of the subscription left queued', { timeoutMs: 30_000 });

    // The endpoint comes back: the probe closes the breaker, and everything parked is delivered.
    alive = true;
    await waitFor(
      async () => (await count(`SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND status = 'succeeded'`, [id])) === BURST,
      'every delivery of the burst to succeed',
      { timeoutMs: 120_000, intervalMs: 500 },
    ).catch(async (err: Error) => {
      const { rows } = await hl.db.query(
        `SELECT status, parked_reason, next_attempt_at = 'infinity' AS indefinitely, count(*)::int AS n,
           max(extract(epoch FROM next_attempt_at - now()))::int AS due_in_s_max, max(attempt_count) AS attempts_max
         FROM deliveries WHERE subscription_id = $1 GROUP BY 1, 2, 3`,
        [id],
      );
      const health = await hl.db.query(`SELECT state, probe_at, probe_delivery_id FROM endpoint_health WHERE subscription_id = $1`, [id]);
      throw new Error(`${err.message}: ${JSON.stringify(rows)} breaker ${JSON.stringify(health.rows)}`);
    });
    const delivered = new Set(flaky.requests.filter((r, i) => i >= 0 && r.headers['webhook-id']).map((r) => String(r.headers['webhook-id'])));
    expect(delivered.size).toBe(BURST);
    // Attempts on record: every success has its attempt row.
    expect(
      await count(
        `SELECT count(DISTINCT d.id)::int AS n FROM deliveries d JOIN attempts a ON a.delivery_id = d.id AND a.n = d.attempt_count
         WHERE d.subscription_id = $1 AND a.status_code = 200`,
        [id],
      ),
    ).toBe(BURST);
  }, 240_000);

  it('when a burst goes to a slow endpoint at its maxInFlight, then what is over the limit waits in Postgres, and every one is delivered within the limit', async () => {
    const BURST = 1500;
    const slow = await hl.receiver(() => ({ status: 200, delayMs: 100 }));
    let open = 0;
    let maxOpen = 0;
    const respond = slow.respond;
    slow.respond = (r) => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      setTimeout(() => open--, 100);
      return respond(r);
    };
    const { id } = await hl.subscribe({ topic: 'slow.>', url: slow.url, maxInFlight: 10 });
    await publishBurst('slow.orders', BURST);
    // What is over the limit waits in Postgres, not in the work queue.
    await waitFor(
      async () =>
        (await count(
          `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND parked_reason = 'inflight' AND next_attempt_at > now()`,
          [id],
        )) > BURST / 4,
      'a large part of the burst to be parked for the endpoint',
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    await waitFor(
      async () => (await count(`SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND status = 'succeeded'`, [id])) === BURST,
      'every delivery of the burst to succeed',
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(new Set(slow.requests.map((r) => String(r.headers['webhook-id']))).size).toBe(BURST);
    // Roughly maxInFlight at once (the count here is the receiver's view, so allow a little overlap).
    expect(maxOpen).toBeLessThanOrEqual(12);
  }, 240_000);
});
