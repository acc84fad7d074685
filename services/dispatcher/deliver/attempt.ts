import type { Dispatcher as HttpDispatcher } from 'undici';
import { PARKED_INDEFINITELY } from '../../../shared/db/deliveries.js';
import type { DeliveryJob, EmbeddedMessage } from '../../../shared/delivery-job.js';
import type { Logger } from '../../../shared/logger.js';
import type { MessageStore, StoredMessage } from '../../../shared/nats/message-store.js';
import { assertTargetAllowed, type AddressPolicy } from '../../../shared/net/address-policy.js';
import type { DispatchMetrics } from '../metrics.js';
import { GONE, type DeliveryPolicy } from '../policy.js';
import type { SendingAttempt } from '../storage/dispatcher-processes.js';
import type { DispatchWork } from '../storage/dispatch-work.js';
import { traceSend, traceStep, traceStepSync } from '../trace-delivery.js';
import { classifyAttempt, type DeliveryOutcome } from './classify.js';
import { prepareWebhook } from './prepare.js';
import type { AttemptRecorder } from './record-attempt.js';
import { sendWebhook, type SendResult } from './send.js';

/** What making an attempt reads from, sends with and records to. */
export interface AttemptDeps {
  messages: MessageStore;
  http: HttpDispatcher;
  addressPolicy: AddressPolicy;
  recorder: AttemptRecorder;
  /** Notes the attempt in Postgres before it goes out (see markSending). */
  markSending: (attempt: SendingAttempt) => Promise<unknown>;
  logger: Logger;
  metrics?: DispatchMetrics;
}

/** How the exchange went, for the in-flight limiter. */
export interface Exchange {
  ok: boolean;
  durationMs: number;
}

/**
 * The send → classify → record stages of one job that passed its gates: reads the message (unless the job
 * carries it), signs and sends the webhook, classifies the result and puts the attempt on record.
 * `exchanged` is called as soon as the exchange with the endpoint ends, before the record is written
 * (a slow Postgres flush must not hold an in-flight slot).
 */
export async function makeAttempt(
  deps: AttemptDeps,
  job: DeliveryJob,
  carried: EmbeddedMessage | undefined,
  { subscription }: DispatchWork,
  policy: DeliveryPolicy,
  probe: boolean,
  exchanged: (e: Exchange) => void,
): Promise<void> {
  const ids = { messageId: job.messageId, subscriptionId: job.subscriptionId, deliveryId: job.deliveryId, attempt: job.attempt };
  const msg: StoredMessage | undefined = carried
    ? { id: job.messageId, streamSeq: job.streamSeq, ...carried }
    : await traceStep('load message', () => deps.messages.get(job.streamSeq));
  if (!msg || msg.id !== job.messageId) {
    const result = failure('message no longer retained in the stream');
    // Counted against the endpoint's in-flight share like any failed attempt, though none was sent.
    exchanged({ ok: false, durationMs: 0 });
    await record(deps, job, subscription.ordered, probe, result, { kind: 'dead', reason: 'message expired' }, false);
    deps.logger.warn(ids, 'delivery dead: its message is no longer retained in the stream');
    return;
  }

  const request = traceStepSync('sign webhook', () => prepareWebhook(subscription, msg, job.attempt));
  let result: SendResult;
  try {
    assertTargetAllowed(request.url, deps.addressPolicy);
    await deps.markSending({ deliveryId: job.deliveryId, n: job.attempt });
    result = await traceSend(request, job.attempt, () => sendWebhook(deps.http, request));
  } catch (err) {
    result = failure((err as Error).message);
  }

  const outcome = classifyAttempt(result, job.attempt, subscription.retry, Math.random, Date.now(), policy.permanentFailureStatuses);
  exchanged({ ok: outcome.kind === 'delivered', durationMs: result.durationMs });

  await traceStep('record attempt', () => record(deps, job, subscription.ordered, probe, result, outcome, true));
  deps.metrics?.observe(outcome.kind, result.durationMs / 1000, Date.parse(msg.publishedAt));
  if (outcome.kind !== 'delivered') {
    const fields = { ...ids, status: result.statusCode, error: result.error, outcome: outcome.kind, probe };
    if (outcome.kind === 'dead') deps.logger.info({ ...fields, reason: outcome.reason }, 'delivery dead');
    else deps.logger.debug(fields, 'delivery attempt failed');
  } else if (probe) {
    deps.logger.info(ids, 'probe delivery succeeded');
  }
}

/** When a retry is due: a 410 waits for the resume that follows the disable rather than racing it with a short backoff. */
export function retryAt(outcome: DeliveryOutcome, statusCode: number | null, nowMs = Date.now()): Date | typeof PARKED_INDEFINITELY | null {
  if (outcome.kind !== 'retry') return null;
  return statusCode === GONE ? PARKED_INDEFINITELY : new Date(nowMs + outcome.delayMs);
}

function record(
  deps: Pick<AttemptDeps, 'recorder'>,
  job: DeliveryJob,
  ordered: boolean,
  probe: boolean,
  result: SendResult,
  outcome: DeliveryOutcome,
  countsForHealth: boolean,
): Promise<void> {
  return deps.recorder.recordAttempt({
    deliveryId: job.deliveryId,
    n: job.attempt,
    startedAt: result.startedAt,
    durationMs: result.durationMs,
    statusCode: result.statusCode,
    error: result.error,
    responseExcerpt: result.responseExcerpt,
    outcome: outcome.kind === 'delivered' ? 'succeeded' : 'failed',
    status: outcome.kind === 'delivered' ? 'succeeded' : outcome.kind === 'dead' ? 'dead' : 'failed',
    nextAttemptAt: retryAt(outcome, result.statusCode),
    subscriptionId: job.subscriptionId,
    ordered,
    probe,
    countsForHealth,
  });
}

function failure(error: string): SendResult {
  return { startedAt: new Date(), durationMs: 0, waitedMs: 0, statusCode: null, retryAfter: undefined, responseExcerpt: null, error };
}
