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
 * Keeps the in-memory pattern index in step with Postgres. Before each batch the router asks for the
 * highest committed version (one indexed query per batch, not per message) and loads only what changed,
 * so a subscription answered with 201 is in the index before any message published after it is routed.
 * Versions commit in order because every subscription write holds the same advisory lock.
 */
export class SubscriptionSync {
  readonly index = new SubscriptionIndex<RoutedSubscription>();
  private version = 0;

  constructor(private readonly pool: Pool) {}

  /** Brings the index up to date; returns how many subscriptions changed. */
  async refresh(): Promise<number> {
    const latest = await latestSubscriptionVersion(this.pool);
    if (latest <= this.version) return 0;
    const changed = await subscriptionsChangedSince(this.pool, this.version);
    for (const s of changed) this.apply(s);
    if (changed.length) this.version = changed[changed.length - 1]!.version;
    return changed.length;
  }

  private apply(s: SubscriptionRecord): void {
    // Poll subscriptions read MESSAGES through their own consumer; only webhooks are fanned out.
    if (s.deletedAt || s.type !== 'webhook') this.index.remove(s.id);
    else this.index.upsert(s.id, s.tenant, s.topic, { id: s.id, filter: s.filter, matches: compileStoredFilter(s.filter) });
  }
}
