import type { JetStreamManager } from 'nats';
import type { MessageRecord } from '../../../shared/db/messages.js';
import { pollSubscriptionsBefore } from '../../../shared/db/poll-deliveries.js';
import type { Pool } from '../../../shared/db/pool.js';
import { deliveryCountsOfMessages, type StateCounts } from '../../../shared/db/stats.js';
import type { Names } from '../../../shared/nats/subjects.js';
import { topicMatches } from '../../../shared/topics.js';

export interface MessageSummary {
  deliveries: StateCounts;
  /** Every delivery has settled (succeeded or dead); true for a message no subscription matched. */
  settled: boolean;
}

export interface SummaryDeps {
  pool: Pool;
  jsm: JetStreamManager;
  names: Names;
}

/** Counts of no deliveries at all. */
export const emptyCounts = (): StateCounts => ({ pending: 0, failed: 0, succeeded: 0, dead: 0, total: 0 });

/**
 * Delivery counts by state for messages of one tenant, as `GET /v1/messages/:id` counts them: a poll
 * subscription owed a message that no poller has fetched yet counts it pending (dead once the stream's
 * retention has dropped it), so a batch is never called settled before its poll deliveries are. With
 * `owner` (a non-admin caller), only deliveries of that owner's subscriptions count.
 */
export async function summarizeMessages(
  deps: SummaryDeps,
  tenant: string,
  messages: MessageRecord[],
  owner?: string,
): Promise<Map<string, MessageSummary>> {
  const out = new Map<string, MessageSummary>();
  if (!messages.length) return out;
  const newest = Math.max(...messages.map((m) => m.streamSeq));
  const polls = await pollSubscriptionsBefore(deps.pool, tenant, newest, owner);
  const recorded = await deliveryCountsOfMessages(
    deps.pool,
    messages.map((m) => m.id),
    polls.map((s) => s.id),
    owner,
  );
  let firstRetained: number | undefined;
  for (const m of messages) {
    const r = recorded.get(m.id);
    const counts = r ? { ...r.counts } : emptyCounts();
    const owed = polls.filter((s) => s.startSeq < m.streamSeq && !r?.pollRows.has(s.id) && topicMatches(s.topic, m.topic));
    if (owed.length) {
      firstRetained ??= (await deps.jsm.streams.info(deps.names.messagesStream)).state.first_seq;
      const state = m.streamSeq >= firstRetained ? 'pending' : 'dead';
      counts[state] += owed.length;
      counts.total += owed.length;
    }
    out.set(m.id, { deliveries: counts, settled: counts.pending + counts.failed === 0 });
  }
  return out;
}
