import type { PoolClient } from 'pg';
import { toSubscription, type SubscriptionRecord } from './subscriptions.js';

/**
 * Records the result of an ownership check of the endpoint at `url`. Call inside `inSubscriptionWrite`
 * (it bumps the version the router watches). A success stamps `verified_at` and moves a
 * `pending_verification` subscription to `active` (a paused or disabled one keeps its status); a failure
 * records the reason and leaves an earlier verification of the same url standing. Nothing changes when
 * the url is no longer the one that was checked (edited meanwhile) or the subscription was deleted.
 * @returns the updated row, or undefined when nothing was changed.
 */
export async function recordVerification(
  db: PoolClient,
  q: { tenant: string; id: string; url: string; ok: boolean; error: string | null },
): Promise<SubscriptionRecord | undefined> {
  const { rows } = await db.query(
    `UPDATE subscriptions SET
       verified_at = CASE WHEN $4 THEN now() ELSE verified_at END,
       verification_error = CASE WHEN $4 THEN NULL ELSE $5 END,
       status = CASE WHEN $4 AND status = 'pending_verification' THEN 'active' ELSE status END,
       updated_at = now(), version = nextval('subscription_version')
     WHERE id = $1 AND tenant = $2 AND url = $3 AND deleted_at IS NULL
     RETURNING *`,
    [q.id, q.tenant, q.url, q.ok, q.error],
  );
  return rows[0] ? toSubscription(rows[0]) : undefined;
}
