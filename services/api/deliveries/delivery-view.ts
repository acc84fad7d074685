import { z } from 'zod';
import { DELIVERY_STATUSES, type AttemptRecord, type DeliveryRecord } from '../../../shared/db/deliveries.js';
import { count, instant, page, resourceId } from '../http/view-fields.js';

export const deliveryStatusSchema = z.enum(DELIVERY_STATUSES);

export const deliverySummarySchema = z.object({
  id: z.string().regex(/^dlv_/),
  messageId: resourceId(),
  subscriptionId: resourceId(),
  status: deliveryStatusSchema,
  attemptCount: count(),
  lastStatusCode: z.number().int().optional(),
  lastError: z.string().optional(),
  nextAttemptAt: instant('When a parked retry is due.').optional(),
  parked: z.literal(true).optional().meta({ description: 'Waiting until its subscription is resumed or verified.' }),
  inFlight: z
    .object({
      attempt: z.number().int().min(1).meta({ description: 'The attempt out at the endpoint (its hookline-attempt header).' }),
      since: instant('When it went out.'),
      awaitingTakeover: z.boolean().meta({
        description:
          'The dispatcher process sending it has stopped (crash, kill): another takes the job over within ' +
          'HOOKLINE_ACK_WAIT_S of its last sign of life, records this attempt as interrupted and sends the next.',
      }),
    })
    .optional()
    .meta({ description: 'Present while an attempt has been sent and its result is not recorded yet.' }),
  createdAt: instant(),
  updatedAt: instant(),
});

export const attemptSchema = z.object({
  n: z.number().int().min(1),
  outcome: z.enum(['succeeded', 'failed', 'interrupted']).meta({
    description:
      'succeeded: a 2xx. failed: any other answer, a timeout or a network error. interrupted: the process ' +
      'sending it stopped before recording a result, so whether the endpoint received it is unknown; the ' +
      'next attempt follows at once.',
  }),
  startedAt: instant(),
  durationMs: count(),
  statusCode: z.number().int().optional(),
  error: z.string().optional(),
  responseExcerpt: z.string().max(1024).optional(),
});

export const deliverySchema = deliverySummarySchema.extend({ attempts: z.array(attemptSchema) });
export const deliveryListSchema = page(deliverySummarySchema);

export type DeliverySummary = z.output<typeof deliverySummarySchema>;
export type DeliveryList = z.output<typeof deliveryListSchema>;
export type DeliveryView = z.output<typeof deliverySchema>;
export type AttemptView = z.output<typeof attemptSchema>;

function nextAttempt(d: DeliveryRecord): { nextAttemptAt?: string; parked?: true } {
  const at = d.nextAttemptAt;
  if (at === null || d.status === 'succeeded' || d.status === 'dead') return {};
  if (typeof at === 'number' || !(at instanceof Date) || !Number.isFinite(at.getTime())) return { parked: true };
  return { nextAttemptAt: at.toISOString() };
}

/** The attempt out at the endpoint now, and whether its sender died and the job waits for takeover. */
function inFlight(d: DeliveryRecord): Pick<DeliverySummary, 'inFlight'> {
  const s = d.sending;
  if (!s || d.status === 'succeeded' || d.status === 'dead') return {};
  return { inFlight: { attempt: s.n, since: s.since.toISOString(), awaitingTakeover: s.senderLost } };
}

/** A delivery as listed under its message or subscription. */
export function deliverySummary(d: DeliveryRecord): DeliverySummary {
  return {
    id: d.id,
    messageId: d.messageId,
    subscriptionId: d.subscriptionId,
    status: d.status,
    attemptCount: d.attemptCount,
    ...(d.lastStatusCode !== null ? { lastStatusCode: d.lastStatusCode } : {}),
    ...(d.lastError ? { lastError: d.lastError } : {}),
    ...nextAttempt(d),
    ...inFlight(d),
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
  };
}

export function attemptView(a: AttemptRecord): AttemptView {
  return {
    n: a.n,
    outcome: a.outcome,
    startedAt: a.startedAt.toISOString(),
    durationMs: a.durationMs,
    ...(a.statusCode !== null ? { statusCode: a.statusCode } : {}),
    ...(a.error ? { error: a.error } : {}),
    ...(a.responseExcerpt ? { responseExcerpt: a.responseExcerpt } : {}),
  };
}
