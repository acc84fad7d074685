import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { WebSocket } from 'ws';
import { bearer, postSubscription, withBroker, type Api, type Replica } from '../helpers/kit.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * What one principal of a tenant may see of another's work (deliveries of subscriptions it does not own),
 * and the per-tenant quotas on subscriptions, poll subscriptions and open live streams, shared by every
 * api replica (here: two brokers on one database and stream prefix).
 */

const QUOTAS = {
  HOOKLINE_TENANT_MAX_SUBSCRIPTIONS: '4',
  HOOKLINE_TENANT_MAX_POLL_SUBSCRIPTIONS: '2',
  HOOKLINE_TENANT_MAX_STREAMS: '2',
};
const hl = withBroker(QUOTAS);
let replica: Replica;

beforeAll(async () => {
  replica = await hl.replica({ ...QUOTAS, HOOKLINE_ROLES: 'api' });
});

describe('deliveries a non-owner sees', () => {
  it('when a publisher reads its message, then it sees only deliveries of subscriptions it owns; an admin sees all', async () => {
    const tenant = 'leaky';
    const alice = hl.token('subscribe:leak.>', { sub: 'alice', tenant });
    const bob = hl.token('publish:leak.a subscribe:leak.a', { sub: 'bob', tenant });
    const admin = hl.token('admin', { sub: 'ops', tenant });
    const hers = await hl.subscribe({ topic: 'leak.>', url: 'http://127.0.0.1:9/private' }, alice);
    const his = await hl.subscribe({ topic: 'leak.a', type: 'poll' }, bob);
    const pub = await hl.publish('leak.a', { x: 1 }, bob);
    const all = await waitFor(async () => {
      const r = await hl.http().get(`/v1/messages/${pub.id}`).set(bearer(admin));
      return r.status === 200 && r.body.deliveries.length === 2 ? r.body : undefined;
    }, 'both deliveries');
    expect(all.deliveries.map((d: { subscriptionId: string }) => d.subscriptionId).sort()).toEqual([hers.id, his.id].sort());

    const asBob = await hl.http().get(`/v1/messages/${pub.id}`).set(bearer(bob));
    expect(asBob.status).toBe(200);
    expect(asBob.body.deliveries.map((d: { subscriptionId: string }) => d.subscriptionId)).toEqual([his.id]);
    expect(asBob.text).not.toContain(hers.id);
    expect(asBob.text).not.toContain('127.0.0.1:9');

    const asAlice = await hl.http().get(`/v1/messages/${pub.id}`).set(bearer(alice));
    expect(asAlice.body.deliveries.map((d: { subscriptionId: string }) => d.subscriptionId)).toEqual([hers.id]);

    // Where deliveries are counted rather than listed, the same rule: a message list and a batch summary.
    const summary = (token: string) => hl.http().get(`/v1/messages?ids=${pub.id}`).set(bearer(token));
    expect((await summary(admin)).body.counts.total).toBe(2);
    expect((await summary(bob)).body.counts.total).toBe(1);
    const listed = await hl.http().get('/v1/messages?topic=leak.a').set(bearer(bob));
    expect(listed.body.items).toEqual([expect.objectContaining({ id: pub.id, deliveries: expect.objectContaining({ total: 1 }) })]);
  });
});

describe('per-tenant quotas', () => {
  it('when a tenant reaches its poll and subscription quotas, then more are refused with 403 on every replica, other tenants unaffected', async () => {
    const tenant = 'quota-subs';
    const user = hl.token('subscribe:q.>', { sub: 'user', tenant });
    const create = (broker: Api, body: Record<string, unknown>) => postSubscription(broker, user, { topic: 'q.a', ...body });
    expect((await create(hl, { type: 'poll' })).status).toBe(201);
    expect((await create(replica, { type: 'poll' })).status).toBe(201);
    const thirdPoll = await create(replica, { type: 'poll' });
    expect(thirdPoll.status).toBe(403);
    expect(thirdPoll.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(thirdPoll.body).toMatchObject({ code: 'quota.exceeded', quota: 'pollSubscriptions', limit: 2 });

    expect((await create(hl, { url: 'http://127.0.0.1:9/a' })).status).toBe(201);
    expect((await create(replica, { url: 'http://127.0.0.1:9/b' })).status).toBe(201);
    const fifth = await create(hl, { url: 'http://127.0.0.1:9/c' });
    expect(fifth.status).toBe(403);
    expect(fifth.body).toMatchObject({ code: 'quota.exceeded', quota: 'subscriptions', limit: 4 });
    const listed = await hl.http().get('/v1/subscriptions').set(bearer(user));
    expect(listed.body.items).toHaveLength(4);

    const other = hl.token('subscribe:q.>', { sub: 'user', tenant: 'quota-other' });
    await hl.subscribe({ topic: 'q.a', type: 'poll' }, other);

    // A deleted subscription frees its place.
    await hl.http().delete(`/v1/subscriptions/${listed.body.items[3].id}`).set(bearer(user)).expect(204);
    expect((await create(hl, { url: 'http://127.0.0.1:9/d' })).status).toBe(201);
  });

  it('when an admin overrides a quota in tenant settings, then it applies to that tenant; null restores the default', async () => {
    const tenant = 'quota-override';
    const admin = hl.token('admin', { sub: 'ops', tenant });
    const user = hl.token('subscribe:q.>', { sub: 'user', tenant });
    const shown = await hl.http().get('/v1/tenant/settings').set(bearer(user));
    expect(shown.status).toBe(200);
    expect(shown.body.quotas).toEqual({
      subscriptions: { limit: 4, source: 'default' },
      pollSubscriptions: { limit: 2, source: 'default' },
      streams: { limit: 2, source: 'default' },
    });
    expect((await hl.http().patch('/v1/tenant/settings').set(bearer(user)).send({ quotas: { pollSubscriptions: 3 } })).status).toBe(403);
    const bad = await hl.http().patch('/v1/tenant/settings').set(bearer(admin)).send({ quotas: { pollSubscriptions: -1 } });
    expect(bad.status).toBe(400);
    const set = await hl.http().patch('/v1/tenant/settings').set(bearer(admin)).send({ quotas: { pollSubscriptions: 3 } });
    expect(set.status).toBe(200);
    expect(set.body.quotas.pollSubscriptions).toEqual({ limit: 3, source: 'tenant' });
    expect(set.body.quotas.subscriptions).toEqual({ limit: 4, source: 'default' });
    for (let i = 0; i < 3; i++) {
      await hl.subscribe({ topic: 'q.a', type: 'poll' }, user);
    }
    expect((await postSubscription(hl, user, { topic: 'q.a', type: 'poll' })).status).toBe(403);
    const reset = await hl.http().patch('/v1/tenant/settings').set(bearer(admin)).send({ quotas: { pollSubscriptions: null } });
    expect(reset.body.quotas.pollSubscriptions).toEqual({ limit: 2, source: 'default' });
  });

  it('when a tenant holds its quota of open streams across replicas, then another SSE or WebSocket is refused with 429 until one closes', async () => {
    const tenant = 'quota-streams';
    const user = hl.token('subscribe:s.>', { sub: 'user', tenant });
    const open: ClientRequest[] = [];
    const sse = (broker: Replica) =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpRequest(`${broker.baseUrl}/v1/topics/s.a/stream`, { headers: bearer(user) }, resolve);
        req.on('error', () => {});
        setTimeout(() => reject(new Error('no answer')), 5000).unref();
        open.push(req);
        req.end();
      });
    try {
      expect((await sse(hl)).statusCode).toBe(200);
      expect((await sse(replica)).statusCode).toBe(200);
      const third = await sse(hl);
      expect(third.statusCode).toBe(429);
      expect(third.headers['content-type']).toMatch(/application\/problem\+json/);
      const ws = new WebSocket(`${replica.baseUrl.replace('http', 'ws')}/v1/ws`, { headers: bearer(user) });
      const refused = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
      expect(refused).toBe(429);
      // Another tenant is not affected.
      const other = hl.token('subscribe:s.>', { sub: 'user', tenant: 'quota-streams-2' });
      const elsewhere = await new Promise<IncomingMessage>((resolve) => {
        const req = httpRequest(`${hl.baseUrl}/v1/topics/s.a/stream`, { headers: bearer(other) }, resolve);
        req.on('error', () => {});
        open.push(req);
        req.end();
      });
      expect(elsewhere.statusCode).toBe(200);
      open[0]!.destroy();
      await waitFor(async () => {
        const again = await sse(replica);
        return again.statusCode === 200;
      }, 'a place to free up after a stream closed');
    } finally {
      for (const r of open) r.destroy();
    }
  });
});
