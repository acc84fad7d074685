/** How a subscription's failed deliveries are retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included; after the last one fails the delivery is `dead`. */
  maxAttempts: number;
  /** Upper bound of the delay after the first failed attempt, in ms. */
  initialDelayMs: number;
  /** No delay exceeds this, in ms; it also caps an honoured `Retry-After`. */
  maxDelayMs: number;
  /** Growth of the delay bound per further failed attempt. */
  multiplier: number;
}

/**
 * Twelve attempts; delay bounds 5 s, 15 s, 45 s, … capped at 6 h: the eleven waits add up to at most
 * about 22.5 h (about half that on average, given full jitter) before a delivery is `dead`.
 */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 12,
  initialDelayMs: 5000,
  maxDelayMs: 6 * 3600_000,
  multiplier: 3,
});

/**
 * Delay before attempt `failedAttempt + 1`, after attempt `failedAttempt` (1-based) failed: uniformly random
 * in [0, min(maxDelayMs, initialDelayMs · multiplier^(failedAttempt − 1))) — "full jitter", which spreads
 * the retries of many deliveries that failed together instead of sending them back in a wave.
 * @param random a source in [0, 1); @default Math.random
 */
export function backoffDelayMs(
  policy: Readonly<RetryPolicy>,
  failedAttempt: number,
  random: () => number = Math.random,
): number {
  const { initialDelayMs, maxDelayMs, multiplier } = policy;
  if (!(initialDelayMs > 0) || !(maxDelayMs > 0)) return 0;
  const exponent = Math.max(0, Math.floor(failedAttempt) - 1);
  // multiplier ** exponent overflows to Infinity for large attempts; past the cap the growth no longer matters.
  const grown = initialDelayMs * multiplier ** exponent;
  const cap = Number.isFinite(grown) ? Math.min(maxDelayMs, grown) : maxDelayMs;
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * cap);
}

const DELTA_SECONDS = /^[0-9]+$/;
// IMF-fixdate, obsolete RFC 850 and asctime forms (RFC 9110 §5.6.7); gate Date.parse, which accepts junk.
const IMF_FIXDATE = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC_850 = /^[A-Za-z]{6,9}, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * The wait a `Retry-After` header asks for, in ms from `nowMs`: delta-seconds or an HTTP-date. A date in
 * the past gives 0; a missing or unparseable value gives undefined. The caller caps it (at `maxDelayMs`).
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (DELTA_SECONDS.test(v)) return Math.min(Number(v) * 1000, Number.MAX_SAFE_INTEGER);
  let at = Number.NaN;
  if (IMF_FIXDATE.test(v) || RFC_850.test(v)) at = Date.parse(v);
  // asctime carries no zone; HTTP dates are always GMT, and Date.parse would read it as local time.
  else if (ASCTIME.test(v)) at = Date.parse(`${v} GMT`);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
