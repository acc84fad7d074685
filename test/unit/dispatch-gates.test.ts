/**
 * The dispatcher's gates as pure decisions over plain state: no Postgres, no NATS. Each gate is driven with
 * the same parts the dispatcher gives it (the in-flight limiter, the router floor, a rate reservation).
 */
import { describe, expect, it } from '@jest/globals';
import { previousAttempt } from '../../services/dispatcher/deliver/interrupted.js';
import { attemptDue } from '../../services/dispatcher/gates/admission.js';
import { InFlightLimiter } from '../../services/dispatcher/gates/in-flight-limiter.js';
import { InFlightSlot, orderedHeadGate, rateGate, RATE_SLACK_MS, ROUTING_WAIT_MS } from '../../services/dispatcher/gates/limits.js';
import { OpenCircuits } from '../../services/dispatcher/gates/open-circuits.js';
import { RoutedFloor } from '../../services/dispatcher/gates/routed-floor.js';
import { parkUntilReleased, runGates, SEND, SKIP, type Verdict } from '../../services/dispatcher/gates/verdict.js';
import type { RateRequest } from '../../services/dispatcher/storage/rate-slots.js';
import type { DispatchWork } from '../../services/dispatcher/storage/dispatch-work.js';
import { PARKED_INDEFINITELY, type DeliveryRecord } from '../../shared/db/deliveries.js';
import type { SubscriptionRecord } from '../../shared/db/subscriptions.js';

const NOW = 1_700_000_000_000;

function work(over: {
  status?: DeliveryRecord['status'];
  attemptCount?: number;
  deleted?: boolean;
  type?: SubscriptionRecord['type'];
  state?: DispatchWork['health']['state'];
  probeAt?: Date | null;
  ordered?: boolean;
}): DispatchWork {
  return {
    delivery: { id: 'dlv_1', streamSeq: 10, status: over.status ?? 'pending', attemptCount: over.attemptCount ?? 0 } as DeliveryRecord,
    subscription: {
      id: 'sub_1',
      status: 'active',
      type: over.type ?? 'webhook',
      ordered: over.ordered ?? false,
      deletedAt: over.deleted ? new Date(NOW) : null,
    } as SubscriptionRecord,
    health: { state: over.state ?? 'closed', probeDeliveryId: null, probeAt: over.probeAt ?? null },
    headSeq: null,
  };
}

describe('runGates', () => {
  it('when a gate parks, then the gates after it are not asked', async () => {
    const asked: string[] = [];
    const park = parkUntilReleased('paused');
    const verdict = await runGates([
      () => (asked.push('a'), SEND),
      () => (asked.push('b'), park),
      () => (asked.push('c'), SEND),
    ]);
    expect(verdict).toEqual({ kind: 'park', reason: 'paused', until: PARKED_INDEFINITELY });
    expect(asked).toEqual(['a', 'b']);
  });

  it('when an early gate lets a probe through, then the send that comes out is still the probe', async () => {
    const verdict = await runGates([() => ({ kind: 'send', probe: true }), () => SEND, async () => SEND]);
    expect(verdict).toEqual({ kind: 'send', probe: true });
    expect(await runGates([() => SEND])).toEqual({ kind: 'send', probe: false });
  });

  it('when a gate skips, then the skip is the verdict', async () => {
    expect(await runGates([() => SKIP, () => parkUntilReleased('circuit')])).toEqual({ kind: 'skip' });
  });
});

describe('attemptDue', () => {
  it('when the delivery is gone, deleted, not a webhook or its attempt is on record, then the job is skipped', () => {
    expect(attemptDue(undefined, 1)).toEqual(SKIP);
    expect(attemptDue(work({ deleted: true }), 1)).toEqual(SKIP);
    expect(attemptDue(work({ type: 'poll' }), 1)).toEqual(SKIP);
    expect(attemptDue(work({ status: 'succeeded' }), 1)).toEqual(SKIP);
    expect(attemptDue(work({ status: 'dead' }), 2)).toEqual(SKIP);
    expect(attemptDue(work({ status: 'failed', attemptCount: 2 }), 2)).toEqual(SKIP);
  });

  it('when the attempt is the next one of a live delivery, then it goes on to the gates', () => {
    expect(attemptDue(work({ status: 'failed', attemptCount: 2 }), 3)).toEqual(SEND);
  });
});

describe('previousAttempt', () => {
  const sending = { n: 2, since: new Date(NOW), by: 'proc_a', senderLost: false };

  it('when no attempt of this number is outstanding, then the job goes on', () => {
    expect(previousAttempt(null, 2, 'proc_b')).toEqual({ kind: 'clear' });
    expect(previousAttempt({ ...sending, n: 1 }, 2, 'proc_b')).toEqual({ kind: 'clear' });
  });

  it('when another live process is sending it, then the job waits for that process to record it', () => {
    expect(previousAttempt(sending, 2, 'proc_b')).toEqual({ kind: 'wait' });
  });

  it('when its sender is lost or is this very process, then it is put on record as interrupted', () => {
    expect(previousAttempt({ ...sending, senderLost: true }, 2, 'proc_b')).toEqual({ kind: 'interrupted', sending: { ...sending, senderLost: true } });
    expect(previousAttempt(sending, 2, 'proc_a')).toEqual({ kind: 'interrupted', sending });
  });
});

describe('OpenCircuits', () => {
  const circuit = parkUntilReleased('circuit');

  it('when admission parks for a breaker seen open, then later jobs of it park without a load, until shortly before the probe', () => {
    const cache = new OpenCircuits(1000);
    const seen = work({ state: 'open', probeAt: new Date(NOW + 600_000), ordered: true });
    expect(cache.check('sub_1', NOW)).toBeUndefined();
    expect(cache.learn(seen, circuit, NOW)).toBe(circuit);
    expect(cache.check('sub_1', NOW + 999)).toEqual({ verdict: circuit, ordered: true });
    expect(cache.check('sub_1', NOW + 1000)).toBeUndefined();
    expect(cache.check('sub_1', NOW + 500)).toBeUndefined();
  });

  it('when the probe is due within a second, or the breaker is half-open, then nothing is remembered', () => {
    const cache = new OpenCircuits(1000);
    cache.learn(work({ state: 'open', probeAt: new Date(NOW + 900) }), circuit, NOW);
    cache.learn(work({ state: 'half_open', probeAt: new Date(NOW + 600_000) }), circuit, NOW);
    expect(cache.check('sub_1', NOW + 1)).toBeUndefined();
  });

  it('when admission does not park for the circuit, then its verdict passes unchanged and nothing is remembered', () => {
    const cache = new OpenCircuits(1000);
    const paused = parkUntilReleased('paused');
    expect(cache.learn(work({ state: 'open', probeAt: new Date(NOW + 600_000) }), paused, NOW)).toBe(paused);
    expect(cache.learn(work({}), SEND, NOW)).toBe(SEND);
    expect(cache.check('sub_1', NOW + 1)).toBeUndefined();
  });
});

describe('orderedHeadGate', () => {
  const never = () => {
    throw new Error('not expected');
  };

  it('when the subscription is not ordered or there is no router floor to read, then it sends', async () => {
    expect(await orderedHeadGate(false, 10, new RoutedFloor(async () => 0, { waitMs: 0 }), never)).toEqual(SEND);
    expect(await orderedHeadGate(true, 10, undefined, never)).toEqual(SEND);
  });

  it('when every older message is routed, then the head is sent', async () => {
    expect(await orderedHeadGate(true, 10, new RoutedFloor(async () => 9), never)).toEqual(SEND);
  });

  it('when older messages are not routed yet, then the head parks briefly for routing', async () => {
    const verdict = await orderedHeadGate(true, 10, new RoutedFloor(async () => 5, { waitMs: 0 }), never, () => NOW);
    expect(verdict).toEqual({ kind: 'park', reason: 'routing', until: new Date(NOW + ROUTING_WAIT_MS) });
  });

  it('when the router floor cannot be read, then the failure is reported and routing order is trusted', async () => {
    const errors: unknown[] = [];
    const floor = new RoutedFloor(async () => {
      throw new Error('consumer not found');
    });
    expect(await orderedHeadGate(true, 10, floor, (err) => errors.push(err))).toEqual(SEND);
    expect(errors).toHaveLength(1);
  });
});

describe('InFlightSlot', () => {
  it('when the subscription has room, then the slot is taken and given back once, however often released', () => {
    const limiter = new InFlightLimiter();
    const a = new InFlightSlot(limiter, 'sub_1');
    expect(a.take(1, NOW)).toEqual(SEND);
    const b = new InFlightSlot(limiter, 'sub_1');
    const parked = b.take(1, NOW) as Extract<Verdict, { kind: 'park' }>;
    expect(parked.kind).toBe('park');
    expect(parked.reason).toBe('inflight');
    expect((parked.until as Date).getTime()).toBeGreaterThan(NOW);
    b.release(false); // never taken: gives nothing back, counts no failure
    expect(limiter.failures('sub_1')).toBe(0);
    a.release(true, 20);
    a.release(true, 20);
    expect(new InFlightSlot(limiter, 'sub_1').take(1, NOW)).toEqual(SEND);
    expect(new InFlightSlot(limiter, 'sub_1').take(1, NOW).kind).toBe('park');
  });
});

describe('rateGate', () => {
  const limit = { perSecond: 5, burst: 1 };

  it('when the subscription has no rate limit, or the delivery comes back at its reserved slot, then nothing is reserved', async () => {
    const asked: RateRequest[] = [];
    const reserve = async (r: RateRequest) => (asked.push(r), 10_000);
    expect(await rateGate(reserve, 'sub_1', undefined, null)).toEqual(SEND);
    expect(await rateGate(reserve, 'sub_1', limit, 'rate')).toEqual(SEND);
    expect(asked).toEqual([]);
  });

  it('when the reserved slot is now or within the slack, then it sends', async () => {
    const asked: RateRequest[] = [];
    expect(await rateGate(async (r) => (asked.push(r), RATE_SLACK_MS), 'sub_1', limit, 'inflight')).toEqual(SEND);
    expect(asked).toEqual([{ subscriptionId: 'sub_1', perSecond: 5, burst: 1 }]);
  });

  it('when the reserved slot is later, then it parks until that slot', async () => {
    expect(await rateGate(async () => 400, 'sub_1', limit, null, () => NOW)).toEqual({
      kind: 'park',
      reason: 'rate',
      until: new Date(NOW + 400),
    });
  });
});
