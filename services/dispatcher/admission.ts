import type { DispatchWork } from './storage/dispatch-work.js';

/** What the dispatcher does with a loaded job before any limit or rate applies. */
export type Admission =
  | { kind: 'send'; probe: boolean }
  /** paused: its subscription is paused or disabled; order: an older delivery is not settled; circuit: the breaker. */
  | { kind: 'park'; reason: 'paused' | 'order' | 'circuit' };

/**
 * Decides from the state as loaded (one batched query) whether a delivery may be attempted now:
 * - a subscription that is not active parks everything until it is resumed;
 * - an ordered subscription sends only its head, the oldest delivery not settled; the rest wait their turn;
 * - an open breaker parks everything; a half-open one lets only its probe delivery through.
 * The order check comes before the breaker's, so an ordered subscription probes with its head.
 */
export function admit({ delivery, subscription, health, headSeq }: DispatchWork): Admission {
  if (subscription.status !== 'active') return { kind: 'park', reason: 'paused' };
  if (subscription.ordered && headSeq !== null && headSeq < delivery.streamSeq) return { kind: 'park', reason: 'order' };
  switch (health.state) {
    case 'open':
      return { kind: 'park', reason: 'circuit' };
    case 'half_open':
      return health.probeDeliveryId === delivery.id ? { kind: 'send', probe: true } : { kind: 'park', reason: 'circuit' };
    default:
      return { kind: 'send', probe: false };
  }
}
