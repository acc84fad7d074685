import type { PoolClient } from 'pg';
import { SUBSCRIPTION_LOCK_CLASS } from '../../../shared/db/advisory-locks.js';

/**
 * Takes each subscription's transaction-scoped advisory lock, in one order, so writers that must see each
 * other's committed effects (an ordered head settling and the next delivery parking; a breaker closing
 * and a delivery parking for it) run one after the other per subscription and never deadlock.
 */
export async function lockSubscriptions(db: PoolClient, ids: string[]): Promise<void> {
  if (!ids.length) return;
  await db.query(
    `SELECT pg_advisory_xact_lock(${SUBSCRIPTION_LOCK_CLASS}, hashtext(id))
     FROM (SELECT DISTINCT unnest($1::text[]) AS id ORDER BY 1) s`,
    [ids],
  );
}
