import type { JetStreamClient, JsMsg, MsgHdrs } from 'nats';
import { recordFanOut, type NewDelivery } from '../../shared/db/deliveries.js';
import type { MessageRecord } from '../../shared/db/messages.js';
import type { Pool } from '../../shared/db/pool.js';
import { deliveryId } from '../../shared/ids.js';
import { HEADERS, type Names } from '../../shared/nats/subjects.js';
import { firstAttemptJob, jobSubject, publishJob, type DeliveryJob, type MessageToCarry } from '../../shared/delivery-job.js';
import type { SubscriptionSync } from './subscription-sync.js';
import { RoutingTrace } from './trace-routing.js';

/**
 * A message travels inside its jobs while all its copies together stay under this many bytes: a 1 KiB
 * message to ten subscriptions is sent straight from the job, without the dispatcher reading it back from
 * MESSAGES (a round trip per message); a fan-out to a thousand subscriptions is not copied a thousand times.
 */
export const EMBED_BUDGET_BYTES = 64 * 1024;

/** A job to enqueue, with the message it carries when it is small enough. */
interface Enqueue {
  job: DeliveryJob;
  message?: MessageToCarry;
}

const decoder = new TextDecoder();
/** A payload that is not JSON (publish validates it, so only a foreign writer): no filter matches it. */
const UNPARSEABLE: unique symbol = Symbol('unparseable');

function parsePayload(data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data));
  } catch {
    return UNPARSEABLE;
  }
}

export interface FanOutDeps {
  pool: Pool;
  js: JetStreamClient;
  names: Names;
  subscriptions: SubscriptionSync;
}

/**
 * Routes a batch of published messages: one delivery per matching webhook subscription, recorded in
 * Postgres and enqueued in DELIVERIES before the caller acks the source messages. Delivery ids and job
 * ids are derived from (message, subscription), so routing the same message again after a crash
 * creates no second row and no second job.
 * @returns how many deliveries were enqueued.
 */
export async function fanOutMessages(deps: FanOutDeps, batch: JsMsg[]): Promise<number> {
  const trace = RoutingTrace.of(batch, deps.names);
  try {
    const n = await fanOut(deps, batch, trace);
    trace?.end();
    return n;
  } catch (err) {
    trace?.end(err);
    throw err;
  }
}

async function fanOut(deps: FanOutDeps, batch: JsMsg[], trace: RoutingTrace | undefined): Promise<number> {
  for (;;) {
    const version = deps.subscriptions.version;
    const { messages, deliveries, jobs } = trace ? trace.step('match subscriptions', () => route(deps, batch)) : route(deps, batch);
    if (!messages.length) return 0;
    const record = () => recordFanOut(deps.pool, messages, deliveries, version);
    const newer = await (trace ? trace.step('record deliveries', record) : record());
    if (newer !== undefined) {
      // Subscriptions changed since the index was loaded: route the batch again with the new index.
      await deps.subscriptions.catchUp(newer);
      continue;
    }
    await Promise.all(
      jobs.map(({ job, message }) => {
        const send = (headers?: MsgHdrs) => publishJob(deps.js, deps.names, job, { message, headers });
        return trace ? trace.sendJob(job.messageId, jobSubject(deps.names, job), send) : send();
      }),
    );
    return jobs.length;
  }
}

/** The batch's messages and, from the index as it is, their deliveries and jobs. */
function route(deps: FanOutDeps, batch: JsMsg[]) {
  const messages: MessageRecord[] = [];
  const deliveries: NewDelivery[] = [];
  const jobs: Enqueue[] = [];
  for (const m of batch) {
    const where = deps.names.parseMessageSubject(m.subject);
    const id = m.headers?.get(HEADERS.messageId);
    if (!where || !id) continue;
    const seq = m.seq;
    const publishedAt = m.headers!.get(HEADERS.publishedAt);
    messages.push({
      id,
      tenant: where.tenant,
      topic: where.topic,
      streamSeq: seq,
      publishedAt: new Date(publishedAt || Date.now()),
    });
    const first = jobs.length;
    // Parsed at most once per message, and only when a matching subscription has a filter.
    let payload: unknown = UNPARSEABLE;
    let parsed = false;
    for (const sub of deps.subscriptions.index.match(where.tenant, where.topic)) {
      if (sub.matches) {
        if (!parsed) {
          payload = parsePayload(m.data);
          parsed = true;
        }
        if (payload === UNPARSEABLE || !sub.matches(payload)) continue;
      }
      const d = deliveryId(id, sub.id);
      deliveries.push({ id: d, messageId: id, subscriptionId: sub.id, tenant: where.tenant, streamSeq: seq });
      jobs.push({ job: firstAttemptJob({ deliveryId: d, subscriptionId: sub.id, messageId: id, streamSeq: seq }) });
    }
    const copies = jobs.length - first;
    if (publishedAt && copies && m.data.length * copies <= EMBED_BUDGET_BYTES) {
      const message = { tenant: where.tenant, topic: where.topic, publishedAt, data: m.data };
      for (let i = first; i < jobs.length; i++) jobs[i]!.message = message;
    }
  }
  return { messages, deliveries, jobs };
}
