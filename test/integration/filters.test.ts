import { describe, expect, it } from '@jest/globals';
import { sleep, waitFor } from '../helpers/wait-for.js';
import { withBroker } from '../helpers/kit.js';

const hl = withBroker();

const paidFilter = { and: [{ path: 'order.status', eq: 'paid' }, { path: 'order.total', gte: 100 }] };

describe('subscription filters', () => {
  it('when a subscription has a filter, then only matching messages are delivered and others get no delivery row', async () => {
    const filtered = await hl.receiver();
    const all = await hl.receiver();
    const sub = await hl.subscribe({ topic: 'shop.orders', url: filtered.url, filter: paidFilter });
    expect(sub.filter).toEqual(paidFilter);
    await hl.subscribe({ topic: 'shop.orders', url: all.url });

    const match = await hl.publish('shop.orders', { order: { status: 'paid', total: 150 } });
    const cheap = await hl.publish('shop.orders', { order: { status: 'paid', total: 20 } });
    const unpaid = await hl.publish('shop.orders', { order: { status: 'open', total: 500 } });
    const scalar = await hl.publish('shop.orders', 'just a string');

    await waitFor(() => all.requests.length === 4, 'the unfiltered subscription to get all four');
    await hl.routed(scalar.id);
    await sleep(300);
    expect(filtered.requests.map((r) => r.headers['webhook-id'])).toEqual([match.id]);
    const { rows } = await hl.db.query('SELECT message_id FROM deliveries WHERE subscription_id = $1', [sub.id]);
    expect(rows.map((r) => r.message_id)).toEqual([match.id]);
    for (const m of [cheap, unpaid, scalar]) {
      const res = await hl.http().get(`/v1/messages/${m.id}`).set(hl.auth);
      expect(res.body.deliveries.map((d: { subscriptionId: string }) => d.subscriptionId)).not.toContain(sub.id);
    }
  });

  it('when a filter is invalid, then create answers 400 problem+json naming each offending place', async () => {
    const res = await hl
      .http()
      .post('/v1/subscriptions')
      .set(hl.auth)
      .send({ topic: 'x.y', url: 'http://127.0.0.1:9/', filter: { or: [{ path: 'a', gt: 'ten' }, { path: 'b', like: 'x%' }] } });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('subscription.invalid');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['filter.or.0.gt', 'filter.or.1.like']);
    expect(res.body.detail).toMatch(/filter\.or\.0\.gt: must be a number, not a string/);
    const { rows } = await hl.db.query("SELECT count(*)::int AS n FROM subscriptions WHERE topic = 'x.y'");
    expect(rows[0].n).toBe(0);
  });

  it('when a filter nests too deep, then create answers 400 saying the bound', async () => {
    let deep: unknown = { path: 'a', exists: true };
    for (let i = 0; i < 10; i++) deep = { not: deep };
    const res = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'x.deep', url: 'http://127.0.0.1:9/', filter: deep });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/nest at most 8 levels/);
  });

  it('when a filter is set on a poll subscription, then it is refused as webhook-only', async () => {
    const res = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'x.poll', type: 'poll', filter: paidFilter });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/filter .*webhook subscriptions only/);
  });

  it('when PATCH sets, changes and clears a filter, then routing follows each change', async () => {
    const r = await hl.receiver();
    const sub = await hl.subscribe({ topic: 'patch.f', url: r.url });

    let res = await hl.http().patch(`/v1/subscriptions/${sub.id}`).set(hl.auth).send({ filter: { path: 'kind', in: ['a', 'b'] } });
    expect(res.status).toBe(200);
    expect(res.body.filter).toEqual({ path: 'kind', in: ['a', 'b'] });
    const a = await hl.publish('patch.f', { kind: 'a' });
    const c = await hl.publish('patch.f', { kind: 'c' });
    await waitFor(() => r.requests.length === 1, 'the matching message');
    await hl.routed(c.id);

    res = await hl.http().patch(`/v1/subscriptions/${sub.id}`).set(hl.auth).send({ filter: { path: 'kind', eq: 'c' } });
    expect(res.status).toBe(200);
    const c2 = await hl.publish('patch.f', { kind: 'c' });
    await waitFor(() => r.requests.length === 2, 'the message matching the new filter');

    res = await hl.http().patch(`/v1/subscriptions/${sub.id}`).set(hl.auth).send({ filter: null });
    expect(res.status).toBe(200);
    expect(res.body.filter).toBeUndefined();
    const z = await hl.publish('patch.f', { kind: 'z' });
    await waitFor(() => r.requests.length === 3, 'the message after the filter was cleared');
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual([a.id, c2.id, z.id]);

    res = await hl.http().patch(`/v1/subscriptions/${sub.id}`).set(hl.auth).send({ filter: { path: 'kind' } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('filter');
  });
});

describe('POST /v1/subscriptions/:id/test-filter', () => {
  it('when a sample payload is tested against the saved filter, then the answer says whether it matches', async () => {
    const sub = await hl.subscribe({ topic: 'tf.one', url: 'http://127.0.0.1:9/', filter: paidFilter });
    const yes = await hl.http().post(`/v1/subscriptions/${sub.id}/test-filter`).set(hl.auth).send({ payload: { order: { status: 'paid', total: 100 } } });
    expect(yes.status).toBe(200);
    expect(yes.body).toEqual({ matches: true });
    const no = await hl.http().post(`/v1/subscriptions/${sub.id}/test-filter`).set(hl.auth).send({ payload: { order: { status: 'paid', total: 99.99 } } });
    expect(no.body).toEqual({ matches: false });
  });

  it('when a filter is sent along, then it is tried instead of the saved one and nothing is saved', async () => {
    const sub = await hl.subscribe({ topic: 'tf.two', url: 'http://127.0.0.1:9/', filter: paidFilter });
    const res = await hl
      .http()
      .post(`/v1/subscriptions/${sub.id}/test-filter`)
      .set(hl.auth)
      .send({ filter: { path: 'order.status', eq: 'open' }, payload: { order: { status: 'open' } } });
    expect(res.body).toEqual({ matches: true });
    const again = await hl.http().get(`/v1/subscriptions/${sub.id}`).set(hl.auth);
    expect(again.body.filter).toEqual(paidFilter);
    const none = await hl.http().post(`/v1/subscriptions/${sub.id}/test-filter`).set(hl.auth).send({ filter: null, payload: 1 });
    expect(none.body).toEqual({ matches: true });
  });

  it('when the subscription has no filter, then every payload matches', async () => {
    const sub = await hl.subscribe({ topic: 'tf.three', url: 'http://127.0.0.1:9/' });
    const res = await hl.http().post(`/v1/subscriptions/${sub.id}/test-filter`).set(hl.auth).send({ payload: null });
    expect(res.body).toEqual({ matches: true });
  });

  it('when the tried filter is invalid or payload is missing, then 400 says so', async () => {
    const sub = await hl.subscribe({ topic: 'tf.four', url: 'http://127.0.0.1:9/' });
    const bad = await hl.http().post(`/v1/subscriptions/${sub.id}/test-filter`).set(hl.auth).send({ filter: { path: 'a', in: 'x' }, payload: {} });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'filter.invalid', errors: [{ path: 'filter.in' }] });
    const missing = await hl.http().post(`/v1/subscriptions/${sub.id}/test-filter`).set(hl.auth).send({ filter: { path: 'a', eq: 1 } });
    expect(missing.status).toBe(400);
    expect(missing.body.detail).toMatch(/payload/);
  });

  it('when another tenant asks, then the subscription does not exist for it', async () => {
    const sub = await hl.subscribe({ topic: 'tf.five', url: 'http://127.0.0.1:9/' });
    const other = { authorization: `Bearer ${hl.token('admin', { tenant: 'other' })}` };
    const res = await hl.http().post(`/v1/subscriptions/${sub.id}/test-filter`).set(other).send({ payload: {} });
    expect(res.status).toBe(404);
  });
});
