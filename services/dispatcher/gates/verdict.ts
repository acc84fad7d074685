import { PARKED_INDEFINITELY } from '../../../shared/db/deliveries.js';
import type { ParkReason } from '../storage/deferrals.js';

/**
 * What a gate says about a job:
 * - `skip`: nothing to do (its attempt is already on record, its subscription is gone): ack it;
 * - `park`: it may not go now: put it back in Postgres until `until` (a time, or an event for
 *   PARKED_INDEFINITELY: resume, the breaker closing, the older delivery settling) and ack it;
 * - `send`: this gate lets it through; `probe` when it is its half-open breaker's one probe.
 */
export type Verdict =
  | { kind: 'skip' }
  | { kind: 'park'; reason: ParkReason; until: Date | typeof PARKED_INDEFINITELY }
  | { kind: 'send'; probe: boolean };

export const SKIP: Verdict = Object.freeze({ kind: 'skip' });
export const SEND: Verdict = Object.freeze({ kind: 'send', probe: false });

/** Parks until an event releases the delivery. */
export function parkUntilReleased(reason: ParkReason): Verdict {
  return { kind: 'park', reason, until: PARKED_INDEFINITELY };
}

/** Parks for `ms` from `nowMs`. */
export function parkFor(reason: ParkReason, ms: number, nowMs: number): Verdict {
  return { kind: 'park', reason, until: new Date(nowMs + ms) };
}

/** A gate: decides from what it is given, or passes (`send`) to the next. */
export type Gate = () => Verdict | Promise<Verdict>;

/**
 * Runs gates in order until one skips or parks; a probe stays a probe through the gates after it.
 * Gates later in the list may take something (an in-flight slot) the caller must give back when a gate
 * after them parks: the caller releases it whatever the verdict.
 */
export async function runGates(gates: readonly Gate[]): Promise<Verdict> {
  let probe = false;
  for (const gate of gates) {
    const v = await gate();
    if (v.kind !== 'send') return v;
    probe ||= v.probe;
  }
  return probe ? { kind: 'send', probe: true } : SEND;
}
