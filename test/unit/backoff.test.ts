import { describe, it, expect } from '@jest/globals';
import { backoffDelayMs, DEFAULT_RETRY_POLICY, parseRetryAfterMs, type RetryPolicy } from '../../shared/backoff.js';

const almostOne = () => 1 - Number.EPSILON;
const policy: RetryPolicy = { maxAttempts: 5, initialDelayMs: 1000, maxDelayMs: 60_000, multiplier: 2 };

describe('DEFAULT_RETRY_POLICY', () => {
  it('when read, then it holds the documented values and cannot be changed', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ maxAttempts: 12, initialDelayMs: 5000, maxDelayMs: 21_600_000, multiplier: 3 });
    expect(Object.isFrozen(DEFAULT_RETRY_POLICY)).toBe(true);
    expect(() => {
      (DEFAULT_RETRY_POLICY as RetryPolicy).maxAttempts = 1;
    }).toThrow(TypeError);
  });
});

describe('backoffDelayMs', () => {
  it('when random returns 0, then the delay is 0', () => {
    expect(backoffDelayMs(policy, 1, () => 0)).toBe(0);
    expect(backoffDelayMs(policy, 7, () => 0)).toBe(0);
  });

  it('when random is just under 1, then the delay is just under the bound for that attempt', () => {
    // Bounds: 1000 · 2^(n−1): 1000, 2000, 4000, 8000, 16000, 32000, then capped at 60000.
    const bounds = [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000];
    bounds.forEach((bound, i) => {
      const delay = backoffDelayMs(policy, i + 1, almostOne);
      expect(delay).toBeLessThanOrEqual(bound);
      expect(delay).toBeGreaterThanOrEqual(bound - 1);
    });
  });

  it('when random is 0.5, then the delay is half the bound (full jitter)', () => {
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 1, () => 0.5)).toBe(2500);
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 3, () => 0.5)).toBe(22_500);
  });

  it('when the growth passes maxDelayMs, then the cap applies', () => {
    // 5000 · 3^8 = 32 805 000 > 6 h.
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 9, almostOne)).toBe(21_600_000 - 1);
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 8, almostOne)).toBe(10_935_000 - 1);
  });

  it('when the attempt number is 500, then the cap still applies, even where the growth overflows to Infinity', () => {
    const steep: RetryPolicy = { ...DEFAULT_RETRY_POLICY, multiplier: 10 };
    expect(steep.initialDelayMs * steep.multiplier ** 499).toBe(Infinity);
    expect(backoffDelayMs(steep, 500, almostOne)).toBe(21_600_000 - 1);
    expect(backoffDelayMs(steep, 500, () => 0.5)).toBe(10_800_000);
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 500, almostOne)).toBe(21_600_000 - 1);
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 5000, () => 0.5)).toBe(10_800_000);
    // 0 · Infinity is NaN; a zero initial delay must still give 0, not NaN.
    expect(backoffDelayMs({ ...steep, initialDelayMs: 0 }, 500, almostOne)).toBe(0);
  });

  it('when random is Math.random, then every delay is a whole number within [0, bound]', () => {
    const delays = Array.from({ length: 1000 }, () => backoffDelayMs(policy, 3));
    expect(delays.every((d) => Number.isInteger(d) && d >= 0 && d < 4000)).toBe(true);
    expect(new Set(delays).size).toBeGreaterThan(100);
  });

  it('when the attempt number is below 1, then it is treated as the first attempt', () => {
    expect(backoffDelayMs(policy, 0, almostOne)).toBe(999);
    expect(backoffDelayMs(policy, -3, almostOne)).toBe(999);
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');

  it.each([
    ['120', 120_000],
    ['0', 0],
    [' 5 ', 5000],
    ['Wed, 01 May 2024 12:00:30 GMT', 30_000],
    ['Wednesday, 01-May-24 12:01:00 GMT', 60_000],
    ['Wed May  1 12:00:10 2024', 10_000],
    ['Wed, 01 May 2024 11:00:00 GMT', 0],
  ])('when Retry-After is %j, then it asks for %d ms', (value, expected) => {
    expect(parseRetryAfterMs(value, now)).toBe(expected);
  });

  it.each([undefined, '', 'soon', '-5', '1.5', '5 minutes', 'foo 1', '2024-05-01T12:00:30Z', 'Wed, 01 May 2024 12:00:30'])(
    'when Retry-After is %j, then it is ignored',
    (value) => {
      expect(parseRetryAfterMs(value, now)).toBeUndefined();
    },
  );

  it('when the delta is absurdly large, then the result is still a finite, non-negative number', () => {
    const ms = parseRetryAfterMs('9'.repeat(400), now);
    expect(Number.isFinite(ms)).toBe(true);
    expect(ms).toBeGreaterThan(0);
  });
});
