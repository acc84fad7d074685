import { describe, it, expect } from '@jest/globals';
import type { RetryPolicy } from '../../shared/backoff.js';
import { classifyAttempt } from '../../services/dispatcher/deliver/classify.js';

const policy: RetryPolicy = { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 30_000, multiplier: 2 };
const half = () => 0.5;
const NOW = Date.parse('2024-01-01T00:00:00Z');

const res = (statusCode: number | null, retryAfter?: string, error: string | null = null) => ({
  statusCode,
  retryAfter,
  error,
});

describe('classifyAttempt', () => {
  it.each([[200], [201], [204], [299]])('when the receiver answers %d, then the delivery is delivered', (code) => {
    expect(classifyAttempt(res(code), 1, policy, half, NOW)).toEqual({ kind: 'delivered' });
  });

  it('when the receiver answers 2xx on the last attempt, then it is still delivered', () => {
    expect(classifyAttempt(res(200), 3, policy, half, NOW)).toEqual({ kind: 'delivered' });
  });

  it.each([[199], [301], [400], [404], [410], [500], [502]])(
    'when the receiver answers %d before the last attempt, then it is retried after the jittered backoff',
    (code) => {
      // Attempt 2 failed: bound = 1000 · 2^1 = 2000; random 0.5 → 1000.
      expect(classifyAttempt(res(code), 2, policy, half, NOW)).toEqual({ kind: 'retry', delayMs: 1000 });
    },
  );

  it('when there was no response (timeout or network error), then it is retried', () => {
    expect(classifyAttempt(res(null, undefined, 'timeout'), 1, policy, half, NOW)).toEqual({ kind: 'retry', delayMs: 500 });
  });

  it.each([[500], [429], [null]])('when attempt maxAttempts fails with %s, then the delivery is dead', (code) => {
    const outcome = classifyAttempt(res(code, '1'), 3, policy, half, NOW);
    expect(outcome).toEqual({ kind: 'dead', reason: 'gave up after 3 attempts' });
  });

  it('when the policy allows one attempt and it fails, then it is dead at once with a singular reason', () => {
    expect(classifyAttempt(res(500), 1, { ...policy, maxAttempts: 1 }, half, NOW)).toEqual({
      kind: 'dead',
      reason: 'gave up after 1 attempt',
    });
  });

  it.each([[429], [503]])('when %d carries Retry-After seconds, then that delay is used instead of the backoff', (code) => {
    expect(classifyAttempt(res(code, '7'), 1, policy, half, NOW)).toEqual({ kind: 'retry', delayMs: 7000 });
  });

  it('when Retry-After is an HTTP date, then the delay runs until that date', () => {
    const outcome = classifyAttempt(res(503, 'Mon, 01 Jan 2024 00:00:20 GMT'), 1, policy, half, NOW);
    expect(outcome).toEqual({ kind: 'retry', delayMs: 20_000 });
  });

  it('when Retry-After asks for longer than maxDelayMs, then the delay is capped at maxDelayMs', () => {
    expect(classifyAttempt(res(429, '86400'), 1, policy, half, NOW)).toEqual({ kind: 'retry', delayMs: 30_000 });
  });

  it('when Retry-After is unparseable, then the backoff applies', () => {
    expect(classifyAttempt(res(429, 'soon'), 1, policy, half, NOW)).toEqual({ kind: 'retry', delayMs: 500 });
  });

  it('when Retry-After comes with another status (500), then it is ignored and the backoff applies', () => {
    expect(classifyAttempt(res(500, '20'), 1, policy, half, NOW)).toEqual({ kind: 'retry', delayMs: 500 });
  });
});
