import { describe, expect, it } from '@jest/globals';
import { admit } from '../../services/dispatcher/gates/admission.js';
import type { DispatchWork } from '../../services/dispatcher/storage/dispatch-work.js';
import { PARKED_INDEFINITELY, type DeliveryRecord } from '../../shared/db/deliveries.js';
import type { SubscriptionRecord } from '../../shared/db/subscriptions.js';

function work(over: {
  status?: SubscriptionRecord['status'];
  ordered?: boolean;
  seq?: number;
  headSeq?: number | null;
  state?: DispatchWork['health']['state'];
  probe?: string | null;
}): DispatchWork {
  return {
    delivery: { id: 'dlv_1', streamSeq: over.seq ?? 10 } as DeliveryRecord,
    subscription: { status: over.status ?? 'active', ordered: over.ordered ?? false } as SubscriptionRecord,
    health: { state: over.state ?? 'closed', probeDeliveryId: over.probe ?? null, probeAt: null },
    headSeq: over.headSeq ?? null,
  };
}

describe('admit', () => {
  it('when the subscription is active with a closed breaker, then the delivery is sent (not as a probe)', () => {
    expect(admit(work({}))).toEqual({ kind: 'send', probe: false });
  });

  it.each(['paused', 'disabled', 'pending_verification'] as const)('when the subscription is %s, then it parks until resumed, whatever the breaker', (status) => {
    expect(admit(work({ status, state: 'half_open', probe: 'dlv_1' }))).toEqual({ kind: 'park', reason: 'paused', until: PARKED_INDEFINITELY });
  });

  it('when the breaker is open, then it parks for the circuit', () => {
    expect(admit(work({ state: 'open' }))).toEqual({ kind: 'park', reason: 'circuit', until: PARKED_INDEFINITELY });
  });

  it('when the breaker is half-open, then only its probe delivery goes, as the probe', () => {
    expect(admit(work({ state: 'half_open', probe: 'dlv_1' }))).toEqual({ kind: 'send', probe: true });
    expect(admit(work({ state: 'half_open', probe: 'dlv_2' }))).toEqual({ kind: 'park', reason: 'circuit', until: PARKED_INDEFINITELY });
    expect(admit(work({ state: 'half_open', probe: null }))).toEqual({ kind: 'park', reason: 'circuit', until: PARKED_INDEFINITELY });
  });

  it('when an ordered subscription has an older unsettled delivery, then this one waits its turn, before any breaker check', () => {
    expect(admit(work({ ordered: true, seq: 10, headSeq: 9, state: 'half_open', probe: 'dlv_1' }))).toEqual({ kind: 'park', reason: 'order', until: PARKED_INDEFINITELY });
    expect(admit(work({ ordered: true, seq: 10, headSeq: 10 }))).toEqual({ kind: 'send', probe: false });
    expect(admit(work({ ordered: true, seq: 10, headSeq: 10, state: 'open' }))).toEqual({ kind: 'park', reason: 'circuit', until: PARKED_INDEFINITELY });
  });

  it('when an unordered subscription has older unsettled deliveries, then they do not hold this one', () => {
    expect(admit(work({ ordered: false, seq: 10, headSeq: 3 }))).toEqual({ kind: 'send', probe: false });
  });
});
