import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import type { Receiver } from '../helpers/receiver.js';
import type { TestBroker } from '../helpers/test-broker.js';
import { sleep, waitFor } from '../helpers/wait-for.js';
import { withBroker } from '../helpers/kit.js';

/**
 * The breaker opens for this long the first time (twice as long after a failed probe); long enough that
 * a loaded CI machine parks every delivery well inside the open window.
 */
const OPEN_MS = 8000;
const fastRetry = { maxAttempts: 20, initialDelayMs: 50, maxDelayMs: 150, multiplier: 2 };

const hl = withBroker({ HOOKLINE_BREAKER_OPEN_MS: String(OPEN_MS) });

async function subscriptionOf(broker: TestBroker, id: string) {
  const res = await broker.http().get(`/v1/subscriptions/${id}`).set({ authorization: `Bearer ${broker.token()}` });
  expect(res.status).toBe(200);
  return res.body as {
    status: string;
    disabledReason?: string;
    health: { state: string; reason?: string; nextProbeAt?: string; history: { at: string; event: string; state: string; reason?: string }[] };
  };
}

/**
 * Waits until the receiver has seen no new request for `quietMs` (requests admitted just before the breaker
 * opened may still be on their way) and returns the count.
 */
async function settledCount(r: Receiver, quietMs = 300): Promise<number> {
  let last = -1;
  let since = Date.now();
  return waitFor(
    () => {
      if (r.requests.length !== last) {
        last = r.requests.length;
        since = Date.now();
        return undefined;
      }
      return Date.now() - since >= quietMs ? last : undefined;
    },
    'the requests under way to land',
    { timeoutMs: 2000, intervalMs: 20 },
  );
}

async function counts(pool: pg.Pool, subscriptionId: string) {
  const { rows } = await pool.query(
    `SELECT (SELECT count(*)::int FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.subscription_id = $1) AS attempts,
       count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
       count(*) FILTER (WHERE next_attempt_at = 'infinity' AND parked_reason = 'circuit')::int AS circuit_parked,
       count(*)::int AS total
     FROM deliveries WHERE subscription_id = $1`,
    [subscriptionId],
  );
  return rows[0] as { attempts: number; succeeded: number; circuit_parked: number; total: number };
}

describe('endpoint circuit breaker', () => {
  it('when most attempts fail, then the breaker opens, its deliveries wait without attempts or requests, one probe goes out, and its success closes the breaker and releases them all', async () => {
    let failing = true;
    const r = await hl.receiver(() => ({ status: failing ? 503 : 200 }));
    const sub = (await hl.subscribe({ topic: 'cb.open', url: r.url, retry: fastRetry })).id;

    await hl.publishBatch('cb.open', 12);
    const opened = await waitFor(async () => {
      const s = await subscriptionOf(hl, sub);
      return s.health.state === 'open' ? s : undefined;
    }, 'the breaker to open');
    expect(opened.health.reason).toMatch(/^\d+ of the last \d+ attempts failed$/);
    expect(opened.health.history[0]).toMatchObject({ event: 'opened', state: 'open' });
    const openedAt = Date.parse(opened.health.history[0]!.at);
    expect(Date.parse(opened.health.nextProbeAt!) - openedAt).toBe(OPEN_MS);

    // Requests already under way when it opened land within a few ms; from then on nothing is sent.
    const requestsWhileOpen = await settledCount(r);
    const before = await waitFor(async () => {
      const c = await counts(hl.db, sub);
      return c.attempts === requestsWhileOpen ? c : undefined;
    }, 'their attempts to be recorded');
    expect(requestsWhileOpen).toBeGreaterThanOrEqual(10);

    const later = await hl.publishBatch('cb.open', 5);
    // The new deliveries, and the first ones as their retries come due, park for the breaker: no attempt spent.
    await waitFor(async () => (await counts(hl.db, sub)).circuit_parked === 17, 'every delivery to wait for the breaker', {
      timeoutMs: openedAt + OPEN_MS - 300 - Date.now(),
    });
    const { rows: parked } = await hl.db.query(
      `SELECT d.attempt_count FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE m.id = ANY($1::text[])`,
      [later],
    );
    expect(parked.map((p) => p.attempt_count)).toEqual([0, 0, 0, 0, 0]);
    expect(r.requests.length).toBe(requestsWhileOpen);
    expect((await counts(hl.db, sub)).attempts).toBe(before.attempts);
    expect(Date.now()).toBeLessThan(openedAt + OPEN_MS); // all of that happened while it was open

    failing = false;
    const closed = await waitFor(async () => {
      const s = await subscriptionOf(hl, sub);
      return s.health.state === 'closed' ? s : undefined;
    }, 'the probe to close the breaker', { timeoutMs: OPEN_MS + 10_000 });
    expect(closed.health.history.slice(0, 3).map((e) => e.event)).toEqual(['closed', 'probing', 'opened']);
    const closedAt = Date.parse(closed.health.history[0]!.at);
    const probingAt = Date.parse(closed.health.history[1]!.at);
    expect(probingAt).toBeGreaterThanOrEqual(openedAt + OPEN_MS);

    await waitFor(async () => (await counts(hl.db, sub)).succeeded === 17, 'every delivery to be delivered after the close');
    const after = r.requests.slice(requestsWhileOpen);
    // Exactly one request (the probe) went out before the breaker closed; the released ones came after.
    expect(after.filter((q) => q.at < closedAt - 5)).toHaveLength(1);
    // Each delivery got exactly one (successful) request once the endpoint was back: no duplicates.
    expect(after).toHaveLength(17);
    expect(new Set(after.map((q) => q.headers['webhook-id'])).size).toBe(17);
    const { rows: circuit } = await hl.db.query(`SELECT state, window_total, opened_count FROM endpoint_health WHERE subscription_id = $1`, [sub]);
    expect(circuit[0]).toMatchObject({ state: 'closed', opened_count: 0 });
  }, 60_000);

  it('when the probe fails, then the breaker opens again for twice as long, with only the probe sent', async () => {
    const r = await hl.receiver(() => ({ status: 500 }));
    const sub = (await hl.subscribe({ topic: 'cb.reopen', url: r.url, retry: fastRetry })).id;
    await hl.publishBatch('cb.reopen', 12);
    await waitFor(async () => (await subscriptionOf(hl, sub)).health.state === 'open', 'the breaker to open');
    const sent = await settledCount(r);

    const reopened = await waitFor(async () => {
      const s = await subscriptionOf(hl, sub);
      return s.health.history[0]?.event === 'reopened' ? s : undefined;
    }, 'the probe to fail and re-open the breaker', { timeoutMs: OPEN_MS + 10_000 });
    expect(reopened.health.state).toBe('open');
    expect(reopened.health.reason).toBe('the probe delivery failed');
    expect(reopened.health.history.map((e) => e.event)).toEqual(['reopened', 'probing', 'opened']);
    const at = Date.parse(reopened.health.history[0]!.at);
    expect(Date.parse(reopened.health.nextProbeAt!) - at).toBe(2 * OPEN_MS);
    expect(r.requests.length).toBe(sent + 1);
    // The probe was an attempt of a delivery that had been waiting for the breaker.
    expect(Number(r.requests[sent]!.headers['hookline-attempt'])).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('when an endpoint answers 410 Gone, then the delivery is dead after one attempt and the subscription is disabled at once; what arrives meanwhile waits and is delivered after resume', async () => {
    let gone = true;
    const r = await hl.receiver(() => ({ status: gone ? 410 : 200 }));
    const sub = (await hl.subscribe({ topic: 'cb.gone', url: r.url, retry: fastRetry })).id;
    const [first] = await hl.publishBatch('cb.gone', 1);

    const disabled = await waitFor(async () => {
      const s = await subscriptionOf(hl, sub);
      return s.status === 'disabled' ? s : undefined;
    }, 'the subscription to be disabled');
    expect(disabled.disabledReason).toBe('the endpoint answered 410 Gone');
    expect(disabled.health.history[0]).toMatchObject({ event: 'disabled', reason: 'the endpoint answered 410 Gone' });
    const { rows: dead } = await hl.db.query(
      `SELECT status, attempt_count, last_status_code FROM deliveries WHERE message_id = $1 AND subscription_id = $2`,
      [first, sub],
    );
    expect(dead[0]).toEqual({ status: 'dead', attempt_count: 1, last_status_code: 410 });
    expect(r.requests).toHaveLength(1);

    const meanwhile = await hl.publishBatch('cb.gone', 3);
    await waitFor(async () => {
      const { rows } = await hl.db.query(
        `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND next_attempt_at = 'infinity' AND parked_reason = 'paused'`,
        [sub],
      );
      return rows[0].n === 3;
    }, 'the new deliveries to be parked');
    await sleep(300);
    expect(r.requests).toHaveLength(1);

    gone = false;
    const resumed = await hl.http().post(`/v1/subscriptions/${sub}/resume`).set(hl.auth);
    expect(resumed.status).toBe(200);
    expect(resumed.body.status).toBe('active');
    await waitFor(() => r.requests.length === 4, 'the parked deliveries to go out after resume');
    expect(new Set(r.requests.slice(1).map((q) => q.headers['webhook-id']))).toEqual(new Set(meanwhile));
    const { rows: states } = await hl.db.query(`SELECT status FROM deliveries WHERE subscription_id = $1 ORDER BY stream_seq`, [sub]);
    await waitFor(async () => {
      const { rows } = await hl.db.query(`SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND status = 'succeeded'`, [sub]);
      return rows[0].n === 3;
    }, 'the three to succeed');
    expect(states[0].status).toBe('dead');
    expect((await subscriptionOf(hl, sub)).health.history[0]).toMatchObject({ event: 'resumed', state: 'closed' });
  }, 30_000);
});

describe('disabling after a long run of failures', () => {
  const short = withBroker({ HOOKLINE_DISABLE_AFTER_MS: '1500', HOOKLINE_BREAKER_OPEN_MS: '500' });

  it('when an endpoint has failed without a break for longer than HOOKLINE_DISABLE_AFTER_MS, then the subscription is disabled with the reason and stops being attempted', async () => {
    const r = await hl.receiver(() => ({ status: 500 }));
    const healthy = await hl.receiver(() => ({ status: 200 }));
    const sub = (await short.subscribe({ topic: 'long.fail', url: r.url, retry: fastRetry })).id;
    const ok = (await short.subscribe({ topic: 'long.fail', url: healthy.url, retry: fastRetry })).id;
    const started = Date.now();
    await short.publishBatch('long.fail', 3);

    const disabled = await waitFor(async () => {
      const s = await subscriptionOf(short, sub);
      return s.status === 'disabled' ? s : undefined;
    }, 'the failing subscription to be disabled', { timeoutMs: 20_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(disabled.disabledReason).toMatch(/^the endpoint has failed without a break since \d{4}-\d\d-\d\dT/);
    expect((await subscriptionOf(short, ok)).status).toBe('active');
    await sleep(300);
    const sent = r.requests.length;
    await short.publishBatch('long.fail', 2);
    await waitFor(() => healthy.requests.length === 5, 'the healthy subscription to get every message');
    await sleep(500);
    expect(r.requests.length).toBe(sent);
  }, 40_000);
});
