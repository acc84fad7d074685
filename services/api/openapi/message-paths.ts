import { bool, body, dateTime, int, json, obj, op, pathParam, problemRef, problemResponse, problems, ref, str, TOPIC_PATTERN } from './builders.js';

const subscriptionId = pathParam('id', 'A subscription id (`sub_…`).');

/** Paths of the document: health, publishing, live streams, messages and stats. */
export function messagePaths(): Record<string, unknown> {
  const { notFound, invalid, forbidden, unavailable, tooMany } = problems;
  const idempotencyConflict = problemResponse(
    '`idempotency.key_reused`: the Idempotency-Key was used for a different request (another body, or a single ' +
      'publish against a batch) within the idempotency window; nothing was stored.',
  );
  // A single publish and a batch answer alike apart from their 202 body.
  const replayedHeader = {
    'Idempotent-Replayed': { description: '`true` when an earlier publish with the same Idempotency-Key answered.', schema: str() },
  };
  const publishRefusals = {
    '400': invalid,
    '403': forbidden,
    '409': idempotencyConflict,
    '413': problemRef('PayloadTooLarge'),
    '415': problemRef('UnsupportedMediaType'),
    '503': unavailable,
  };
  const idempotencyKey = {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Repeats of the same request within HOOKLINE_IDEMPOTENCY_WINDOW_S answer the original ids with `Idempotent-Replayed: true`; ' +
      'the key with a different request answers 409.',
    schema: str({ minLength: 1, maxLength: 255 }),
  };
  const open = { security: [] };
  return {
    '/healthz': {
      get: {
        summary: 'Liveness',
        ...open,
        responses: { '200': json(ref('Liveness'), 'The process is alive.') },
      },
    },
    '/readyz': {
      get: {
        summary: 'Readiness: accepting traffic, NATS and Postgres reachable',
        ...open,
        responses: Object.fromEntries(
          ['200', '503'].map((s) => [
            s,
            json(
              ref('Readiness'),
              s === '200' ? 'Ready.' : 'Not ready; `checks` says what is missing.',
            ),
          ]),
        ),
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        ...open,
        responses: { '200': { description: 'Prometheus text format.', content: { 'text/plain': { schema: str() } } } },
      },
    },
    '/openapi.json': {
      get: {
        summary: 'This document',
        ...open,
        responses: { '200': json({ type: 'object', required: ['openapi', 'info', 'paths'] }, 'The OpenAPI 3.1 document.') },
      },
    },
    '/v1/topics/{topic}/messages': {
      post: op(
        'Publish one message',
        {
          '202': {
            ...json(ref('Published'), 'Stored in JetStream; every matching delivery will be made.'),
            headers: replayedHeader,
          },
          ...publishRefusals,
        },
        {
          parameters: [
            pathParam('topic', 'The topic: dot-separated tokens of [A-Za-z0-9_-].'),
            idempotencyKey,
          ],
          requestBody: body({ description: 'Any JSON value: the payload.' }),
        },
      ),
    },
    '/v1/topics/{topic}/batch': {
      post: op(
        'Publish up to 1000 messages',
        {
          '202': {
            ...json(ref('BatchPublished'), 'All stored.'),
            headers: replayedHeader,
          },
          ...publishRefusals,
        },
        {
          parameters: [
            pathParam('topic', 'The topic.'),
            idempotencyKey,
          ],
          requestBody: body(ref('BatchRequest')),
        },
      ),
    },
    '/v1/topics/{pattern}/stream': {
      get: op(
        'Server-Sent Events of the messages matching a pattern',
        {
          '200': {
            description:
              'An event stream: `id: <stream sequence>`, `data: {"id","topic","publishedAt","data"}` (event name `message`; ' +
              'with `events=topic`, `event: <topic>`); ' +
              'a final `event: error` says why the server ended it.',
            content: { 'text/event-stream': { schema: str() } },
          },
          '400': invalid,
          '403': forbidden,
          '429': tooMany,
          '503': unavailable,
        },
        {
          parameters: [
            pathParam('pattern', 'A topic pattern.'),
            { name: 'Last-Event-ID', in: 'header', required: false, description: 'Resume after this stream sequence.', schema: str({ pattern: '^\\d+$' }) },
            { name: 'from', in: 'query', required: false, description: 'Resume after this stream sequence.', schema: str({ pattern: '^\\d+$' }) },
            {
              name: 'events',
              in: 'query',
              required: false,
              description: '`message` (default: every event fires EventSource.onmessage) or `topic` (events named by topic).',
              schema: { enum: ['message', 'topic'], default: 'message' },
            },
            { name: 'access_token', in: 'query', required: false, description: 'The bearer token, for clients that cannot set headers.', schema: str() },
          ],
        },
      ),
    },
    '/v1/ws': {
      get: {
        summary: 'WebSocket twin of the event stream (HTTP upgrade)',
        description:
          'Client frames: `{"type":"subscribe","pattern","from"?}`, `{"type":"unsubscribe","pattern"}`, `{"type":"ping"}`. ' +
          'Server frames: `subscribed`, `unsubscribed`, `pong`, `message` `{pattern, seq, id, topic, publishedAt, data}`, `error` `{code, message, pattern?}`.',
        'x-hookline-upgrade': 'websocket',
        parameters: [{ name: 'access_token', in: 'query', required: false, schema: str() }],
        responses: {
          '101': { description: 'Switching protocols.' },
          '401': problemRef('Unauthorized'),
          '429': tooMany,
          '503': unavailable,
        },
      },
    },
    '/v1/messages': {
      get: op(
        'Messages newest first, each with its delivery counts; or, with ids, one summary of those messages',
        {
          '200': json(
            { oneOf: [ref('MessagePage'), ref('MessageSummary')] },
            'A page (MessagePage), or with `ids` the summary (MessageSummary).',
          ),
          '400': invalid,
        },
        {
          parameters: [
            { name: 'topic', in: 'query', required: false, description: 'A topic or pattern (`orders.*`, `orders.>`).', schema: str({ pattern: TOPIC_PATTERN }) },
            { name: 'since', in: 'query', required: false, description: 'Published at or after.', schema: dateTime() },
            { name: 'until', in: 'query', required: false, description: 'Published before.', schema: dateTime() },
            { name: 'limit', in: 'query', required: false, schema: int({ minimum: 1, maximum: 200, default: 50 }) },
            { name: 'cursor', in: 'query', required: false, schema: str() },
            { name: 'ids', in: 'query', required: false, description: 'Comma-separated message ids (1–1000): answer with their summary.', schema: str() },
          ],
        },
      ),
    },
    '/v1/messages/summary': {
      post: op(
        'Are these messages settled? One summary of up to 1,000 messages',
        { '200': json(ref('MessageSummary'), 'The summary.'), '400': invalid },
        { requestBody: body(ref('MessageSummaryRequest')) },
      ),
    },
    '/v1/stats': {
      get: op('Tenant-wide figures over the subscriptions the caller sees', { '200': json(ref('TenantStats'), 'The figures.') }),
    },
    '/v1/subscriptions/{id}/stats': {
      parameters: [subscriptionId],
      get: op("A subscription's delivery counts, recent attempts, latency and breaker", {
        '200': json(ref('SubscriptionStats'), 'The figures.'),
        '404': notFound,
      }),
    },
    '/v1/messages/{id}': {
      get: op(
        'A message and the state of each of its deliveries',
        { '200': json(ref('Message'), 'The message.'), '404': notFound },
        { parameters: [pathParam('id', 'A message id (`msg_…`).')] },
      ),
    },
  };
}
