import type { AttemptResult } from '../../../shared/db/attempts.js';
import type { PARKED_INDEFINITELY } from '../../../shared/db/deliveries.js';
import type { Queryable } from '../../../shared/db/queryable.js';
import { storableText } from '../../../shared/db/storable-text.js';

/** The result of one attempt, with the state it moves its delivery to. */
export interface AttemptOutcome {
  deliveryId: string;
  n: number;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  responseExcerpt: string | null;
  outcome: AttemptResult;
  /** The delivery's state after it: `pending` after an interrupted attempt, whose result is unknown. */
  status: 'succeeded' | 'failed' | 'dead' | 'pending';
  nextAttemptAt: Date | typeof PARKED_INDEFINITELY | null;
}

/**
 * Appends attempts and moves their deliveries forward in one statement. Both writes are idempotent: an
 * attempt already on record is not inserted twice, and a delivery only takes the state of an attempt
 * newer than the one it holds, so a redelivered job never rewinds it.
 */
export async function applyOutcomes(pool: Queryable, outcomes: AttemptOutcome[]): Promise<void> {
  if (!outcomes.length) return;
  await pool.query({
    name: 'apply-outcomes',
    text: `WITH a AS (
       INSERT INTO attempts (delivery_id, n, started_at, duration_ms, status_code, error, response_excerpt, outcome)
       SELECT u.* FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::int[], $5::int[], $6::text[], $7::text[],
           $10::text[])
         AS u(delivery_id, n, started_at, duration_ms, status_code, error, response_excerpt, outcome)
       JOIN deliveries d ON d.id = u.delivery_id
       ON CONFLICT DO NOTHING
     )
     UPDATE deliveries d SET status = v.status, attempt_count = v.n, last_status_code = v.status_code,
       last_error = v.error, next_attempt_at = v.next_attempt_at,
       parked_reason = CASE WHEN v.next_attempt_at IS NOT NULL THEN 'retry' END,
       sending_n = NULL, sending_since = NULL, sending_by = NULL, updated_at = now()
     FROM unnest($1::text[], $2::int[], $8::text[], $5::int[], $6::text[], $9::timestamptz[])
       AS v(id, n, status, status_code, error, next_attempt_at)
     WHERE d.id = v.id AND d.attempt_count < v.n`,
    values: [
      outcomes.map((o) => o.deliveryId),
      outcomes.map((o) => o.n),
      outcomes.map((o) => o.startedAt),
      outcomes.map((o) => Math.round(o.durationMs)),
      outcomes.map((o) => o.statusCode),
      outcomes.map((o) => storableText(o.error)),
      outcomes.map((o) => storableText(o.responseExcerpt)),
      outcomes.map((o) => o.status),
      outcomes.map((o) => o.nextAttemptAt),
      outcomes.map((o) => o.outcome),
    ],
  });
}
