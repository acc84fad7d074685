/** The dispatcher's side of the per-subscription policy: maxInFlight, rateLimit, permanentFailureStatuses. */
import { describe, expect, it } from '@jest/globals';
import { sleep, waitFor } from '../helpers/wait-for.js';
import { withBroker } from '../helpers/kit.js';

const hl = withBroker();

async function firstAttemptSuccesses(subscriptionId: string): Promise<number> {
  const { rows } = await hl.db.query(
    `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND status = 'succeeded' AND attempt_count = 1`,
    [subscriptionId],
  );
  return rows[0].n;
}

/** The most requests seen in any window of `ms`. */
function busiestWindow(times: number[], ms: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('delivery policy enforcement', () => {
  it('when maxInFlight is 2 and the endpoint is slow, then at most 2 requests are in flight and every message still arrives', async () => {
    const limited = await hl.trackingReceiver(() => 200, 150);
    const free = await hl.trackingReceiver(() => 200, 150);
    const sub = (await hl.subscribe({ topic: 'pol.inflight', url: limited.r.url, maxInFlight: 2 })).id;
    await hl.subscribe({ topic: 'pol.inflight', url: free.r.url });
    await hl.publishBatch('pol.inflight', 12);

    await waitFor(() => limited.r.requests.length >= 12 && free.r.requests.length >= 12, 'every delivery', { timeoutMs: 30_000 });
    expect(limited.stats.maxActive).toBeLessThanOrEqual(2);
    expect(free.stats.maxActive).toBeGreaterThan(2);
    expect(new Set(limited.r.requests.map((q) => q.headers['webhook-id'])).size).toBe(12);
    // Waiting for a slot spent no attempt: each delivery succeeded with its first.
    await waitFor(async () => (await firstAttemptSuccesses(sub)) === 12, 'twelve first-attempt successes');
  }, 40_000);

  it('when rateLimit is 5/s, then 15 messages published at once go out over about 3 s, never more than a few in any second, while an unlimited subscription gets them at once', async () => {
    const limited = await hl.trackingReceiver();
    const free = await hl.trackingReceiver();
    const sub = (await hl.subscribe({ topic: 'pol.rate', url: limited.r.url, rateLimit: 5 })).id;
    await hl.subscribe({ topic: 'pol.rate', url: free.r.url });
    const t0 = Date.now();
    await hl.publishBatch('pol.rate', 15);

    await waitFor(() => free.r.requests.length >= 15, 'the unlimited deliveries');
    const freeDone = Date.now() - t0;
    await waitFor(() => limited.r.requests.length >= 15, 'the rate-limited deliveries', { timeoutMs: 30_000 });
    const times = limited.r.requests.map((q) => q.at);
    const span = Math.max(...times) - Math.min(...times);
    process.stdout.write(`rate limit: span ${span} ms, busiest second ${busiestWindow(times, 1000)}, unlimited done in ${freeDone} ms\n`);
    expect(span).toBeGreaterThanOrEqual(2500); // 14 gaps of 200 ms = 2.8 s, less the scheduler's granularity
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(7);
    expect(freeDone).toBeLessThan(span);
    await waitFor(async () => (await firstAttemptSuccesses(sub)) === 15, 'fifteen first-attempt successes');
  }, 40_000);

  it('when the endpoint answers a status listed in permanentFailureStatuses, then the delivery is dead after one attempt and the subscription stays active', async () => {
    const { r } = await hl.trackingReceiver(() => 422);
    const sub = (await hl.subscribe({ topic: 'pol.permanent', url: r.url, permanentFailureStatuses: [422] })).id;
    const [id] = await hl.publishBatch('pol.permanent', 1);
    await waitFor(async () => {
      const { rows } = await hl.db.query(`SELECT status FROM deliveries WHERE message_id = $1`, [id]);
      return rows[0]?.status === 'dead';
    }, 'the delivery to be dead');
    const { rows } = await hl.db.query(
      `SELECT d.attempt_count, d.last_status_code, s.status FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
       WHERE d.message_id = $1`,
      [id],
    );
    expect(rows[0]).toEqual({ attempt_count: 1, last_status_code: 422, status: 'active' });
    expect(r.requests).toHaveLength(1);
    const s = await hl.http().get(`/v1/subscriptions/${sub}`).set(hl.auth);
    expect(s.body.status).toBe('active');
  });

  it('when a status is not listed as permanent (500), then it is retried as usual', async () => {
    const { r } = await hl.trackingReceiver((q) => (q.headers['hookline-attempt'] === '1' ? 500 : 200));
    (await hl.subscribe({ topic: 'pol.transient', url: r.url, permanentFailureStatuses: [422],
      retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 100, multiplier: 2 }, })).id;
    const [id] = await hl.publishBatch('pol.transient', 1);
    await waitFor(async () => {
      const { rows } = await hl.db.query(`SELECT status, attempt_count FROM deliveries WHERE message_id = $1`, [id]);
      return rows[0]?.status === 'succeeded' && rows[0].attempt_count === 2;
    }, 'the second attempt to succeed');
  });

  it('when 410 is left out of permanentFailureStatuses, then a 410 still disables the subscription but its delivery is retried after resume', async () => {
    let gone = true;
    const { r } = await hl.trackingReceiver(() => (gone ? 410 : 200));
    const sub = (await hl.subscribe({ topic: 'pol.gone', url: r.url, permanentFailureStatuses: [422],
      retry: { maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 100, multiplier: 2 }, })).id;
    const [id] = await hl.publishBatch('pol.gone', 1);
    await waitFor(async () => (await hl.http().get(`/v1/subscriptions/${sub}`).set(hl.auth)).body.status === 'disabled', 'the subscription to be disabled');
    await sleep(400);
    const { rows } = await hl.db.query(`SELECT status, attempt_count FROM deliveries WHERE message_id = $1`, [id]);
    expect(rows[0]).toEqual({ status: 'failed', attempt_count: 1 });
    expect(r.requests).toHaveLength(1);
    gone = false;
    await hl.http().post(`/v1/subscriptions/${sub}/resume`).set(hl.auth).expect(200);
    await waitFor(async () => {
      const { rows: after } = await hl.db.query(`SELECT status FROM deliveries WHERE message_id = $1`, [id]);
      return after[0].status === 'succeeded';
    }, 'the delivery to succeed after resume');
  });
});
