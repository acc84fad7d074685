import { LIVE_STREAMS_LOCK_CLASS } from './advisory-locks.js';
import { inTransaction, type Pool } from './pool.js';

/**
 * Records an open SSE stream or WebSocket of `tenant` unless the tenant already holds `limit` unexpired
 * ones (across every api replica); true when recorded. Serialised per tenant by an advisory lock, so two
 * replicas opening a tenant's last place at once cannot both take it.
 */
export async function openLiveStream(
  pool: Pool,
  s: { id: string; tenant: string; replica: string; leaseMs: number; limit: number },
): Promise<boolean> {
  return inTransaction(pool, async (db) => {
    await db.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LIVE_STREAMS_LOCK_CLASS, s.tenant]);
    await db.query('DELETE FROM live_streams WHERE tenant = $1 AND expires_at < now()', [s.tenant]);
    const { rowCount } = await db.query(
      `INSERT INTO live_streams (id, tenant, replica, expires_at)
       SELECT $1, $2, $3, now() + $4 * interval '1 millisecond'
       WHERE (SELECT count(*) FROM live_streams WHERE tenant = $2) < $5`,
      [s.id, s.tenant, s.replica, s.leaseMs, s.limit],
    );
    return (rowCount ?? 0) > 0;
  });
}

export async function closeLiveStream(pool: Pool, id: string): Promise<void> {
  await pool.query('DELETE FROM live_streams WHERE id = $1', [id]);
}

/** Extends the lease of the given streams of `replica` (the ones still open there). */
export async function renewLiveStreams(pool: Pool, replica: string, ids: string[], leaseMs: number): Promise<void> {
  if (!ids.length) return;
  await pool.query(
    `UPDATE live_streams SET expires_at = now() + $3 * interval '1 millisecond' WHERE replica = $1 AND id = ANY($2)`,
    [replica, ids, leaseMs],
  );
}

/** Forgets every stream of `replica` (it is shutting down and has closed them). */
export async function closeReplicaStreams(pool: Pool, replica: string): Promise<void> {
  await pool.query('DELETE FROM live_streams WHERE replica = $1', [replica]);
}
