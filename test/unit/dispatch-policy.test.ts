import { describe, expect, it } from '@jest/globals';
import { classifyAttempt } from '../../services/dispatcher/deliver/classify.js';
import { deliveryPolicyOf } from '../../services/dispatcher/policy.js';
import type { SubscriptionRecord } from '../../shared/db/subscriptions.js';

const sub = (options: Record<string, unknown>) => ({ options }) as unknown as SubscriptionRecord;
const retry = { maxAttempts: 5, initialDelayMs: 1000, maxDelayMs: 10_000, multiplier: 2 };

describe('deliveryPolicyOf', () => {
  it('when nothing is set, then maxInFlight 100, no rate limit and [410] apply', () => {
    expect(deliveryPolicyOf(sub({}))).toEqual({ maxInFlight: 100, rateLimit: undefined, permanentFailureStatuses: [410] });
  });

  it('when the API stored a policy, then the dispatcher reads it (rate as evenly spaced slots)', () => {
    expect(deliveryPolicyOf(sub({ maxInFlight: 3, rateLimit: 2.5, permanentFailureStatuses: [404, 422] }))).toEqual({
      maxInFlight: 3,
      rateLimit: { perSecond: 2.5, burst: 1 },
      permanentFailureStatuses: [404, 422],
    });
  });
});

describe('classifyAttempt with permanent failure statuses', () => {
  it('when the status is listed, then the delivery is dead at once, even on its first attempt', () => {
    expect(classifyAttempt({ statusCode: 410, retryAfter: undefined, error: null }, 1, retry, () => 0.5, 0, [410])).toEqual({
      kind: 'dead',
      reason: 'permanent failure: the endpoint answered 410',
    });
  });

  it('when the status is not listed (or nothing is), then it is retried', () => {
    expect(classifyAttempt({ statusCode: 410, retryAfter: undefined, error: null }, 1, retry, () => 0.5, 0, [422]).kind).toBe('retry');
    expect(classifyAttempt({ statusCode: 410, retryAfter: undefined, error: null }, 1, retry, () => 0.5, 0).kind).toBe('retry');
  });

  it('when there was no response, then no status list makes it permanent', () => {
    expect(classifyAttempt({ statusCode: null, retryAfter: undefined, error: 'timeout' }, 1, retry, () => 0.5, 0, [410]).kind).toBe('retry');
  });

  it('when a 2xx is listed by mistake, then success still wins', () => {
    expect(classifyAttempt({ statusCode: 200, retryAfter: undefined, error: null }, 1, retry, () => 0.5, 0, [200])).toEqual({ kind: 'delivered' });
  });
});
