import type { JetStreamManager } from 'nats';
import { deleteSubscription, findSubscription, inSubscriptionWrite } from '../../../shared/db/subscriptions.js';
import type { Pool } from '../../../shared/db/pool.js';
import type { Logger } from '../../../shared/logger.js';
import type { Names } from '../../../shared/nats/subjects.js';
import { PollConsumerChanges } from './poll-subscription.js';

/** Most expired subscriptions deleted in one pass; a full pass is followed by another at once. */
const PASS_LIMIT = 100;

/**
 * Moves a session subscription's expiry forward: called on every poll, so only a subscription nobody
 * polls any more expires. One small UPDATE, and no version bump (poll subscriptions are not routed).
 */
export async function touchPollSubscription(pool: Pool, id: string, expireAfterIdleMs: number): Promise<void> {
  await pool.query(
    `UPDATE subscriptions SET options = options || jsonb_build_object('expiresAt', $2::text)
     WHERE id = $1 AND deleted_at IS NULL`,
    [id, new Date(Date.now() + expireAfterIdleMs).toISOString()],
  );
}

/**
 * One pass of the expiry sweep (api role): deletes poll subscriptions created with `expireAfterIdleMs`
 * whose `expiresAt` has passed, with their consumers, exactly as `DELETE /v1/subscriptions/:id` does.
 * Resolves true when there may be more.
 */
export async function expireIdlePollSubscriptions(deps: {
  pool: Pool;
  jsm: JetStreamManager;
  names: Names;
  logger: Logger;
}): Promise<boolean> {
  const { rows } = await deps.pool.query<{ id: string; tenant: string }>(
    `SELECT id, tenant FROM subscriptions
     WHERE type = 'poll' AND deleted_at IS NULL AND options ? 'expiresAt' AND (options->>'expiresAt')::timestamptz < now()
     LIMIT ${PASS_LIMIT}`,
  );
  for (const { id, tenant } of rows) {
    await inSubscriptionWrite(deps.pool, async (db) => {
      const current = await findSubscription(db, tenant, id);
      const expiresAt = current?.options.expiresAt;
      // Polled since the select: it lives on.
      if (!current || typeof expiresAt !== 'string' || new Date(expiresAt).getTime() >= Date.now()) return;
      if (await deleteSubscription(db, tenant, id)) await new PollConsumerChanges(deps).delete(current);
    });
    deps.logger.info({ subscriptionId: id }, 'expired an idle session subscription');
  }
  return rows.length === PASS_LIMIT;
}
