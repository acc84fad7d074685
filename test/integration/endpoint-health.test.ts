/**
 * The endpoint-health state machine, driven statement by statement against a real Postgres with an
 * injected clock: the breaker's transitions live in SQL (single statements over shared rows), so this is
 * where they are tested as the pure logic they are.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { recordHealthOutcomes, type BreakerPolicy, type HealthOutcome } from '../../services/dispatcher/storage/breaker.js';
import {
  applyCircuitDeferrals,
  applyOrderDeferrals,
  releaseCircuitParked,
  releaseOrderedHeads,
  releaseStrandedDeliveries,
} from '../../services/dispatcher/storage/deferrals.js';
import { disableSubscriptions, subscriptionsToDisable } from '../../services/dispatcher/storage/disabling.js';
import { loadDispatchWork } from '../../services/dispatcher/storage/dispatch-work.js';
import { startProbes } from '../../services/dispatcher/storage/probes.js';
import { reserveRateSlots } from '../../services/dispatcher/storage/rate-slots.js';
import { recordFanOut, releaseParkedDeliveries } from '../../shared/db/deliveries.js';
import { findEndpointHealth } from '../../shared/db/endpoint-health.js';
import type { Pool } from '../../shared/db/pool.js';
import { findSubscription } from '../../shared/db/subscriptions.js';
import { deliveryId, newId } from '../../shared/ids.js';
import { insertWebhookRow, migratedDatabase } from '../helpers/isolated.js';

let pool: Pool;
let drop: (() => Promise<void>) | undefined;
const policy: BreakerPolicy = {
  windowMs: 60_000,
  minAttempts: 10,
  failureRatio: 0.7,
  openMs: 10_000,
  maxOpenMs: 25_000,
  probeTimeoutMs: 5_000,
};
/** The injected clock starts a minute from now, so rows created with the real now() lie in its past. */
const T0 = Date.now() + 60_000;
const at = (ms: number) => new Date(T0 + ms);
let seq = 0;

async function subscription(ordered = false): Promise<string> {
  const { id } = await insertWebhookRow(pool, { url: 'http://127.0.0.1:9/', ordered });
  await pool.query('UPDATE endpoint_health SET window_start = $2 WHERE subscription_id = $1', [id, at(0)]);
  return id;
}

/** Creates `count` deliveries for the subscription, in stream order; returns their ids. */
async function deliveries(sub: string, count: number): Promise<string[]> {
  const messages = Array.from({ length: count }, () => ({
    id: newId('msg'),
    tenant: 't',
    topic: 'a.b',
    streamSeq: ++seq,
    publishedAt: new Date(),
  }));
  const rows = messages.map((m) => ({ id: deliveryId(m.id, sub), messageId: m.id, subscriptionId: sub, tenant: 't', streamSeq: m.streamSeq }));
  // Routed with an index as new as any version: written whatever the subscriptions' versions are.
  expect(await recordFanOut(pool, messages, rows, Number.MAX_SAFE_INTEGER)).toBeUndefined();
  return rows.map((r) => r.id);
}

function outcomes(sub: string, ok: boolean, count: number, statusCode: number | null = ok ? 200 : 503): HealthOutcome[] {
  return Array.from({ length: count }, (_, i) => ({ subscriptionId: sub, deliveryId: `dlv_${sub}_${ok}_${i}`, ok, statusCode }));
}

async function delivery(id: string) {
  const { rows } = await pool.query('SELECT status, next_attempt_at, parked_reason, attempt_count FROM deliveries WHERE id = $1', [id]);
  return rows[0] as { status: string; next_attempt_at: Date | number | null; parked_reason: string | null; attempt_count: number };
}

async function park(id: string, reason: string, until: string | Date = 'infinity') {
  await pool.query('UPDATE deliveries SET next_attempt_at = $2, parked_reason = $3 WHERE id = $1', [id, until, reason]);
}

/** startProbes, narrowed to one subscription (other tests' breakers share the database). */
async function probes(sub: string, now: Date) {
  return (await startProbes(pool, policy, now)).filter((p) => p.subscriptionId === sub);
}

async function openBreaker(sub: string, when = 0) {
  const changes = await recordHealthOutcomes(pool, outcomes(sub, false, 10), policy, at(when));
  expect(changes).toMatchObject([{ subscriptionId: sub, from: 'closed', to: 'open' }]);
}

beforeAll(async () => {
  ({ pool, drop } = await migratedDatabase());
});

afterAll(async () => {
  await drop?.();
});

describe('breaker: opening', () => {
  it('when 9 attempts in a row fail, then the breaker stays closed (fewer than minAttempts)', async () => {
    const sub = await subscription();
    expect(await recordHealthOutcomes(pool, outcomes(sub, false, 9), policy, at(1000))).toEqual([]);
    expect(await findEndpointHealth(pool, sub)).toMatchObject({ state: 'closed', windowTotal: 9, windowFailed: 9 });
  });

  it('when 7 of 10 attempts in the window fail, then it opens until now + openMs, and the subscription shows why', async () => {
    const sub = await subscription();
    await recordHealthOutcomes(pool, outcomes(sub, true, 3), policy, at(1000));
    const changes = await recordHealthOutcomes(pool, outcomes(sub, false, 7), policy, at(2000));
    expect(changes).toEqual([
      expect.objectContaining({ subscriptionId: sub, from: 'closed', to: 'open', reason: '7 of the last 10 attempts failed', disableReason: null }),
    ]);
    expect(changes[0]!.probeAt!.getTime()).toBe(T0 + 2000 + policy.openMs);
    const health = (await findSubscription(pool, 't', sub))!.health!;
    expect(health).toMatchObject({ state: 'open', reason: '7 of the last 10 attempts failed' });
    expect(new Date(health.nextProbeAt!).getTime()).toBe(T0 + 2000 + policy.openMs);
    expect(health.history).toEqual([expect.objectContaining({ event: 'opened', state: 'open' })]);
  });

  it('when 6 of 10 attempts fail, then it stays closed', async () => {
    const sub = await subscription();
    await recordHealthOutcomes(pool, outcomes(sub, true, 4), policy, at(1000));
    expect(await recordHealthOutcomes(pool, outcomes(sub, false, 6), policy, at(2000))).toEqual([]);
    expect((await findEndpointHealth(pool, sub))!.state).toBe('closed');
  });

  it('when failures lie more than two windows back, then they no longer count', async () => {
    const sub = await subscription();
    await recordHealthOutcomes(pool, outcomes(sub, false, 9), policy, at(1000));
    expect(await recordHealthOutcomes(pool, outcomes(sub, false, 1), policy, at(1000 + 2 * policy.windowMs))).toEqual([]);
    expect(await findEndpointHealth(pool, sub)).toMatchObject({ state: 'closed', windowTotal: 1 });
  });

  it('when the previous bucket lies half outside the window, then its attempts count half', async () => {
    const sub = await subscription();
    await recordHealthOutcomes(pool, outcomes(sub, false, 12), policy, at(0)); // opens: 12 of 12
    const sub2 = await subscription();
    await recordHealthOutcomes(pool, outcomes(sub2, false, 9), policy, at(0));
    // 1.5 windows later: the previous bucket (9 failures) weighs 0.5 → 4.5 + 1 = 5.5 attempts < 10.
    expect(await recordHealthOutcomes(pool, outcomes(sub2, false, 1), policy, at(1.5 * policy.windowMs))).toEqual([]);
    // Just into the next bucket, the previous one still weighs ~1: ~9 + 2 ≥ 10 failed → open.
    const sub3 = await subscription();
    await recordHealthOutcomes(pool, outcomes(sub3, false, 9), policy, at(0));
    expect(await recordHealthOutcomes(pool, outcomes(sub3, false, 2), policy, at(policy.windowMs + 10))).toMatchObject([
      { to: 'open' },
    ]);
  });

  it('when the breaker opens, then deliveries waiting for an in-flight slot wait for the breaker instead', async () => {
    const sub = await subscription();
    const [a, b] = await deliveries(sub, 2);
    await park(a!, 'inflight', at(500));
    await park(b!, 'retry', at(500));
    await openBreaker(sub, 1000);
    expect(await delivery(a!)).toMatchObject({ next_attempt_at: Infinity, parked_reason: 'circuit' });
    expect(await delivery(b!)).toMatchObject({ parked_reason: 'retry' });
  });
});

describe('breaker: probing and closing', () => {
  it('when the probe time has not come, then nothing is probed; when it has, then the oldest parked delivery becomes the one probe and is due', async () => {
    const sub = await subscription();
    const [d1, d2, d3] = await deliveries(sub, 3);
    await openBreaker(sub, 0);
    await park(d2!, 'circuit');
    await park(d3!, 'circuit');
    expect(await probes(sub, at(policy.openMs - 1))).toEqual([]);
    const started = await probes(sub, at(policy.openMs));
    expect(started).toEqual([{ subscriptionId: sub, from: 'open', to: 'half_open', probeDeliveryId: d2 }]);
    expect((await delivery(d2!)).next_attempt_at).not.toBe(Infinity);
    expect((await delivery(d3!)).next_attempt_at).toBe(Infinity);
    expect(await delivery(d1!)).toMatchObject({ next_attempt_at: null }); // in the queue, not parked: not a probe
    const work = (await loadDispatchWork(pool, [d2!, d3!]));
    expect(work.get(d2!)!.health).toMatchObject({ state: 'half_open', probeDeliveryId: d2 });
    // A second sweep (another replica) starts no second probe.
    expect(await probes(sub, at(policy.openMs + 1))).toEqual([]);
  });

  it('when the probe delivery succeeds, then the breaker closes and what was parked for it is released', async () => {
    const sub = await subscription();
    const [d1, d2, d3] = await deliveries(sub, 3);
    await openBreaker(sub, 0);
    for (const d of [d1, d2, d3]) await park(d!, 'circuit');
    await probes(sub, at(policy.openMs));
    // Another delivery's success (sent before the breaker opened) does not close it; the probe's does.
    expect(await recordHealthOutcomes(pool, [{ subscriptionId: sub, deliveryId: 'other', ok: true, statusCode: 200 }], policy, at(policy.openMs + 10))).toEqual([]);
    const changes = await recordHealthOutcomes(pool, [{ subscriptionId: sub, deliveryId: d1!, ok: true, statusCode: 200 }], policy, at(policy.openMs + 20));
    expect(changes).toMatchObject([{ from: 'half_open', to: 'closed', reason: 'the probe delivery succeeded' }]);
    // d1 was the probe (already due); the other two waited for the breaker.
    expect(await releaseCircuitParked(pool, [sub])).toBe(2);
    expect((await delivery(d3!)).next_attempt_at).not.toBe(Infinity);
    expect(await findEndpointHealth(pool, sub)).toMatchObject({ state: 'closed', windowTotal: 0, openedCount: 0, failingSince: null });
    const history = (await findSubscription(pool, 't', sub))!.health!.history!.map((e) => e.event);
    expect(history).toEqual(['closed', 'probing', 'opened']);
  });

  it('when the probe fails, then the breaker re-opens for twice as long, capped at maxOpenMs', async () => {
    const sub = await subscription();
    const [d1] = await deliveries(sub, 1);
    await openBreaker(sub, 0);
    await park(d1!, 'circuit');
    let now = policy.openMs;
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [p] = await probes(sub, at(now));
      expect(p).toMatchObject({ to: 'half_open', probeDeliveryId: d1 });
      const [c] = await recordHealthOutcomes(pool, [{ subscriptionId: sub, deliveryId: d1!, ok: false, statusCode: 500 }], policy, at(now + 5));
      expect(c).toMatchObject({ from: 'half_open', to: 'open', reason: 'the probe delivery failed' });
      waits.push(c!.probeAt!.getTime() - (T0 + now + 5));
      now = c!.probeAt!.getTime() - T0;
      await park(d1!, 'circuit');
    }
    expect(waits).toEqual([2 * policy.openMs, policy.maxOpenMs, policy.maxOpenMs]);
  });

  it('when a probe does not settle within probeTimeoutMs, then another delivery is picked', async () => {
    const sub = await subscription();
    const [d1, d2] = await deliveries(sub, 2);
    await openBreaker(sub, 0);
    await park(d1!, 'circuit');
    await park(d2!, 'circuit');
    const [first] = await probes(sub, at(policy.openMs));
    expect(first!.probeDeliveryId).toBe(d1);
    await park(d1!, 'paused'); // the probe got parked on its way (say, the subscription was paused and resumed)
    expect(await probes(sub, at(policy.openMs + policy.probeTimeoutMs - 1))).toEqual([]);
    const [again] = await probes(sub, at(policy.openMs + policy.probeTimeoutMs));
    expect(again).toMatchObject({ from: 'half_open', to: 'half_open' });
  });

  it('when the subscription is not active, then its breaker is not probed', async () => {
    const sub = await subscription();
    const [d1] = await deliveries(sub, 1);
    await openBreaker(sub, 0);
    await park(d1!, 'circuit');
    await pool.query(`UPDATE subscriptions SET status = 'paused' WHERE id = $1`, [sub]);
    expect(await probes(sub, at(policy.openMs))).toEqual([]);
  });
});

describe('parking conditionally', () => {
  it('when a delivery parks for an open breaker, then it waits indefinitely; for a closed one, then it is due at once', async () => {
    const open = await subscription();
    const closed = await subscription();
    const [a] = await deliveries(open, 1);
    const [b] = await deliveries(closed, 1);
    await openBreaker(open, 0);
    await applyCircuitDeferrals(pool, [{ deliveryId: a!, n: 1 }, { deliveryId: b!, n: 1 }]);
    expect(await delivery(a!)).toMatchObject({ next_attempt_at: Infinity, parked_reason: 'circuit' });
    const due = (await delivery(b!)).next_attempt_at as Date;
    expect(due.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('when an ordered delivery parks behind an unsettled older one, then it waits; once the older settles, then the next head is released', async () => {
    const sub = await subscription(true);
    const [d1, d2, d3] = await deliveries(sub, 3);
    await applyOrderDeferrals(pool, [{ deliveryId: d2!, n: 1 }, { deliveryId: d3!, n: 1 }]);
    expect((await delivery(d2!)).next_attempt_at).toBe(Infinity);
    const work = await loadDispatchWork(pool, [d3!]);
    expect(work.get(d3!)!.headSeq).toBe((await pool.query('SELECT stream_seq FROM deliveries WHERE id = $1', [d1])).rows[0].stream_seq * 1);
    await pool.query(`UPDATE deliveries SET status = 'succeeded', attempt_count = 1 WHERE id = $1`, [d1]);
    const released = await releaseOrderedHeads(pool, [sub], 30_000);
    expect(released.map((r) => r.id)).toEqual([d2]);
    expect((await delivery(d3!)).next_attempt_at).toBe(Infinity);
    // Its turn has come by the time it parks: then it is due at once rather than stranded.
    await pool.query(`UPDATE deliveries SET status = 'dead', attempt_count = 1 WHERE id = $1`, [d2]);
    await pool.query(`UPDATE deliveries SET next_attempt_at = NULL WHERE id = $1`, [d3]);
    await applyOrderDeferrals(pool, [{ deliveryId: d3!, n: 1 }]);
    expect((await delivery(d3!)).next_attempt_at).not.toBe(Infinity);
  });

  it('when an ordered head is stranded waiting for its turn, then the repair pass releases it', async () => {
    const sub = await subscription(true);
    const [d1, d2] = await deliveries(sub, 2);
    await park(d1!, 'order');
    await park(d2!, 'order');
    expect(await releaseStrandedDeliveries(pool)).toBeGreaterThanOrEqual(1);
    expect((await delivery(d1!)).next_attempt_at).not.toBe(Infinity);
    expect((await delivery(d2!)).next_attempt_at).toBe(Infinity);
  });
});

describe('disabling', () => {
  it('when an endpoint answers 410, then the subscription is flagged and disabled with the reason, once', async () => {
    const sub = await subscription();
    const [c] = await recordHealthOutcomes(pool, outcomes(sub, false, 1, 410), policy, at(0));
    expect(c).toMatchObject({ subscriptionId: sub, disableReason: 'the endpoint answered 410 Gone' });
    const before = (await findSubscription(pool, 't', sub))!.version;
    expect(await disableSubscriptions(pool, [{ id: sub, reason: c!.disableReason! }])).toEqual([sub]);
    expect(await disableSubscriptions(pool, [{ id: sub, reason: 'again' }])).toEqual([]);
    const s = (await findSubscription(pool, 't', sub))!;
    expect(s).toMatchObject({ status: 'disabled', disabledReason: 'the endpoint answered 410 Gone' });
    expect(s.version).toBeGreaterThan(before);
    expect(s.health!.history![0]).toMatchObject({ event: 'disabled', reason: 'the endpoint answered 410 Gone' });
    expect(await findEndpointHealth(pool, sub)).toMatchObject({ disableReason: null, failingSince: null });
  });

  it('when an endpoint has failed without a break for disableAfterMs, then it is listed for disabling; a success in between restarts the clock', async () => {
    const failing = await subscription();
    const flaky = await subscription();
    await recordHealthOutcomes(pool, [...outcomes(failing, false, 1), ...outcomes(flaky, false, 1)], policy, at(0));
    await recordHealthOutcomes(pool, outcomes(flaky, true, 1), policy, at(1000));
    await recordHealthOutcomes(pool, [...outcomes(failing, false, 1), ...outcomes(flaky, false, 1)], policy, at(2000));
    const listed = await subscriptionsToDisable(pool, 2000, at(3900));
    expect(listed.map((l) => l.id)).toContain(failing);
    expect(listed.map((l) => l.id)).not.toContain(flaky);
    expect(listed.find((l) => l.id === failing)!.reason).toMatch(/^the endpoint has failed without a break since \d{4}-/);
  });

  it('when a disabled subscription is resumed, then its breaker starts closed and everything parked except ordered turns is released', async () => {
    const sub = await subscription();
    const [d1, d2, d3] = await deliveries(sub, 3);
    await openBreaker(sub, 0);
    await park(d1!, 'paused');
    await park(d2!, 'circuit');
    await park(d3!, 'order');
    expect(await releaseParkedDeliveries(pool, sub)).toBe(2);
    expect(await findEndpointHealth(pool, sub)).toMatchObject({ state: 'closed', openedCount: 0, failingSince: null });
    expect((await findSubscription(pool, 't', sub))!.health).toMatchObject({ state: 'closed', history: [expect.objectContaining({ event: 'resumed' }), expect.anything()] });
    expect((await delivery(d3!)).next_attempt_at).toBe(Infinity);
  });
});

describe('rate limit slots (GCRA)', () => {
  it('when a burst of requests comes at 5/s, then the first goes now and each next one 200 ms later, across calls', async () => {
    const sub = await subscription();
    const req = { subscriptionId: sub, perSecond: 5, burst: 1 };
    expect(await reserveRateSlots(pool, [req, req, req], at(0))).toEqual([0, 200, 400]);
    expect(await reserveRateSlots(pool, [req], at(100))).toEqual([500]);
    // After a quiet spell the bucket is full again (burst 1): the next goes at once.
    expect(await reserveRateSlots(pool, [req], at(10_000))).toEqual([0]);
  });

  it('when a burst is allowed, then that many go at once, and two subscriptions do not share slots', async () => {
    const a = await subscription();
    const b = await subscription();
    const ra = { subscriptionId: a, perSecond: 10, burst: 3 };
    const rb = { subscriptionId: b, perSecond: 1, burst: 1 };
    const waits = await reserveRateSlots(pool, [ra, rb, ra, rb, ra, ra], at(0));
    expect(waits.map((w) => Math.round(w))).toEqual([0, 0, 0, 1000, 0, 100]);
  });
});
