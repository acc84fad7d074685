/** A delivery job in the DELIVERIES work queue: ids only, so the dispatcher acts on the world as it is now. */
export interface DeliveryJob {
  /** delivery id */
  d: string;
  /** subscription id */
  s: string;
  /** message id */
  m: string;
  /** MESSAGES stream sequence of the message */
  q: number;
  /** which attempt this job is for (1-based) */
  n: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJob(job: DeliveryJob): Uint8Array {
  return encoder.encode(JSON.stringify(job));
}

/** Parses a job, or returns undefined for anything that is not one (it is then dropped, not retried). */
export function decodeJob(data: Uint8Array): DeliveryJob | undefined {
  try {
    const j = JSON.parse(decoder.decode(data)) as DeliveryJob;
    if (typeof j.d === 'string' && typeof j.s === 'string' && typeof j.m === 'string' && Number.isInteger(j.q) && Number.isInteger(j.n)) {
      return j;
    }
  } catch {
    // fall through
  }
  return undefined;
}

/**
 * The JetStream message id of a job. The router's first job is "<deliveryId>:1", so routing a message
 * again is a duplicate; a job the scheduler re-enqueues also names its claim, because the same attempt
 * may legitimately be enqueued again (a paused delivery resumed, a throttled one released).
 */
export function jobMsgId(job: DeliveryJob, claim?: Date): string {
  return claim ? `${job.d}:${job.n}:${claim.getTime()}` : `${job.d}:${job.n}`;
}
