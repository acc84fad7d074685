import type { DeliveryRecord } from '../../../shared/db/deliveries.js';
import type { MessageRecord } from '../../../shared/db/messages.js';
import { pollSubscriptionsBefore } from '../../../shared/db/poll-deliveries.js';
import type { Pool } from '../../../shared/db/pool.js';
import { deliveryId } from '../../../shared/ids.js';
import { topicMatches } from '../../../shared/topics.js';

/**
 * The deliveries a message owes to poll subscriptions that no poller has fetched it for yet. A poll
 * delivery gets its row when it is first handed out; before that, a client polling the message's state
 * must still see it pending, not "settled" because no row exists. A poll subscription is owed every
 * matching message published after its consumer was created (`startSeq`). If the stream's retention has
 * already dropped the message, it can never be handed out: shown dead. With `owner`, only that owner's
 * subscriptions count.
 */
export async function unpolledDeliveries(
  pool: Pool,
  msg: MessageRecord,
  recorded: DeliveryRecord[],
  retained: boolean,
  owner?: string,
): Promise<DeliveryRecord[]> {
  const subs = await pollSubscriptionsBefore(pool, msg.tenant, msg.streamSeq, owner);
  const seen = new Set(recorded.map((d) => d.subscriptionId));
  return subs
    .filter((s) => !seen.has(s.id) && topicMatches(s.topic, msg.topic))
    .map((s) => ({
      id: deliveryId(msg.id, s.id),
      messageId: msg.id,
      subscriptionId: s.id,
      tenant: msg.tenant,
      streamSeq: msg.streamSeq,
      status: retained ? 'pending' : 'dead',
      attemptCount: 0,
      lastStatusCode: null,
      lastError: retained ? null : 'expired from the stream before any poller fetched it',
      nextAttemptAt: null,
      createdAt: msg.publishedAt,
      updatedAt: msg.publishedAt,
    }));
}
