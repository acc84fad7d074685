import express, { Router, type Request } from 'express';
import type { Registry } from 'prom-client';
import { canPublish } from '../../../shared/auth/principal.js';
import { ForbiddenError, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../../../shared/errors.js';
import { assertTopic } from '../../../shared/topics.js';
import { z } from 'zod';
import { ApiMetrics } from '../http/api-metrics.js';
import { principalOf } from '../middleware/auth.js';
import { DEFAULT_MAX_JSON_DEPTH, textNestsDeeperThan, valueNestsDeeperThan } from '../publish/json-depth.js';
import { publishMessages, type PublishDeps } from '../publish/publish-messages.js';
import type { BatchPublishedView, PublishedView } from '../publish/published-view.js';
import { strictJson } from '../http/json-body.js';

/** Largest `/batch`. */
export const MAX_BATCH = 1000;
/** The `/batch` body; each message is then checked on its own (depth, size). */
export const batchRequestSchema = z.object({ messages: z.array(z.unknown()).min(1).max(MAX_BATCH) }).strict();

function parseBatch(body: unknown): z.output<typeof batchRequestSchema> {
  const parsed = batchRequestSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const onlyCount = parsed.error.issues.every((i) => i.path.join('.') === 'messages' && (i.code === 'too_small' || i.code === 'too_big'));
  throw new ValidationError(
    'publish.invalid_batch',
    onlyCount ? `A batch holds 1 to ${MAX_BATCH} messages.` : 'The body must be {"messages": [ ... ]} and nothing else.',
  );
}

const KEY = /^[\x21-\x7e]{1,255}$/;
// Fatal: invalid UTF-8 is refused, not replaced with U+FFFD and stored as bytes the publisher never sent.
const utf8 = new TextDecoder('utf-8', { fatal: true });

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\b/i;

function isJson(req: Request): boolean {
  return JSON_TYPE.test(req.header('content-type') ?? '');
}

function requireJson(req: Request): void {
  if (!isJson(req)) {
    throw new UnsupportedMediaTypeError('request.unsupported_media_type', 'Send the payload as application/json.');
  }
}

function idempotencyKey(req: Request): string | undefined {
  const key = req.header('idempotency-key');
  if (key === undefined) return undefined;
  if (!KEY.test(key)) {
    throw new ValidationError('publish.invalid_idempotency_key', 'Idempotency-Key must be 1-255 visible ASCII characters.');
  }
  return key;
}

function authorizedTopic(req: Request): { tenant: string; topic: string } {
  const topic = String(req.params.topic);
  assertTopic(topic);
  const p = principalOf(req);
  if (!canPublish(p, topic)) throw new ForbiddenError('auth.forbidden', `This token may not publish to "${topic}".`);
  return { tenant: p.tenant, topic };
}

function tooDeep(maxDepth: number, which?: number): ValidationError {
  return new ValidationError(
    'publish.too_deep',
    `${which === undefined ? 'The payload' : `messages[${which}]`} nests arrays and objects more than ${maxDepth} levels deep; nothing was published.`,
  );
}

export function topicsRoutes(
  deps: PublishDeps & {
    maxPayloadBytes: number;
    registry?: Registry;
    /** Deepest nesting of arrays and objects in a payload (HOOKLINE_MAX_JSON_DEPTH). @default 64 */
    maxJsonDepth?: number;
  },
): Router {
  const published = deps.registry ? ApiMetrics.for(deps.registry).published : undefined;
  const maxDepth = deps.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const r = Router();
  // The payload is kept as the JSON text the publisher sent (validated, never re-serialised), so the raw
  // body parser is used and JSON.parse only checks it.
  const raw = express.raw({ type: () => true, limit: deps.maxPayloadBytes });

  r.post('/v1/topics/:topic/messages', raw, async (req, res) => {
    const { tenant, topic } = authorizedTopic(req);
    requireJson(req);
    const key = idempotencyKey(req);
    let text: string;
    try {
      text = Buffer.isBuffer(req.body) ? utf8.decode(req.body).trim() : '';
    } catch {
      throw new ValidationError('request.malformed_json', 'The request body is not valid UTF-8.');
    }
    if (!text) throw new ValidationError('publish.empty', 'The message body must be a JSON value.');
    try {
      JSON.parse(text);
    } catch {
      throw new ValidationError('request.malformed_json', 'The request body is not valid JSON.');
    }
    if (textNestsDeeperThan(text, maxDepth)) throw tooDeep(maxDepth);
    const [m] = await publishMessages(deps, tenant, topic, [text], key === undefined ? undefined : { key, kind: 'message' });
    if (!m!.duplicate) published?.inc({ tenant });
    if (m!.duplicate) res.setHeader('Idempotent-Replayed', 'true');
    res.status(202).json({ id: m!.id, topic: m!.topic, publishedAt: m!.publishedAt } satisfies PublishedView);
  });

  r.post(
    '/v1/topics/:topic/batch',
    // Only a JSON media type is parsed, so anything else reaches requireJson (415), not the parser (400).
    strictJson({ limit: deps.maxPayloadBytes * 4, type: (req) => JSON_TYPE.test(String(req.headers['content-type'] ?? '')) }),
    async (req, res) => {
      const { tenant, topic } = authorizedTopic(req);
      requireJson(req);
      const key = idempotencyKey(req);
      const body = parseBatch(req.body);
      // Before JSON.stringify, which would overflow the stack on a payload nested thousands deep.
      const deep = body.messages.findIndex((m) => valueNestsDeeperThan(m, maxDepth));
      if (deep >= 0) throw tooDeep(maxDepth, deep);
      const payloads = body.messages.map((m) => JSON.stringify(m));
      const tooBig = payloads.findIndex((p) => Buffer.byteLength(p) > deps.maxPayloadBytes);
      if (tooBig >= 0) {
        throw new PayloadTooLargeError(
          'request.too_large',
          `messages[${tooBig}] exceeds the limit of ${deps.maxPayloadBytes} bytes; nothing was published.`,
        );
      }
      const batch = await publishMessages(deps, tenant, topic, payloads, key === undefined ? undefined : { key, kind: 'batch' });
      published?.inc({ tenant }, batch.filter((m) => !m.duplicate).length);
      if (batch.every((m) => m.duplicate)) res.setHeader('Idempotent-Replayed', 'true');
      res.status(202).json({ ids: batch.map((m) => m.id), topic, publishedAt: batch[0]!.publishedAt } satisfies BatchPublishedView);
    },
  );
  return r;
}
