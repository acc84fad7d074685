import type { Pool } from './pool.js';

/** What came of an attempt; `interrupted`: its process stopped before recording it, the result is unknown. */
export type AttemptResult = 'succeeded' | 'failed' | 'interrupted';

export interface AttemptRecord {
  n: number;
  outcome: AttemptResult;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  responseExcerpt: string | null;
}

/** A delivery's attempts, oldest first. */
export async function attemptsOf(pool: Pool, deliveryId: string): Promise<AttemptRecord[]> {
  const { rows } = await pool.query(
    `SELECT n, started_at, duration_ms, status_code, error, response_excerpt,
       coalesce(outcome, CASE WHEN status_code BETWEEN 200 AND 299 THEN 'succeeded' ELSE 'failed' END) AS outcome
     FROM attempts WHERE delivery_id = $1 ORDER BY n`,
    [deliveryId],
  );
  return rows.map((r) => ({
    n: r.n,
    outcome: r.outcome,
    startedAt: r.started_at,
    durationMs: r.duration_ms,
    statusCode: r.status_code,
    error: r.error,
    responseExcerpt: r.response_excerpt,
  }));
}
