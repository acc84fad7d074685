import {
  latestSubscriptionVersion,
  subscriptionsChangedSince,
  type SubscriptionRecord,
} from '../../shared/db/subscriptions.js';
import type { Pool } from '../../shared/db/pool.js';
import { compileStoredFilter, type CompiledFilter } from '../../shared/filter.js';
import { SubscriptionIndex } from './subscription-index.js';

/** What the router keeps in memory per webhook subscription. */
export interface RoutedSubscription {
  id: string;
  filter: unknown;
  /** The filter compiled once per change; undefined when the subscription has none. */
  matches?: CompiledFilter;
}

/**
 * Keeps the in-memory pattern index in step with Postgres. The router routes each batch with the index as
 * it is and records it only if no subscription changed since (recordFanOut checks the highest committed
 * version in the same statement); otherwise it loads what changed and routes the batch again. So a
 * subscription answered with 201 is in the index before any message published after it is routed, at no
 * extra round trip while subscriptions stay as they are. Versions commit in order because every
 * subscription write holds the same advisory lock.
 */
export class SubscriptionSync {
  readonly index = new SubscriptionIndex<RoutedSubscription>();
  private current = 0;

  constructor(private readonly pool: Pool) {}

  /** The highest subscription version the index holds. */
  get version(): number {
    return this.current;
  }

  /** Brings the index up to date; returns how many subscriptions changed. */
  async refresh(): Promise<number> {
    return this.catchUp(await latestSubscriptionVersion(this.pool));
  }

  /** Brings the index up to `latest`, a version read from Postgres; returns how many subscriptions changed. */
  async catchUp(latest: number): Promise<number> {
    if (latest <= this.current) return 0;
    const changed = await subscriptionsChangedSince(this.pool, this.current);
    for (const s of changed) this.apply(s);
    // At least `latest`, whatever the read returned: a router that routes again until its index is as new as
    // the version it was shown must never loop.
    this.current = Math.max(latest, changed.at(-1)?.version ?? 0);
    return changed.length;
  }

  private apply(s: SubscriptionRecord): void {
    // Poll subscriptions read MESSAGES through their own consumer; only webhooks are fanned out.
    if (s.deletedAt || s.type !== 'webhook') this.index.remove(s.id);
    else this.index.upsert(s.id, s.tenant, s.topic, { id: s.id, filter: s.filter, matches: compileStoredFilter(s.filter) });
  }
}
