import type { DeliveryRecord } from '../../../shared/db/deliveries.js';
import type { DeliveryJob } from '../../../shared/delivery-job.js';
import type { Logger } from '../../../shared/logger.js';
import type { DispatchMetrics } from '../metrics.js';
import type { AttemptRecorder } from './record-attempt.js';

type Sending = NonNullable<DeliveryRecord['sending']>;

/**
 * What to do about an attempt a process marked as sending and never recorded, before gating the job:
 * - `clear`: none is outstanding for this job's attempt;
 * - `wait`: its sender is alive (a stall let the ack wait run out) and will record it: look again later;
 * - `interrupted`: its sender stopped (or it is this process, restarted under the same id): its result is
 *   unknown and is put on record as interrupted.
 */
export function previousAttempt(
  sending: DeliveryRecord['sending'],
  attempt: number,
  selfId: string,
): { kind: 'clear' } | { kind: 'wait' } | { kind: 'interrupted'; sending: Sending } {
  if (!sending || sending.n !== attempt) return { kind: 'clear' };
  if (!sending.senderLost && sending.by !== selfId) return { kind: 'wait' };
  return { kind: 'interrupted', sending };
}

/**
 * Puts the attempt on record as interrupted and makes the delivery due now: the retry scheduler enqueues
 * the next attempt (which is made even past maxAttempts: an interrupted attempt has no result to give up on).
 */
export async function recordInterrupted(
  deps: { recorder: AttemptRecorder; logger: Logger; metrics?: DispatchMetrics },
  job: DeliveryJob,
  ordered: boolean,
  sending: Sending,
): Promise<void> {
  await deps.recorder.recordAttempt({
    deliveryId: job.deliveryId,
    n: job.attempt,
    startedAt: sending.since,
    durationMs: 0,
    statusCode: null,
    error: 'interrupted: the process sending this attempt stopped before recording its result',
    responseExcerpt: null,
    outcome: 'interrupted',
    status: 'pending',
    nextAttemptAt: new Date(),
    subscriptionId: job.subscriptionId,
    ordered,
    probe: false,
    countsForHealth: false,
  });
  deps.metrics?.attempts.inc({ outcome: 'interrupted' });
  deps.logger.warn(
    { messageId: job.messageId, subscriptionId: job.subscriptionId, deliveryId: job.deliveryId, attempt: job.attempt, sentBy: sending.by },
    'attempt interrupted by a stopped process put on record; the next attempt follows',
  );
}
