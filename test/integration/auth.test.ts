import { beforeAll, describe, expect, it } from '@jest/globals';
import jwt from 'jsonwebtoken';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import type { Response } from 'supertest';
import { mintToken } from '../../shared/auth/tokens.js';
import { names } from '../../shared/nats/subjects.js';
import { TEST_NATS_URL } from '../helpers/isolated.js';
import type { Receiver } from '../helpers/receiver.js';
import { sleep, waitFor } from '../helpers/wait-for.js';
import { expectProblem, postMessage, postSubscription, withBroker, type BrokerKit } from '../helpers/kit.js';

/**
 * Who may do what: 401 without a valid token, 403 outside a token's grants, and a tenant (or, for non-admins,
 * an owner) never sees another's subscriptions, messages or deliveries, nor receives another tenant's messages.
 * Last, a broker logging at trace level shows that no token or secret reaches a log line.
 */

const t = withBroker();

let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  nc = await connect({ servers: TEST_NATS_URL });
  t.onClose(() => nc.close());
  jsm = await nc.jetstreamManager();
});

const streamCount = async () => (await jsm.streams.info(names(t.prefix).messagesStream)).state.messages;

const as = (token: string) => ({
  get: (path: string) => t.http().get(path).set('authorization', `Bearer ${token}`),
  post: (path: string) => t.http().post(path).set('authorization', `Bearer ${token}`),
  patch: (path: string, body: object) => t.http().patch(path).set('authorization', `Bearer ${token}`).send(body),
  delete: (path: string) => t.http().delete(path).set('authorization', `Bearer ${token}`),
});

const ids = (res: Response) => (res.body.items as { id: string }[]).map((i) => i.id);

describe('401 without a valid token', () => {
  const routes: [string, (r: ReturnType<BrokerKit['http']>) => ReturnType<ReturnType<BrokerKit['http']>['get']>][] = [
    ['POST /v1/topics/orders.created/messages', (r) => r.post('/v1/topics/orders.created/messages').set('content-type', 'application/json').send('{}')],
    ['GET /v1/subscriptions', (r) => r.get('/v1/subscriptions')],
    ['POST /v1/subscriptions', (r) => r.post('/v1/subscriptions').send({ topic: 'a', url: 'http://127.0.0.1:9/' })],
    ['GET /v1/messages/msg_x', (r) => r.get('/v1/messages/msg_x')],
    ['GET /v1/deliveries/dlv_x', (r) => r.get('/v1/deliveries/dlv_x')],
  ];

  it.each(routes)('when %s has no token, then 401 with WWW-Authenticate: Bearer', async (_, send) => {
    const res = await send(t.http());
    expectProblem(res, 401, 'auth.missing');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  const wrongSecret = mintToken('0123456789abcdef0123456789abcdef-other', { sub: 'x', scope: 'admin' });
  const expired = () =>
    jwt.sign({ scope: 'admin', exp: Math.floor(Date.now() / 1000) - 30 }, t.secret, { algorithm: 'HS256', subject: 'x' });
  const algNone = () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', scope: 'admin' })}.`;
  };

  it.each([
    ['garbage', () => 'Bearer not-a-jwt', 'auth.invalid_token'],
    ['signed with the wrong secret', () => `Bearer ${wrongSecret}`, 'auth.invalid_token'],
    ['expired', () => `Bearer ${expired()}`, 'auth.invalid_token'],
    ['unsigned (alg none)', () => `Bearer ${algNone()}`, 'auth.invalid_token'],
    ['Basic credentials', () => 'Basic dXNlcjpwYXNz', 'auth.malformed'],
    ['an empty Bearer', () => 'Bearer ', 'auth.malformed'],
  ])('when the token is %s, then 401 with WWW-Authenticate', async (_, header, code) => {
    const res = await t.http().get('/v1/subscriptions').set('authorization', header());
    expectProblem(res, 401, code);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('when the token has expired, then the problem says so', async () => {
    const res = await t.http().get('/v1/subscriptions').set('authorization', `Bearer ${expired()}`);
    expect(expectProblem(res, 401).detail).toMatch(/expired/);
  });

  it('when an unauthenticated publish carries a body over the limit, then it is 401 and nothing is stored (auth runs first)', async () => {
    const count = await streamCount();
    const res = await t
      .http()
      .post('/v1/topics/orders.created/messages')
      .set('content-type', 'application/json')
      .send(JSON.stringify({ pad: 'x'.repeat(300 * 1024) }));
    expectProblem(res, 401);
    expect(await streamCount()).toBe(count);
  });

  it('when the token is valid, then the same request succeeds (the 401s are about the token)', async () => {
    expect((await as(t.token()).get('/v1/subscriptions')).status).toBe(200);
  });

  it('when a health endpoint is called without a token, then it answers', async () => {
    expect((await t.http().get('/healthz')).status).toBe(200);
    expect((await t.http().get('/readyz')).status).toBe(200);
  });
});

describe('403 outside the grants', () => {
  it('when a publish:orders.* token publishes to orders.created, then 202, and to payments.x, orders.a.b or orders, then 403 and nothing is stored', async () => {
    const token = t.token('publish:orders.*', { sub: 'pub' });
    const ok = await postMessage(t, token, 'orders.created', { ok: true });
    expect(ok.status).toBe(202);
    const count = await streamCount();
    for (const topic of ['payments.x', 'orders.a.b', 'orders']) {
      const problem = expectProblem(await postMessage(t, token, topic, { ok: true }), 403, 'auth.forbidden');
      expect(problem.detail).toContain(topic);
    }
    expect(await streamCount()).toBe(count);
  });

  it('when a publish:orders.* token sends a batch to payments.x, then 403 and nothing is stored', async () => {
    const token = t.token('publish:orders.*', { sub: 'pub' });
    const count = await streamCount();
    const res = await t
      .http()
      .post('/v1/topics/payments.x/batch')
      .set('authorization', `Bearer ${token}`)
      .set('content-type', 'application/json')
      .send({ messages: [1, 2] });
    expectProblem(res, 403);
    expect(await streamCount()).toBe(count);
  });

  it('when a subscribe-only token publishes, then 403', async () => {
    expectProblem(await postMessage(t, t.token('subscribe:>', { sub: 'sub-only' }), 'orders.created', { ok: true }), 403);
  });

  it('when a subscribe:orders.> token subscribes to orders.*, then 201; to >, payments.* or orders, then 403 and no row is written', async () => {
    const token = t.token('subscribe:orders.>', { sub: 'subscriber' });
    const ok = await postSubscription(t, token, { topic: 'orders.*', url: 'http://127.0.0.1:9/hook' });
    expect(ok.status).toBe(201);
    const { rows: before } = await t.db.query('SELECT count(*)::int AS n FROM subscriptions');
    for (const topic of ['>', 'payments.*', 'orders', '*.created']) {
      const problem = expectProblem(await postSubscription(t, token, { topic, url: 'http://127.0.0.1:9/hook' }), 403, 'auth.forbidden');
      expect(problem.detail).toContain(topic);
    }
    const { rows: after } = await t.db.query('SELECT count(*)::int AS n FROM subscriptions');
    expect(after[0].n).toBe(before[0].n);
  });

  it('when a subscribe:orders.> token moves its subscription to >, then 403 and the topic is unchanged', async () => {
    const token = t.token('subscribe:orders.>', { sub: 'mover' });
    const s = (await postSubscription(t, token, { topic: 'orders.created', url: 'http://127.0.0.1:9/hook' })).body;
    expectProblem(await as(token).patch(`/v1/subscriptions/${s.id}`, { topic: '>' }), 403);
    const { rows } = await t.db.query('SELECT topic FROM subscriptions WHERE id = $1', [s.id]);
    expect(rows[0].topic).toBe('orders.created');
  });

  it('when a publish-only token subscribes, then 403', async () => {
    expectProblem(await postSubscription(t, t.token('publish:>', { sub: 'pub-only' }), { topic: 'orders.*', url: 'http://127.0.0.1:9/hook' }), 403);
  });

  it('when an admin token publishes and subscribes anywhere, then it may', async () => {
    const token = t.token('admin', { sub: 'root' });
    expect((await postMessage(t, token, 'payments.x', { ok: true })).status).toBe(202);
    expect((await postSubscription(t, token, { topic: '>', url: 'http://127.0.0.1:9/hook' })).status).toBe(201);
    expect((await postSubscription(t, token, { topic: 'payments.*', url: 'http://127.0.0.1:9/hook' })).status).toBe(201);
  });

  it('when a token reads a message on a topic none of its grants reach, then 404', async () => {
    const admin = t.token('admin', { sub: 'root' });
    const id = (await postMessage(t, admin, 'payments.secret', { ok: true })).body.id as string;
    await waitFor(async () => (await as(admin).get(`/v1/messages/${id}`)).status === 200, 'the message to be routed');
    expectProblem(await as(t.token('subscribe:orders.>', { sub: 'nosy' })).get(`/v1/messages/${id}`), 404, 'message.not_found');
    expect((await as(t.token('subscribe:payments.>', { sub: 'reader' })).get(`/v1/messages/${id}`)).status).toBe(200);
  });
});

describe('tenant isolation', () => {
  let receiverA: Receiver;
  let receiverB: Receiver;
  const tokenA = () => t.token('admin', { sub: 'admin-a', tenant: 'tenant-a' });
  const tokenB = () => t.token('admin', { sub: 'admin-b', tenant: 'tenant-b' });

  beforeAll(async () => {
    [receiverA, receiverB] = await Promise.all([t.receiver(), t.receiver()]);
  });

  const webhookIds = (r: Receiver) => r.requests.map((q) => q.headers['webhook-id']);

  it("when tenant B looks for tenant A's subscription, message and delivery, then each is 404 and B's message never reaches A's webhook", async () => {
    const subA = await postSubscription(t, tokenA(), { topic: 'iso.*', url: `${receiverA.url}/a` });
    const subB = await postSubscription(t, tokenB(), { topic: 'iso.*', url: `${receiverB.url}/b` });
    expect(subA.status).toBe(201);
    expect(subB.status).toBe(201);
    const idA = subA.body.id as string;
    const idB = subB.body.id as string;

    // Subscriptions: invisible, unchangeable and unlisted across tenants.
    const b = as(tokenB());
    expectProblem(await b.get(`/v1/subscriptions/${idA}`), 404, 'subscription.not_found');
    expectProblem(await b.patch(`/v1/subscriptions/${idA}`, { description: 'mine now' }), 404);
    expectProblem(await b.post(`/v1/subscriptions/${idA}/pause`), 404);
    expectProblem(await b.post(`/v1/subscriptions/${idA}/rotate-secret`), 404);
    expectProblem(await b.get(`/v1/subscriptions/${idA}/deliveries`), 404);
    expectProblem(await b.delete(`/v1/subscriptions/${idA}`), 404);
    expect(ids(await b.get('/v1/subscriptions?limit=200'))).toEqual([idB]);
    expect(ids(await as(tokenA()).get('/v1/subscriptions?limit=200'))).toEqual([idA]);
    const { rows: aRow } = await t.db.query('SELECT status, description, deleted_at FROM subscriptions WHERE id = $1', [idA]);
    expect(aRow[0]).toEqual({ status: 'active', description: null, deleted_at: null });

    // Positive control: A's own message reaches A's webhook.
    const mA = (await postMessage(t, tokenA(), 'iso.created', { from: 'a' })).body.id as string;
    await waitFor(() => webhookIds(receiverA).includes(mA), "A's message at A's webhook");
    const readA = await waitFor(async () => {
      const r = await as(tokenA()).get(`/v1/messages/${mA}`);
      return r.status === 200 && r.body.deliveries.length === 1 ? r : undefined;
    }, "A's message to be readable by A");
    expect(readA.body.data).toEqual({ from: 'a' });
    const deliveryA = readA.body.deliveries[0].id as string;
    expect(readA.body.deliveries[0].subscriptionId).toBe(idA);

    expectProblem(await b.get(`/v1/messages/${mA}`), 404, 'message.not_found');
    expectProblem(await b.get(`/v1/deliveries/${deliveryA}`), 404, 'delivery.not_found');

    // B publishes to the same topic: B's webhook gets it (so it was routed), A's does not.
    const mB = (await postMessage(t, tokenB(), 'iso.created', { from: 'b' })).body.id as string;
    await waitFor(() => webhookIds(receiverB).includes(mB), "B's message at B's webhook");
    await sleep(1000);
    expect(webhookIds(receiverA)).not.toContain(mB);
    expect(webhookIds(receiverB)).not.toContain(mA);
    const { rows } = await t.db.query('SELECT message_id, subscription_id, tenant FROM deliveries ORDER BY tenant');
    expect(rows.filter((r) => r.message_id === mB)).toEqual([{ message_id: mB, subscription_id: idB, tenant: 'tenant-b' }]);
    expect(rows.filter((r) => r.message_id === mA)).toEqual([{ message_id: mA, subscription_id: idA, tenant: 'tenant-a' }]);
    expectProblem(await as(tokenA()).get(`/v1/messages/${mB}`), 404);
  });
});

describe('owner scoping inside a tenant', () => {
  const alice = () => t.token('subscribe:team.>', { sub: 'alice', tenant: 'team' });
  const bob = () => t.token('subscribe:team.>', { sub: 'bob', tenant: 'team' });
  const boss = () => t.token('admin', { sub: 'boss', tenant: 'team' });

  it("when a non-admin looks for another's subscription in the same tenant, then it is 404 and unlisted; the tenant's admin sees both", async () => {
    const a = (await postSubscription(t, alice(), { topic: 'team.a', url: 'http://127.0.0.1:9/hook' })).body.id as string;
    const b = (await postSubscription(t, bob(), { topic: 'team.b', url: 'http://127.0.0.1:9/hook' })).body.id as string;
    expect(a).toBeDefined();
    expect(b).toBeDefined();

    expectProblem(await as(bob()).get(`/v1/subscriptions/${a}`), 404);
    expectProblem(await as(bob()).patch(`/v1/subscriptions/${a}`, { description: 'x' }), 404);
    expectProblem(await as(bob()).delete(`/v1/subscriptions/${a}`), 404);
    expect(ids(await as(bob()).get('/v1/subscriptions'))).toEqual([b]);
    expect(ids(await as(alice()).get('/v1/subscriptions'))).toEqual([a]);

    expect(ids(await as(boss()).get('/v1/subscriptions'))).toEqual([a, b]);
    expect((await as(boss()).get(`/v1/subscriptions/${a}`)).status).toBe(200);
    expect((await as(boss()).get(`/v1/subscriptions/${b}`)).status).toBe(200);
    expect((await as(alice()).get(`/v1/subscriptions/${a}`)).status).toBe(200);
  });
});

describe('logs', () => {
  const lines: string[] = [];
  const logged = withBroker({ LOG_LEVEL: 'trace' }, { logDestination: { write: (s: string) => void lines.push(s) } });

  it('when requests carry tokens and subscriptions carry secrets, then no log line contains a token, a secret or "Bearer"', async () => {
    const receiver = await logged.receiver(() => ({ status: 500, body: 'nope' }));
    const header = logged.token('admin', { sub: 'logger-1' });
    const query = logged.token('admin', { sub: 'logger-2' });
    const wrong = mintToken('0123456789abcdef0123456789abcdef-wrong', { sub: 'logger-3', scope: 'admin' });
    const http = logged.http;

    expect((await http().get('/v1/subscriptions').set('authorization', `Bearer ${header}`)).status).toBe(200);
    // Only stream routes take a query token; either way it must not be logged.
    expect((await http().get(`/v1/subscriptions?access_token=${query}`)).status).toBe(401);
    await http().get(`/v1/topics/logs.*/stream?access_token=${query}&from=0`).timeout(300).catch(() => {});
    expect((await http().get('/v1/subscriptions').set('authorization', `Bearer ${wrong}`)).status).toBe(401);
    await http().get(`/v1/subscriptions?access_token=${wrong}`);

    // Webhook URLs often carry a credential in their path or query; it must not be logged either.
    const created = await postSubscription(logged, header, { topic: 'logs.*', url: `${receiver.url}/hook/URLPATHSECRET?token=URLQUERYSECRET` });
    expect(created.status).toBe(201);
    const secret = created.body.secret as string;
    const rotated = await http()
      .post(`/v1/subscriptions/${created.body.id}/rotate-secret`)
      .set('authorization', `Bearer ${header}`);
    expect(rotated.status).toBe(200);
    const secret2 = rotated.body.secret as string;

    // Errors: a 404 and a 400 with the token in the header, then a failing delivery signed with both secrets.
    expect((await http().get('/v1/subscriptions/sub_missing').set('authorization', `Bearer ${header}`)).status).toBe(404);
    const bad = await http()
      .post('/v1/subscriptions')
      .set('authorization', `Bearer ${header}`)
      .set('content-type', 'application/json')
      .send('{"topic":');
    expect(bad.status).toBe(400);
    expect((await postSubscription(logged, header, { topic: 'logs.*', url: 'http://10.0.0.1/in/URLPATHSECRET2?token=URLQUERYSECRET2' })).status).toBe(400);
    expect((await postMessage(logged, header, 'logs.x', { hello: 'world' })).status).toBe(202);
    await waitFor(() => receiver.requests.length > 0, 'the delivery attempt');
    await sleep(300);

    const text = lines.join('');
    // The capture works: request lines are there.
    expect(text).toContain('request completed');
    expect(text).toContain('/v1/subscriptions');
    expect(text).toContain('"statusCode":401');
    for (const [what, value] of [
      ['header token', header],
      ['query token', query],
      ['rejected token', wrong],
      ['signature of the header token', header.split('.')[2]!],
      ['secret', secret],
      ['secret key', secret.slice('whsec_'.length)],
      ['rotated secret', secret2],
      ['rotated secret key', secret2.slice('whsec_'.length)],
      ['"Bearer"', 'Bearer'],
      ['access_token', 'access_token'],
      ['whsec_', 'whsec_'],
      ['webhook url path', 'URLPATHSECRET'],
      ['webhook url query', 'URLQUERYSECRET'],
    ]) {
      expect({ what, found: text.includes(value!) }).toEqual({ what, found: false });
    }
  });
});
