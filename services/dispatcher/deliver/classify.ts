import { backoffDelayMs, parseRetryAfterMs, type RetryPolicy } from '../../../shared/backoff.js';
import type { SendResult } from './send.js';

/** What a dispatcher does with a delivery after one attempt. */
export type DeliveryOutcome =
  | { kind: 'delivered' }
  | { kind: 'retry'; delayMs: number }
  | { kind: 'dead'; reason: string };

/**
 * 2xx is success; anything else, a timeout or a network error is a failed attempt. A status listed in
 * `permanentStatuses` (the subscription's permanentFailureStatuses, [410] by default) makes the delivery
 * dead at once; so does the policy's last attempt. A Retry-After on 429/503 replaces the backoff, capped at
 * maxDelayMs.
 * @param permanentStatuses @default [] (none)
 */
export function classifyAttempt(
  result: Pick<SendResult, 'statusCode' | 'retryAfter' | 'error'>,
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
  nowMs: number = Date.now(),
  permanentStatuses: readonly number[] = [],
): DeliveryOutcome {
  const code = result.statusCode;
  if (code !== null && code >= 200 && code < 300) return { kind: 'delivered' };
  if (code !== null && permanentStatuses.includes(code)) {
    return { kind: 'dead', reason: `permanent failure: the endpoint answered ${code}` };
  }
  if (attempt >= policy.maxAttempts) {
    return { kind: 'dead', reason: `gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}` };
  }
  if (code === 429 || code === 503) {
    const retryAfter = parseRetryAfterMs(result.retryAfter, nowMs);
    if (retryAfter !== undefined) return { kind: 'retry', delayMs: Math.min(retryAfter, policy.maxDelayMs) };
  }
  return { kind: 'retry', delayMs: backoffDelayMs(policy, attempt, random) };
}
