import { canReadTopic, canSeeSubscription, type Principal } from '../../../shared/auth/principal.js';
import { deliveriesOfMessage } from '../../../shared/db/deliveries.js';
import { findMessage, findMessages, listMessages } from '../../../shared/db/messages.js';
import type { StateCounts } from '../../../shared/db/stats.js';
import { findSubscriptions } from '../../../shared/db/subscriptions.js';
import { NotFoundError } from '../../../shared/errors.js';
import type { MessageStore } from '../../../shared/nats/message-store.js';
import { patternToRegex } from '../../../shared/topics.js';
import { deliverySummary } from '../deliveries/delivery-view.js';
import { payloadJson } from '../http/payload-json.js';
import { encodeCursor } from '../http/validate.js';
import { unpolledDeliveries } from '../poll/unpolled-deliveries.js';
import { emptyCounts, summarizeMessages, type SummaryDeps } from './message-summaries.js';
import type { MessageFields, MessagePage, MessageSummaryView } from './message-views.js';

/** What reading messages needs: the summaries' dependencies and the stream's payloads. */
export interface MessageReadDeps extends SummaryDeps {
  messages: MessageStore;
}

/**
 * Whose deliveries `p` sees: admins every one of their tenant (undefined), others only those of
 * subscriptions they own (another owner's subscription ids, states and errors, which may name private
 * targets, are not theirs to see).
 */
export function ownerFilter(p: Principal): string | undefined {
  return p.admin ? undefined : p.sub;
}

/** Topic patterns whose messages `p` may read; undefined: all of its tenant's (admins). */
export function readableRegexes(p: Principal): string[] | undefined {
  return p.admin ? undefined : [...p.publish, ...p.subscribe].map(patternToRegex);
}

/** What `GET /v1/messages` lists: a topic or pattern, a publish-time window, a page. */
export interface MessageListQuery {
  pattern?: string;
  since?: Date;
  until?: Date;
  limit: number;
  cursor?: { createdAt: string; id: string };
}

/** A page of the messages `p` may read, newest first, each with its delivery counts. */
export async function listMessagePage(deps: SummaryDeps, p: Principal, q: MessageListQuery): Promise<MessagePage> {
  const wildcard = q.pattern !== undefined && /(^|\.)[*>](\.|$)/.test(q.pattern);
  const rows = await listMessages(deps.pool, {
    tenant: p.tenant,
    ...(q.pattern !== undefined ? (wildcard ? { topicRegex: patternToRegex(q.pattern) } : { topic: q.pattern }) : {}),
    visibleRegexes: readableRegexes(p),
    since: q.since,
    until: q.until,
    before: q.cursor && { publishedAt: q.cursor.createdAt, id: q.cursor.id },
    limit: q.limit + 1,
  });
  const page = rows.slice(0, q.limit);
  const summaries = await summarizeMessages(deps, p.tenant, page, ownerFilter(p));
  const last = page[page.length - 1];
  return {
    items: page.map((m) => ({
      id: m.id,
      topic: m.topic,
      publishedAt: m.publishedAt.toISOString(),
      deliveries: summaries.get(m.id)!.deliveries,
      settled: summaries.get(m.id)!.settled,
    })),
    next: rows.length > q.limit && last ? encodeCursor(last.publishedAt, last.id) : null,
  };
}

/** `{total, settled, counts, missing}` for a batch of message ids: unknown or unreadable ids are missing. */
export async function summarizeBatch(deps: SummaryDeps, p: Principal, ids: string[]): Promise<MessageSummaryView> {
  const wanted = [...new Set(ids)];
  const found = (await findMessages(deps.pool, p.tenant, wanted)).filter((m) => canReadTopic(p, m.topic));
  const summaries = await summarizeMessages(deps, p.tenant, found, ownerFilter(p));
  const counts = emptyCounts();
  let settled = 0;
  for (const s of summaries.values()) {
    for (const k of Object.keys(counts) as (keyof StateCounts)[]) counts[k] += s.deliveries[k];
    if (s.settled) settled++;
  }
  const known = new Set(found.map((m) => m.id));
  return { total: wanted.length, settled, counts, missing: wanted.filter((id) => !known.has(id)) };
}

/**
 * One message as `p` may see it: its fields with the deliveries of the subscriptions `p` may see, and its
 * payload as JSON text (`null` once the stream's retention dropped it; the delivery records outlive it).
 * @throws NotFoundError when it is not known, not routed yet, or on a topic `p` may not read.
 */
export async function readMessage(deps: MessageReadDeps, p: Principal, id: string): Promise<{ fields: MessageFields; data: string }> {
  const msg = await findMessage(deps.pool, p.tenant, id);
  if (!msg || !canReadTopic(p, msg.topic)) {
    throw new NotFoundError(
      'message.not_found',
      `Message ${id} is not known (yet): a message appears here once it has been routed, within moments of its 202.`,
    );
  }
  const owner = ownerFilter(p);
  const [stored, deliveries] = await Promise.all([deps.messages.get(msg.streamSeq), deliveriesOfMessage(deps.pool, id, owner)]);
  const retained = !!stored && stored.id === msg.id;
  // Poll deliveries get their row when first handed out; until then they are pending all the same.
  const unpolled = await unpolledDeliveries(deps.pool, msg, deliveries, retained, owner);
  let all = [...deliveries, ...unpolled];
  if (p.portal) {
    // A portal session learns nothing of other subjects' subscriptions, not even their ids.
    const subscriptions = await findSubscriptions(deps.pool, p.tenant, [...new Set(all.map((d) => d.subscriptionId))]);
    const own = new Set(subscriptions.filter((s) => canSeeSubscription(p, s)).map((s) => s.id));
    all = all.filter((d) => own.has(d.subscriptionId));
  }
  const views = all.map(deliverySummary);
  return {
    fields: {
      id: msg.id,
      topic: msg.topic,
      publishedAt: msg.publishedAt.toISOString(),
      deliveries: views,
      // A poller can stop once every delivery has settled (succeeded or dead).
      settled: views.every((d) => d.status === 'succeeded' || d.status === 'dead'),
    },
    data: retained ? payloadJson(stored.data) : 'null',
  };
}
