import { SENDING_COLUMNS, toDelivery, type DeliveryRecord } from '../../../shared/db/deliveries.js';
import type { HealthSnapshot } from '../../../shared/db/endpoint-health.js';
import type { Queryable } from '../../../shared/db/queryable.js';
import { toSubscription, type SubscriptionRecord } from '../../../shared/db/subscriptions.js';

/** A delivery with what the dispatcher decides on: its subscription, its endpoint's breaker and its order. */
export interface DispatchWork {
  delivery: DeliveryRecord;
  subscription: SubscriptionRecord;
  /** The breaker; closed when the subscription has no row yet. */
  health: HealthSnapshot;
  /** Ordered subscriptions: the stream sequence of the oldest delivery not yet settled (the head). */
  headSeq: number | null;
}

const D = ['id', 'message_id', 'subscription_id', 'tenant', 'stream_seq', 'status', 'attempt_count',
  'last_status_code', 'last_error', 'next_attempt_at', 'parked_reason', 'created_at', 'updated_at'];

/**
 * Subscriptions by id as last read, so a steady stream of jobs for the same subscriptions does not read
 * their rows (secrets, retry policy, health history) again for every batch. Every write to a subscription
 * raises its version, and the batch query reads each delivery's current version beside it: an entry is used
 * only while its version is the current one (or newer), so the cache can be stale for no delivery.
 */
export class SubscriptionCache {
  private readonly byId = new Map<string, SubscriptionRecord>();

  constructor(private readonly capacity = 10_000) {}

  /** The cached subscription if it is at `version` or newer. */
  atLeast(id: string, version: number): SubscriptionRecord | undefined {
    const s = this.byId.get(id);
    return s && s.version >= version ? s : undefined;
  }

  set(s: SubscriptionRecord): void {
    // A crude bound: dropping everything costs one read per subscription, never a wrong answer.
    if (this.byId.size >= this.capacity && !this.byId.has(s.id)) this.byId.clear();
    this.byId.set(s.id, s);
  }
}

/**
 * Loads many deliveries with their current subscription, breaker and (for ordered subscriptions) head;
 * missing ids are absent. Subscriptions are read once per batch at most, and not at all while `cache` holds
 * them at their current version: a batch of 500 jobs for ten subscriptions moves at most ten subscription
 * rows, not 500, and a steady stream moves none.
 */
export async function loadDispatchWork(
  pool: Queryable,
  ids: string[],
  cache: SubscriptionCache = new SubscriptionCache(),
): Promise<Map<string, DispatchWork>> {
  const { rows } = await pool.query({
    // Named: prepared once per connection, parsed and planned once, not for every batch.
    name: 'load-dispatch-work',
    text: `SELECT ${D.map((c) => `d.${c}`).join(', ')}, ${SENDING_COLUMNS}, s.version AS s_version,
       h.state AS h_state, h.probe_delivery_id AS h_probe_delivery_id, h.probe_at AS h_probe_at,
       CASE WHEN s.ordered THEN (
         SELECT min(o.stream_seq) FROM deliveries o
         WHERE o.subscription_id = d.subscription_id AND o.status IN ('pending', 'failed')
       ) END AS head_seq
     FROM deliveries d
     JOIN subscriptions s ON s.id = d.subscription_id
     LEFT JOIN endpoint_health h ON h.subscription_id = d.subscription_id
     WHERE d.id = ANY ($1::text[])`,
    values: [ids],
  });
  const out = new Map<string, DispatchWork>();
  if (!rows.length) return out;
  const missing = new Set<string>();
  for (const r of rows) if (!cache.atLeast(r.subscription_id, Number(r.s_version))) missing.add(r.subscription_id);
  if (missing.size) {
    const subs = await pool.query({
      name: 'load-dispatch-subscriptions',
      text: `SELECT * FROM subscriptions WHERE id = ANY ($1::text[])`,
      values: [[...missing]],
    });
    for (const row of subs.rows) cache.set(toSubscription(row));
  }
  for (const r of rows) {
    // Read after the batch query, a newer version than it saw is just as current for this attempt.
    const subscription = cache.atLeast(r.subscription_id, Number(r.s_version));
    if (!subscription) continue;
    out.set(r.id, {
      delivery: toDelivery(r),
      subscription,
      health: {
        state: r.h_state ?? 'closed',
        probeDeliveryId: r.h_probe_delivery_id ?? null,
        probeAt: r.h_probe_at ?? null,
      },
      headSeq: r.head_seq === null || r.head_seq === undefined ? null : Number(r.head_seq),
    });
  }
  return out;
}
