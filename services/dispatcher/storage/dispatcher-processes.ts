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
 * Thrown instead of sending when an attempt could not be marked: its delivery row is not there (Postgres
 * lost the router's not yet durable row in a crash; the message is routed again) or already holds the
 * attempt (another copy of the job recorded it). The job is looked at again later; nothing is sent.
 */
export class AttemptNotMarkedError extends Error {
  override name = 'AttemptNotMarkedError';
  readonly code = 'delivery.not_marked';
}

/**
 * Notes that `processId` is sending these attempts, before the requests leave: if the process dies before
 * recording them, whoever takes the job over can tell the attempt was made. A delivery that already holds
 * the attempt (or a later one), or whose attempt another process has marked, is left alone: two copies of
 * one job never both send. (A process that took over a lost sender's attempt records it as interrupted and
 * marks the next one.) The statement commits synchronously, so the delivery row it marks is durable before
 * the request leaves, however the router committed it.
 * @returns the ids of the deliveries marked; only those may be sent.
 */
export async function markSending(db: Queryable, processId: string, attempts: SendingAttempt[]): Promise<Set<string>> {
  if (!attempts.length) return new Set();
  const { rows } = await db.query({
    name: 'mark-sending',
    text: `UPDATE deliveries d SET sending_n = v.n, sending_since = now(), sending_by = $3
     FROM unnest($1::text[], $2::int[]) AS v(id, n)
     WHERE d.id = v.id AND d.attempt_count < v.n
       AND (d.sending_n IS NULL OR d.sending_n < v.n OR d.sending_by = $3)
     RETURNING d.id`,
    values: [attempts.map((a) => a.deliveryId), attempts.map((a) => a.n), processId],
  });
  return new Set(rows.map((r: { id: string }) => r.id));
}
