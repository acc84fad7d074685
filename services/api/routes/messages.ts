import express, { Router, type Request } from 'express';
import type { JetStreamManager } from 'nats';
import { z } from 'zod';
import { canReadTopic, canSeeSubscription, type Principal } from '../../../shared/auth/principal.js';
import { deliveriesOfMessage } from '../../../shared/db/deliveries.js';
import { findMessage, findMessages, listMessages } from '../../../shared/db/messages.js';
import type { Pool } from '../../../shared/db/pool.js';
import type { StateCounts } from '../../../shared/db/stats.js';
import { NotFoundError, ValidationError } from '../../../shared/errors.js';
import { findSubscription } from '../../../shared/db/subscriptions.js';
import type { MessageStore } from '../../../shared/nats/message-store.js';
import type { Names } from '../../../shared/nats/subjects.js';
import { assertPattern, patternToRegex } from '../../../shared/topics.js';
import { principalOf } from '../middleware/auth.js';
import { summarizeMessages } from '../messages/message-summaries.js';
import type { MessageFields, MessagePage, MessageSummaryView } from '../messages/message-views.js';
import { decodeCursor, encodeCursor, parseBody, parseLimit } from '../http/validate.js';
import { deliverySummary } from '../deliveries/delivery-view.js';
import { payloadJson, withJsonMember } from '../http/payload-json.js';
import { unpolledDeliveries } from '../poll/unpolled-deliveries.js';

/** The most message ids one summary answers for. */
export const MAX_SUMMARY_IDS = 1000;

export const summarySchema = z.object({ ids: z.array(z.string().min(1).max(100)).min(1).max(MAX_SUMMARY_IDS) }).strict();

/**
 * Whose deliveries `p` sees: admins every one of their tenant (undefined), others only those of
 * subscriptions they own (another owner's subscription ids, states and errors, which may name private
 * targets, are not theirs to see).
 */
function ownerFilter(p: Principal): string | undefined {
  return p.admin ? undefined : p.sub;
}

/** Topic patterns whose messages `p` may read; undefined: all of its tenant's (admins). */
function readableRegexes(p: Principal): string[] | undefined {
  return p.admin ? undefined : [...p.publish, ...p.subscribe].map(patternToRegex);
}

function parseTime(value: unknown, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(String(value));
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/.test(String(value))) {
    throw new ValidationError('request.invalid_time', `${name} must be an ISO 8601 date-time, e.g. 2026-11-25T12:00:00Z.`);
  }
  return new Date(t);
}

export function messagesRoutes(deps: { pool: Pool; messages: MessageStore; jsm: JetStreamManager; names: Names }): Router {
  const r = Router();
  const json = express.json({ limit: '256kb', strict: true, type: () => true });

  /** `{total, settled, counts, missing}` for a batch of message ids: unknown or unreadable ids are missing. */
  async function batchSummary(req: Request, ids: string[]): Promise<MessageSummaryView> {
    const p = principalOf(req);
    const wanted = [...new Set(ids)];
    const found = (await findMessages(deps.pool, p.tenant, wanted)).filter((m) => canReadTopic(p, m.topic));
    const summaries = await summarizeMessages(deps, p.tenant, found, ownerFilter(p));
    const counts: StateCounts = { pending: 0, failed: 0, succeeded: 0, dead: 0, total: 0 };
    let settled = 0;
    for (const s of summaries.values()) {
      for (const k of Object.keys(counts) as (keyof StateCounts)[]) counts[k] += s.deliveries[k];
      if (s.settled) settled++;
    }
    const known = new Set(found.map((m) => m.id));
    return { total: wanted.length, settled, counts, missing: wanted.filter((id) => !known.has(id)) };
  }

  r.get('/v1/messages', async (req, res) => {
    if (req.query.ids !== undefined) {
      const ids = String(req.query.ids).split(',').filter(Boolean);
      res.json(await batchSummary(req, parseBody(summarySchema, { ids }, 'request.invalid_ids').ids));
      return;
    }
    const p = principalOf(req);
    const pattern = req.query.topic === undefined ? undefined : String(req.query.topic);
    if (pattern !== undefined) assertPattern(pattern);
    const wildcard = pattern !== undefined && /(^|\.)[*>](\.|$)/.test(pattern);
    const since = parseTime(req.query.since, 'since');
    const until = parseTime(req.query.until, 'until');
    const limit = parseLimit(req.query.limit, 50, 200);
    const cursor = decodeCursor(req.query.cursor);
    const rows = await listMessages(deps.pool, {
      tenant: p.tenant,
      ...(pattern !== undefined ? (wildcard ? { topicRegex: patternToRegex(pattern) } : { topic: pattern }) : {}),
      visibleRegexes: readableRegexes(p),
      since,
      until,
      before: cursor && { publishedAt: cursor.createdAt, id: cursor.id },
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const summaries = await summarizeMessages(deps, p.tenant, page, ownerFilter(p));
    const last = page[page.length - 1];
    res.json({
      items: page.map((m) => ({
        id: m.id,
        topic: m.topic,
        publishedAt: m.publishedAt.toISOString(),
        deliveries: summaries.get(m.id)!.deliveries,
        settled: summaries.get(m.id)!.settled,
      })),
      next: rows.length > limit && last ? encodeCursor(last.publishedAt, last.id) : null,
    } satisfies MessagePage);
  });

  // The same answer as GET /v1/messages?ids=, for batches whose ids would not fit in a URL (1,000 ids of
  // 30 characters are 30 KB; servers and proxies commonly cap a request line at 8–16 KB).
  r.post('/v1/messages/summary', json, async (req, res) => {
    res.json(await batchSummary(req, parseBody(summarySchema, req.body, 'request.invalid_ids').ids));
  });

  r.get('/v1/messages/:id', async (req, res) => {
    const p = principalOf(req);
    const id = String(req.params.id);
    const msg = await findMessage(deps.pool, p.tenant, id);
    if (!msg || !canReadTopic(p, msg.topic)) {
      throw new NotFoundError(
        'message.not_found',
        `Message ${id} is not known (yet): a message appears here once it has been routed, within moments of its 202.`,
      );
    }
    const owner = ownerFilter(p);
    const [stored, deliveries] = await Promise.all([deps.messages.get(msg.streamSeq), deliveriesOfMessage(deps.pool, id, owner)]);
    // Poll deliveries get their row when first handed out; until then they are pending all the same.
    const unpolled = await unpolledDeliveries(deps.pool, msg, deliveries, !!stored && stored.id === msg.id, owner);
    let all = [...deliveries, ...unpolled];
    if (p.portal) {
      // A portal session learns nothing of other subjects' subscriptions, not even their ids.
      const own = new Set(
        (await Promise.all([...new Set(all.map((d) => d.subscriptionId))].map((id) => findSubscription(deps.pool, p.tenant, id))))
          .filter((s) => s !== undefined && canSeeSubscription(p, s))
          .map((s) => s!.id),
      );
      all = all.filter((d) => own.has(d.subscriptionId));
    }
    const views = all.map(deliverySummary);
    const fields: MessageFields = {
      id: msg.id,
      topic: msg.topic,
      publishedAt: msg.publishedAt.toISOString(),
      deliveries: views,
      // A poller can stop once every delivery has settled (succeeded or dead).
      settled: views.every((d) => d.status === 'succeeded' || d.status === 'dead'),
    };
    // null once the stream's retention has dropped the payload; the delivery record outlives it.
    const data = stored && stored.id === msg.id ? payloadJson(stored.data) : 'null';
    res.type('application/json').send(withJsonMember(fields, 'data', data));
  });

  return r;
}
