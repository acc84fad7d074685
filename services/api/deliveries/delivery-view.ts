import type { AttemptRecord, DeliveryRecord } from '../../../shared/db/deliveries.js';

function nextAttempt(d: DeliveryRecord): { nextAttemptAt?: string; parked?: true } {
  const at = d.nextAttemptAt;
  if (at === null || d.status === 'succeeded' || d.status === 'dead') return {};
  if (typeof at === 'number' || !(at instanceof Date) || !Number.isFinite(at.getTime())) return { parked: true };
  return { nextAttemptAt: at.toISOString() };
}

/** The attempt out at the endpoint now, and whether its sender died and the job waits for takeover. */
function inFlight(d: DeliveryRecord) {
  const s = d.sending;
  if (!s || d.status === 'succeeded' || d.status === 'dead') return {};
  return { inFlight: { attempt: s.n, since: s.since.toISOString(), awaitingTakeover: s.senderLost } };
}

/** A delivery as listed under its message or subscription. */
export function deliverySummary(d: DeliveryRecord) {
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

export function attemptView(a: AttemptRecord) {
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
