import type { Queryable } from '../../../shared/db/queryable.js';

/** Says this dispatcher process is alive (creating its row the first time). */
export async function touchDispatcherProcess(db: Queryable, id: string): Promise<void> {
  await db.query({
    name: 'touch-dispatcher-process',
    text: `INSERT INTO dispatcher_processes (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET seen_at = now()`,
    values: [id],
  });
}

/** A clean stop: this process sends nothing any more. Rows of crashed processes older than a day go too. */
export async function removeDispatcherProcess(db: Queryable, id: string): Promise<void> {
  await db.query(`DELETE FROM dispatcher_processes WHERE id = $1 OR seen_at < now() - interval '1 day'`, [id]);
}

/** An attempt about to go out. */
export interface SendingAttempt {
  deliveryId: string;
  n: number;
}

/**
 * Notes that `processId` is sending these attempts, before the requests leave: if the process dies before
 * recording them, whoever takes the job over can tell the attempt was made. A delivery that already holds
 * the attempt (or a later one) is left alone.
 */
export async function markSending(db: Queryable, processId: string, attempts: SendingAttempt[]): Promise<void> {
  if (!attempts.length) return;
  await db.query({
    name: 'mark-sending',
    text: `UPDATE deliveries d SET sending_n = v.n, sending_since = now(), sending_by = $3
     FROM unnest($1::text[], $2::int[]) AS v(id, n)
     WHERE d.id = v.id AND d.attempt_count < v.n`,
    values: [attempts.map((a) => a.deliveryId), attempts.map((a) => a.n), processId],
  });
}
