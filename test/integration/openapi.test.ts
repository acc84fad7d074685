import { beforeAll, describe, expect, it } from '@jest/globals';
import type { Express } from 'express';
import http from 'node:http';
import type { Response } from 'supertest';
import { resolveRef, validateSchema, type JsonSchema } from '../helpers/json-schema.js';
import type { Receiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';
import { withBroker } from '../helpers/kit.js';

const hl = withBroker();

/**
 * The live app against its OpenAPI document: every express route is documented (and nothing documented
 * is missing), and a representative request to every route answers with a documented status whose body
 * validates against the documented schema.
 */

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Operation | unknown>>;
  components: Record<string, Record<string, unknown>>;
};
type Operation = {
  responses: Record<string, ResponseObject | { $ref: string }>;
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  'x-hookline-upgrade'?: string;
};
type ResponseObject = { description: string; content?: Record<string, { schema: JsonSchema }> };

const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

let doc: Doc;
let receiver: Receiver;
const fx: Record<string, string> = {};

/** Every `METHOD /path` the express app routes, in OpenAPI path syntax, found by walking its router stacks. */
function expressRoutes(app: Express): string[] {
  const out: string[] = [];
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] }; rawPath?: unknown };
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = (prefix + layer.route.path).replace(/:([A-Za-z0-9_]+)/g, '{$1}');
        for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.push(`${m.toUpperCase()} ${path}`);
      } else if (layer.handle?.stack) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  const router = (app as unknown as { router: { stack: Layer[] } }).router;
  walk(router.stack, '');
  return out;
}

function operations(d: Doc): { key: string; template: string; method: string; op: Operation }[] {
  const out = [];
  for (const [template, item] of Object.entries(d.paths)) {
    for (const method of METHODS) {
      const op = item[method] as Operation | undefined;
      if (op) out.push({ key: `${method.toUpperCase()} ${template}`, template, method, op });
    }
  }
  return out;
}

function templateRegex(template: string): RegExp {
  return new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`);
}

/** The documented operation a concrete request lands on. */
function operationFor(method: string, path: string) {
  const bare = path.split('?')[0]!;
  const found = operations(doc).filter((o) => o.method === method && templateRegex(o.template).test(bare));
  if (found.length !== 1) throw new Error(`${method.toUpperCase()} ${bare} matches ${found.length} documented operations`);
  return found[0]!;
}

function deref<T>(v: T | { $ref: string }): T {
  return (v && typeof v === 'object' && '$ref' in v ? resolveRef(doc, (v as { $ref: string }).$ref) : v) as T;
}

const covered = new Set<string>();

/** Checks one answer against the document: a documented status, media type and body. */
function checkResponse(method: string, path: string, status: number, contentType: string | undefined, body: unknown) {
  const { key, op } = operationFor(method, path);
  covered.add(key);
  const documented = op.responses[String(status)];
  expect({ request: `${key} (${path})`, status, documented: documented !== undefined }).toEqual({
    request: `${key} (${path})`,
    status,
    documented: true,
  });
  const response = deref<ResponseObject>(documented!);
  if (!response.content) {
    expect(body === undefined || body === '' || (typeof body === 'object' && body !== null && Object.keys(body).length === 0)).toBe(true);
    return;
  }
  const media = (contentType ?? '').split(';')[0]!.trim();
  expect({ request: `${key} ${status}`, media, documented: Object.keys(response.content) }).toEqual({
    request: `${key} ${status}`,
    media,
    documented: expect.arrayContaining([media]),
  });
  if (media === 'application/json' || media === 'application/problem+json') {
    const errors = validateSchema(response.content[media]!.schema, body, doc);
    expect({ request: `${key} ${status}`, errors }).toEqual({ request: `${key} ${status}`, errors: [] });
  }
}

interface Case {
  name: string;
  method: 'get' | 'post' | 'patch' | 'delete';
  path: () => string;
  body?: () => unknown;
  /** The body is deliberately invalid: do not hold it against the documented request schema. */
  invalid?: boolean;
  token?: boolean;
  expect: number;
  after?: (res: Response) => void | Promise<void>;
}

async function run(c: Case): Promise<Response> {
  const path = c.path();
  let req = hl.http()[c.method](path);
  if (c.token !== false) req = req.set(hl.auth);
  if (c.body) {
    const b = c.body();
    if (!c.invalid) {
      const { op } = operationFor(c.method, path);
      const schema = op.requestBody?.content['application/json']?.schema;
      expect(schema).toBeDefined();
      expect({ request: `${c.method} ${path}`, errors: validateSchema(schema!, b, doc) }).toEqual({
        request: `${c.method} ${path}`,
        errors: [],
      });
    }
    req = req.type('application/json').send(JSON.stringify(b));
  }
  const res = await req;
  expect({ case: c.name, status: res.status }).toEqual({ case: c.name, status: c.expect });
  const parsed = res.headers['content-type']?.startsWith('text/') ? res.text : res.body;
  checkResponse(c.method, path, res.status, res.headers['content-type'], parsed);
  await c.after?.(res);
  return res;
}

/** Opens the SSE stream, reads the head of the answer, hangs up. */
function openStream(path: string, token: string): Promise<{ status: number; contentType: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${hl.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] });
      req.destroy();
    });
    req.on('error', (err) => (/aborted|socket hang up/.test(err.message) ? undefined : reject(err)));
  });
}

beforeAll(async () => {
  receiver = await hl.receiver((r) =>
    r.headers['hookline-event'] === 'hookline.verify'
      ? { status: 200, body: JSON.stringify({ challenge: JSON.parse(r.body).challenge }) }
      : { status: 200 },
  );
  doc = (await hl.http().get('/openapi.json')).body as Doc;

  const webhook = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'oa.orders', url: receiver.url });
  fx.webhook = webhook.body.id;
  const poll = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'oa.poll', type: 'poll' });
  fx.poll = poll.body.id;
  const msg = await hl.http().post('/v1/topics/oa.orders/messages').set(hl.auth).send({ order: { status: 'paid', total: 5 } });
  fx.message = msg.body.id;
  for (let i = 0; i < 2; i++) await hl.http().post('/v1/topics/oa.poll/messages').set(hl.auth).send({ i });
  const delivery = await waitFor(async () => {
    const m = await hl.http().get(`/v1/messages/${fx.message}`).set(hl.auth);
    return m.body?.deliveries?.find((d: { status: string }) => d.status === 'succeeded');
  }, 'the fixture delivery');
  fx.delivery = delivery.id;
  fx.doomed = (await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'oa.gone', url: receiver.url })).body.id;
});

describe('GET /openapi.json', () => {
  it('when fetched without a token, then it is an OpenAPI 3.1 document whose $refs all resolve', async () => {
    const res = await hl.http().get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.openapi).toBe('3.1.0');
    const refs: string[] = [];
    const collect = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(collect);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref' && typeof x === 'string') refs.push(x);
          else collect(x);
        }
      }
    };
    collect(res.body);
    expect(refs.length).toBeGreaterThan(20);
    for (const r of refs) expect(() => resolveRef(res.body, r)).not.toThrow();
  });

  it('when an operation has path parameters, then each is declared, and every operation documents responses', () => {
    for (const [template, item] of Object.entries(doc.paths)) {
      const shared = ((item as { parameters?: { name: string; in: string }[] }).parameters ?? []);
      for (const method of METHODS) {
        const op = item[method] as (Operation & { parameters?: { name: string; in: string }[] }) | undefined;
        if (!op) continue;
        const declared = [...shared, ...(op.parameters ?? [])].filter((p) => p.in === 'path').map((p) => p.name).sort();
        const inTemplate = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
        expect({ op: `${method} ${template}`, declared }).toEqual({ op: `${method} ${template}`, declared: inTemplate });
        expect(Object.keys(op.responses).length).toBeGreaterThan(0);
      }
    }
  });

  it('when the express router of the live app is walked, then every route is documented and every documented route exists', () => {
    const routes = expressRoutes(hl.broker.app);
    expect(routes.length).toBeGreaterThan(25);
    const documented = operations(doc)
      .filter((o) => !o.op['x-hookline-upgrade'])
      .map((o) => o.key);
    expect({ undocumented: routes.filter((r) => !documented.includes(r)) }).toEqual({ undocumented: [] });
    expect({ missing: documented.filter((d) => !routes.includes(d)) }).toEqual({ missing: [] });
  });
});

const cases: Case[] = [
  { name: 'liveness', method: 'get', path: () => '/healthz', token: false, expect: 200 },
  { name: 'readiness', method: 'get', path: () => '/readyz', token: false, expect: 200 },
  { name: 'metrics', method: 'get', path: () => '/metrics', token: false, expect: 200 },
  { name: 'the document', method: 'get', path: () => '/openapi.json', token: false, expect: 200 },
  { name: 'publish', method: 'post', path: () => '/v1/topics/oa.orders/messages', body: () => ({ order: { status: 'open' } }), expect: 202 },
  { name: 'publish without a token', method: 'post', path: () => '/v1/topics/oa.orders/messages', body: () => ({}), token: false, expect: 401 },
  { name: 'publish to an invalid topic', method: 'post', path: () => '/v1/topics/oa..x/messages', body: () => ({}), expect: 400 },
  { name: 'batch', method: 'post', path: () => '/v1/topics/oa.orders/batch', body: () => ({ messages: [{ a: 1 }, { a: 2 }] }), expect: 202 },
  {
    name: 'create a webhook subscription',
    method: 'post',
    path: () => '/v1/subscriptions',
    body: () => ({
      topic: 'oa.>',
      url: receiver.url,
      filter: { or: [{ path: 'a', in: [1, 2] }, { not: { path: 'b', exists: true } }] },
      maxInFlight: 5,
      rateLimit: 2,
      permanentFailureStatuses: [404, 410],
      retry: { maxAttempts: 3 },
    }),
    expect: 201,
  },
  { name: 'create a poll subscription', method: 'post', path: () => '/v1/subscriptions', body: () => ({ topic: 'oa.p2', type: 'poll', ackTimeoutMs: 5000 }), expect: 201 },
  { name: 'create an invalid subscription', method: 'post', path: () => '/v1/subscriptions', body: () => ({ topic: 'oa', filter: { path: 'a' } }), invalid: true, expect: 400 },
  { name: 'list subscriptions', method: 'get', path: () => '/v1/subscriptions?limit=2', expect: 200 },
  { name: 'read a subscription', method: 'get', path: () => `/v1/subscriptions/${fx.webhook}`, expect: 200 },
  {
    name: 'read a poll subscription',
    method: 'get',
    path: () => `/v1/subscriptions/${fx.poll}`,
    expect: 200,
    after: (res) => {
      expect(res.body).toMatchObject({ type: 'poll', maxAttempts: expect.any(Number), ackTimeoutMs: expect.any(Number) });
      for (const webhookOnly of ['retry', 'timeoutMs', 'url', 'health', 'maxInFlight']) expect(res.body).not.toHaveProperty(webhookOnly);
    },
  },
  { name: 'read an unknown subscription', method: 'get', path: () => '/v1/subscriptions/sub_01ARZ3NDEKTSV4RRFFQ69G5FAV', expect: 404 },
  {
    name: 'change a subscription',
    method: 'patch',
    path: () => `/v1/subscriptions/${fx.webhook}`,
    body: () => ({ description: 'documented', filter: { path: 'order.status', eq: 'paid' }, rateLimit: null, maxInFlight: 10 }),
    expect: 200,
  },
  { name: 'pause', method: 'post', path: () => `/v1/subscriptions/${fx.webhook}/pause`, expect: 200 },
  { name: 'resume', method: 'post', path: () => `/v1/subscriptions/${fx.webhook}/resume`, expect: 200 },
  { name: 'rotate the secret', method: 'post', path: () => `/v1/subscriptions/${fx.webhook}/rotate-secret`, expect: 200 },
  {
    name: 'verify the endpoint',
    method: 'post',
    path: () => `/v1/subscriptions/${fx.webhook}/verify`,
    expect: 200,
    after: (res) => expect(res.body.verifiedAt).toBeDefined(),
  },
  {
    name: 'test a filter',
    method: 'post',
    path: () => `/v1/subscriptions/${fx.webhook}/test-filter`,
    body: () => ({ payload: { order: { status: 'paid' } } }),
    expect: 200,
  },
  {
    name: 'test an invalid filter',
    method: 'post',
    path: () => `/v1/subscriptions/${fx.webhook}/test-filter`,
    body: () => ({ filter: { and: [] }, payload: {} }),
    invalid: true,
    expect: 400,
  },
  {
    name: 'replay, dry run',
    method: 'post',
    path: () => `/v1/subscriptions/${fx.webhook}/replay`,
    body: () => ({ since: new Date(Date.now() - 3600_000).toISOString(), dryRun: true }),
    expect: 200,
  },
  {
    name: 'replay',
    method: 'post',
    path: () => `/v1/subscriptions/${fx.webhook}/replay`,
    body: () => ({ since: new Date(Date.now() - 3600_000).toISOString(), status: 'dead' }),
    expect: 202,
  },
  {
    name: 'replay a window that is too long',
    method: 'post',
    path: () => `/v1/subscriptions/${fx.webhook}/replay`,
    body: () => ({ since: '2000-01-01T00:00:00Z' }),
    expect: 400,
  },
  { name: 'list deliveries', method: 'get', path: () => `/v1/subscriptions/${fx.webhook}/deliveries?status=succeeded`, expect: 200 },
  { name: 'read a message', method: 'get', path: () => `/v1/messages/${fx.message}`, expect: 200 },
  { name: 'read an unknown message', method: 'get', path: () => '/v1/messages/msg_01ARZ3NDEKTSV4RRFFQ69G5FAV', expect: 404 },
  { name: 'read a delivery', method: 'get', path: () => `/v1/deliveries/${fx.delivery}`, expect: 200 },
  { name: 'retry a delivery', method: 'post', path: () => `/v1/deliveries/${fx.delivery}/retry`, expect: 202 },
  { name: 'retry it again at once', method: 'post', path: () => `/v1/deliveries/${fx.delivery}/retry`, expect: 409 },
  {
    name: 'poll',
    method: 'get',
    path: () => `/v1/subscriptions/${fx.poll}/messages?max=2&wait=5`,
    expect: 200,
    after: (res) => {
      expect(res.body.messages).toHaveLength(2);
      fx.ack = res.body.messages[0].ackId;
      fx.nack = res.body.messages[1].ackId;
    },
  },
  { name: 'ack', method: 'post', path: () => `/v1/subscriptions/${fx.poll}/ack`, body: () => ({ ackIds: [fx.ack] }), expect: 200 },
  { name: 'nack', method: 'post', path: () => `/v1/subscriptions/${fx.poll}/nack`, body: () => ({ ackIds: [fx.nack], delayMs: 1000 }), expect: 200 },
  {
    // Its errors are {index, problem, detail}, not the {path, message} of a body that failed validation.
    name: 'ack an id Hookline never issued',
    method: 'post',
    path: () => `/v1/subscriptions/${fx.poll}/ack`,
    body: () => ({ ackIds: ['not-an-ack-id'] }),
    expect: 400,
    after: (res) => {
      expect(res.body).toMatchObject({ code: 'poll.invalid_ack_id', errors: [{ index: 0, problem: 'malformed', detail: expect.any(String) }] });
    },
  },
  { name: 'poll a webhook subscription', method: 'get', path: () => `/v1/subscriptions/${fx.webhook}/messages`, expect: 409 },
  {
    name: 'open a portal link',
    method: 'post',
    path: () => '/v1/portal/sessions',
    body: () => ({ subject: 'customer-1', topics: ['oa.>'] }),
    expect: 201,
    after: (res) => {
      fx.portalCode = String(res.body.url).split('#code=')[1]!;
    },
  },
  { name: 'exchange a portal code', method: 'post', path: () => '/v1/portal/exchange', token: false, body: () => ({ code: fx.portalCode }), expect: 200 },
  { name: 'exchange a spent portal code', method: 'post', path: () => '/v1/portal/exchange', token: false, body: () => ({ code: fx.portalCode }), expect: 401 },
  { name: 'tenant settings', method: 'get', path: () => '/v1/tenant/settings', expect: 200 },
  { name: 'change tenant settings', method: 'patch', path: () => '/v1/tenant/settings', body: () => ({ verifyEndpoints: false, quotas: { streams: 50, subscriptions: null } }), expect: 200 },
  { name: 'webhook subscription stats', method: 'get', path: () => `/v1/subscriptions/${fx.webhook}/stats`, expect: 200 },
  {
    name: 'poll subscription stats',
    method: 'get',
    path: () => `/v1/subscriptions/${fx.poll}/stats`,
    expect: 200,
    after: (res) => expect(res.body.breaker).toBeNull(),
  },
  { name: 'stats of an unknown subscription', method: 'get', path: () => '/v1/subscriptions/sub_01ARZ3NDEKTSV4RRFFQ69G5FAV/stats', expect: 404 },
  { name: 'tenant stats', method: 'get', path: () => '/v1/stats', expect: 200 },
  {
    name: 'list messages by pattern',
    method: 'get',
    path: () => '/v1/messages?topic=oa.*&limit=2',
    expect: 200,
    after: (res) => expect(res.body.items).toHaveLength(2),
  },
  { name: 'list messages with a bad pattern', method: 'get', path: () => '/v1/messages?topic=oa..x', expect: 400 },
  {
    name: 'summary by query',
    method: 'get',
    path: () => `/v1/messages?ids=${fx.message},msg_01ARZ3NDEKTSV4RRFFQ69G5FAV`,
    expect: 200,
    after: (res) => expect(res.body).toMatchObject({ total: 2, missing: ['msg_01ARZ3NDEKTSV4RRFFQ69G5FAV'] }),
  },
  { name: 'summary', method: 'post', path: () => '/v1/messages/summary', body: () => ({ ids: [fx.message] }), expect: 200 },
  { name: 'summary of nothing', method: 'post', path: () => '/v1/messages/summary', body: () => ({ ids: [] }), invalid: true, expect: 400 },
  { name: 'delete a subscription', method: 'delete', path: () => `/v1/subscriptions/${fx.doomed}`, expect: 204 },
];

describe('the live app answers as documented', () => {
  it.each(cases.map((c) => [c.name, c] as const))('when the request is "%s", then status and body match the document', async (_name, c) => {
    await run(c);
  });

  it('when the event stream is opened, then it answers 200 text/event-stream as documented', async () => {
    const path = '/v1/topics/oa.*/stream';
    const { status, contentType } = await openStream(path, hl.token('admin'));
    expect(status).toBe(200);
    checkResponse('get', path, status, contentType, undefined);
  });

  it('when every case has run, then every route of the app was exercised by at least one', () => {
    const routes = expressRoutes(hl.broker.app);
    expect({ unexercised: routes.filter((r) => !covered.has(r)) }).toEqual({ unexercised: [] });
  });
});
