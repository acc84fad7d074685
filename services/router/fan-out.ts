import type { JetStreamClient, JsMsg } from 'nats';
import { recordFanOut, type NewDelivery } from '../../shared/db/deliveries.js';
import type { MessageRecord } from '../../shared/db/messages.js';
import type { Pool } from '../../shared/db/pool.js';
import { deliveryId } from '../../shared/ids.js';
import { HEADERS, type Names } from '../../shared/nats/subjects.js';
import { encodeJob, jobMsgId, type DeliveryJob } from '../../shared/delivery-job.js';
import type { SubscriptionSync } from './subscription-sync.js';

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
  await deps.subscriptions.refresh();
  const messages: MessageRecord[] = [];
  const deliveries: NewDelivery[] = [];
  const jobs: DeliveryJob[] = [];
  for (const m of batch) {
    const where = deps.names.parseMessageSubject(m.subject);
    const id = m.headers?.get(HEADERS.messageId);
    if (!where || !id) continue;
    const seq = m.seq;
    messages.push({
      id,
      tenant: where.tenant,
      topic: where.topic,
      streamSeq: seq,
      publishedAt: new Date(m.headers!.get(HEADERS.publishedAt) || Date.now()),
    });
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
      jobs.push({ d, s: sub.id, m: id, q: seq, n: 1 });
    }
  }
  if (messages.length) await recordFanOut(deps.pool, messages, deliveries);
  await Promise.all(
    jobs.map((job) =>
      deps.js.publish(deps.names.deliverySubject(job.s), encodeJob(job), { msgID: jobMsgId(job) }),
    ),
  );
  return jobs.length;
}
