import { Router } from 'express';
import { z } from 'zod';
import { ValidationError } from '../../../shared/errors.js';
import { assertPattern } from '../../../shared/topics.js';
import { decodeCursor, parseBody, parseLimit, realCalendarDate } from '../http/validate.js';
import { withJsonMember } from '../http/payload-json.js';
import { principalOf } from '../middleware/auth.js';
import { listMessagePage, readMessage, summarizeBatch, type MessageReadDeps } from '../messages/read-messages.js';
import { jsonBody } from '../http/json-body.js';

/** The most message ids one summary answers for. */
export const MAX_SUMMARY_IDS = 1000;

export const summarySchema = z.object({ ids: z.array(z.string().min(1).max(100)).min(1).max(MAX_SUMMARY_IDS) }).strict();

function parseTime(value: unknown, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(String(value));
  if (Number.isNaN(t) || !realCalendarDate(String(value))) {
    throw new ValidationError('request.invalid_time', `${name} must be an ISO 8601 date-time, e.g. 2026-11-25T12:00:00Z.`);
  }
  return new Date(t);
}

export function messagesRoutes(deps: MessageReadDeps): Router {
  const r = Router();
  const json = jsonBody('256kb');

  r.get('/v1/messages', async (req, res) => {
    if (req.query.ids !== undefined) {
      const ids = String(req.query.ids).split(',').filter(Boolean);
      res.json(await summarizeBatch(deps, principalOf(req), parseBody(summarySchema, { ids }, 'request.invalid_ids').ids));
      return;
    }
    const pattern = req.query.topic === undefined ? undefined : String(req.query.topic);
    if (pattern !== undefined) assertPattern(pattern);
    res.json(
      await listMessagePage(deps, principalOf(req), {
        pattern,
        since: parseTime(req.query.since, 'since'),
        until: parseTime(req.query.until, 'until'),
        limit: parseLimit(req.query.limit, 50, 200),
        cursor: decodeCursor(req.query.cursor),
      }),
    );
  });

  // The same answer as GET /v1/messages?ids=, for batches whose ids would not fit in a URL (1,000 ids of
  // 30 characters are 30 KB; servers and proxies commonly cap a request line at 8–16 KB).
  r.post('/v1/messages/summary', json, async (req, res) => {
    res.json(await summarizeBatch(deps, principalOf(req), parseBody(summarySchema, req.body, 'request.invalid_ids').ids));
  });

  r.get('/v1/messages/:id', async (req, res) => {
    const { fields, data } = await readMessage(deps, principalOf(req), String(req.params.id));
    res.type('application/json').send(withJsonMember(fields, 'data', data));
  });

  return r;
}
