import { beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from 'nats';
import { TEST_NATS_URL } from '../helpers/isolated.js';
import type { Receiver } from '../helpers/receiver.js';
import { sleep, waitFor } from '../helpers/wait-for.js';
import { withBroker } from '../helpers/kit.js';

const hl = withBroker();

async function statuses(subscriptionId: string): Promise<Record<string, string>> {
  const { rows } = await hl.db.query('SELECT message_id, status FROM deliveries WHERE subscription_id = $1', [subscriptionId]);
  return Object.fromEntries(rows.map((r) => [r.message_id, r.status]));
}

const ids = (r: Receiver) => r.requests.map((q) => String(q.headers['webhook-id']));

describe('replay after an outage', () => {
  it('when a receiver was down and its deliveries died, then replay status=dead delivers exactly the missed messages, once each', async () => {
    let down = false;
    const r = await hl.receiver(() => ({ status: down ? 503 : 200 }));
    const bystander = await hl.receiver();
    const sub = await hl.subscribe({ topic: 'outage.orders', url: r.url, retry: { maxAttempts: 1 } });
    await hl.subscribe({ topic: 'outage.orders', url: bystander.url });
    const since = new Date(Date.now() - 1000).toISOString();

    const before = [];
    for (let i = 0; i < 3; i++) before.push((await hl.publish('outage.orders', { i, phase: 'before' })).id);
    await waitFor(() => r.requests.length === 3, 'the deliveries before the outage');
    down = true;
    const missed: string[] = [];
    for (let i = 0; i < 5; i++) missed.push((await hl.publish('outage.orders', { i, phase: 'during' })).id);
    await waitFor(async () => Object.values(await statuses(sub.id)).filter((s) => s === 'dead').length === 5, 'five dead deliveries');
    down = false;
    const after = [];
    for (let i = 0; i < 2; i++) after.push((await hl.publish('outage.orders', { i, phase: 'after' })).id);
    await waitFor(() => r.requests.length === 10, 'the deliveries after the outage');
    await waitFor(() => bystander.requests.length === 10, 'the bystander');

    const dry = await hl.http().post(`/v1/subscriptions/${sub.id}/replay`).set(hl.auth).send({ since, status: 'dead', dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, count: 5, created: 0, resent: 5, alreadyPending: 0, notRetained: 0 });
    await sleep(300);
    expect(r.requests).toHaveLength(10);

    const res = await hl.http().post(`/v1/subscriptions/${sub.id}/replay`).set(hl.auth).send({ since, status: 'dead' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ dryRun: false, count: 5, created: 0, resent: 5 });
    await waitFor(() => r.requests.length === 15, 'the five replayed deliveries');
    await sleep(500);
    const replayed = r.requests.slice(10);
    expect(r.requests).toHaveLength(15);
    expect(replayed.map((q) => String(q.headers['webhook-id'])).sort()).toEqual([...missed].sort());
    expect(replayed.every((q) => q.headers['hookline-attempt'] === '2')).toBe(true);
    expect(bystander.requests).toHaveLength(10);
    // The subscription is not ordered: the three sent before the outage came first, in any order.
    expect(ids(r).slice(0, 3).sort()).toEqual([...before].sort());
    await waitFor(async () => Object.values(await statuses(sub.id)).every((s) => s === 'succeeded'), 'every delivery to succeed');
    const { rows } = await hl.db.query(
      `SELECT a.n, a.status_code FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
       WHERE d.message_id = $1 AND d.subscription_id = $2 ORDER BY a.n`,
      [missed[0], sub.id],
    );
    expect(rows).toEqual([
      { n: 1, status_code: 503 },
      { n: 2, status_code: 200 },
    ]);

    // Nothing is dead any more: a second replay of the dead finds nothing.
    const again = await hl.http().post(`/v1/subscriptions/${sub.id}/replay`).set(hl.auth).send({ since, status: 'dead' });
    expect(again.body).toMatchObject({ count: 0 });
    // Without a status every delivered message would be sent again.
    const everything = await hl.http().post(`/v1/subscriptions/${sub.id}/replay`).set(hl.auth).send({ since, dryRun: true });
    expect(everything.body).toMatchObject({ count: 10, resent: 10, created: 0 });
  });
});

describe('replay of messages the subscription never had', () => {
  it('when a subscription is created after messages were published, then replay creates deliveries for those in the window that match its filter', async () => {
    const early = await hl.receiver();
    await hl.subscribe({ topic: 'late.>', url: early.url });
    const since = new Date(Date.now() - 1000).toISOString();
    const m1 = await hl.publish('late.orders', { kind: 'a' });
    const m2 = await hl.publish('late.orders', { kind: 'b' });
    const m3 = await hl.publish('late.other', { kind: 'a' });
    await sleep(50);
    const cut = new Date().toISOString();
    await sleep(50);
    const m4 = await hl.publish('late.orders', { kind: 'a' });
    await hl.routed(m4.id);

    const r = await hl.receiver();
    const sub = await hl.subscribe({ topic: 'late.*', url: r.url, filter: { path: 'kind', eq: 'a' } });
    const dry = await hl.http().post(`/v1/subscriptions/${sub.id}/replay`).set(hl.auth).send({ since, until: cut, dryRun: true });
    expect(dry.body).toMatchObject({ count: 2, created: 2, resent: 0 });

    const res = await hl.http().post(`/v1/subscriptions/${sub.id}/replay`).set(hl.auth).send({ since, until: cut });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ count: 2, created: 2 });
    await waitFor(() => r.requests.length === 2, 'the two replayed messages');
    await sleep(300);
    expect(ids(r).sort()).toEqual([m1.id, m3.id].sort());
    expect(r.requests.every((q) => q.headers['hookline-attempt'] === '1')).toBe(true);
    expect(Object.keys(await statuses(sub.id)).sort()).toEqual([m1.id, m3.id].sort());
    expect(ids(r)).not.toContain(m2.id);

    // Replayed again while those deliveries are settled: they are re-sent, not duplicated as new rows.
    await waitFor(async () => Object.values(await statuses(sub.id)).every((s) => s === 'succeeded'), 'settled');
    const second = await hl.http().post(`/v1/subscriptions/${sub.id}/replay`).set(hl.auth).send({ since, until: cut, dryRun: true });
    expect(second.body).toMatchObject({ count: 2, created: 0, resent: 2 });
  });
});

describe('POST /v1/deliveries/:id/retry', () => {
  it('when a dead delivery is retried, then one new attempt is made, numbered after the earlier ones', async () => {
    let fixed = false;
    const r = await hl.receiver(() => ({ status: fixed ? 200 : 500 }));
    const sub = await hl.subscribe({ topic: 'retry.dead', url: r.url, retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 } });
    const msg = await hl.publish('retry.dead', { x: 1 });
    await waitFor(async () => (await statuses(sub.id))[msg.id] === 'dead', 'the delivery to die');
    const { rows } = await hl.db.query('SELECT id FROM deliveries WHERE message_id = $1', [msg.id]);
    const id = rows[0].id as string;
    fixed = true;

    const res = await hl.http().post(`/v1/deliveries/${id}/retry`).set(hl.auth);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id, status: 'pending', attemptCount: 2 });
    await waitFor(async () => (await statuses(sub.id))[msg.id] === 'succeeded', 'the retry to succeed');
    expect(r.requests.map((q) => q.headers['hookline-attempt'])).toEqual(['1', '2', '3']);
    const detail = await hl.http().get(`/v1/deliveries/${id}`).set(hl.auth);
    expect(detail.body.attempts.map((a: { n: number; statusCode: number }) => [a.n, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);

    // A delivered one may be sent again on request, too.
    const resend = await hl.http().post(`/v1/deliveries/${id}/retry`).set(hl.auth);
    expect(resend.status).toBe(202);
    await waitFor(() => r.requests.length === 4, 'the re-send');
    expect(r.requests[3]!.headers['hookline-attempt']).toBe('4');
  });

  it('when a delivery is still pending, then retry answers 409 and changes nothing', async () => {
    const r = await hl.receiver();
    const sub = await hl.subscribe({ topic: 'retry.pending', url: r.url });
    await hl.http().post(`/v1/subscriptions/${sub.id}/pause`).set(hl.auth).expect(200);
    const msg = await hl.publish('retry.pending', { x: 1 });
    await hl.routed(msg.id);
    const { rows } = await hl.db.query('SELECT id FROM deliveries WHERE message_id = $1', [msg.id]);
    const res = await hl.http().post(`/v1/deliveries/${rows[0].id}/retry`).set(hl.auth);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('delivery.already_pending');
    await sleep(300);
    expect(r.requests).toHaveLength(0);
  });

  it('when the delivery is unknown or another tenant\'s, then retry answers 404', async () => {
    const res = await hl.http().post('/v1/deliveries/dlv_NOPE/retry').set(hl.auth);
    expect(res.status).toBe(404);
    const r = await hl.receiver(() => ({ status: 500 }));
    const sub = await hl.subscribe({ topic: 'retry.tenant', url: r.url, retry: { maxAttempts: 1 } });
    const msg = await hl.publish('retry.tenant', { x: 1 });
    await waitFor(async () => (await statuses(sub.id))[msg.id] === 'dead', 'the delivery to die');
    const { rows } = await hl.db.query('SELECT id FROM deliveries WHERE message_id = $1', [msg.id]);
    const other = { authorization: `Bearer ${hl.token('admin', { tenant: 'other' })}` };
    expect((await hl.http().post(`/v1/deliveries/${rows[0].id}/retry`).set(other)).status).toBe(404);
  });
});

describe('replay validation and bounds', () => {
  let subId: string;
  beforeAll(async () => {
    subId = (await hl.subscribe({ topic: 'bounds.x', url: 'http://127.0.0.1:9/' })).id;
  });

  it('when since is missing or not a date, or status is pending, then 400 names the field', async () => {
    let res = await hl.http().post(`/v1/subscriptions/${subId}/replay`).set(hl.auth).send({});
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('since');
    res = await hl.http().post(`/v1/subscriptions/${subId}/replay`).set(hl.auth).send({ since: 'yesterday' });
    expect(res.body.detail).toMatch(/since: must be an ISO 8601 date-time/);
    res = await hl.http().post(`/v1/subscriptions/${subId}/replay`).set(hl.auth).send({ since: new Date().toISOString(), status: 'pending' });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/status: must be failed, succeeded or dead/);
  });

  it('when the window is empty, inverted or longer than 31 days, then 400 says so', async () => {
    const now = Date.now();
    let res = await hl
      .http()
      .post(`/v1/subscriptions/${subId}/replay`)
      .set(hl.auth)
      .send({ since: new Date(now).toISOString(), until: new Date(now - 1000).toISOString() });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('replay.invalid_window');
    res = await hl.http().post(`/v1/subscriptions/${subId}/replay`).set(hl.auth).send({ since: new Date(now - 32 * 86_400_000).toISOString() });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('replay.window_too_long');
    expect(res.body.detail).toMatch(/31 days/);
  });

  it('when the window holds more than 100000 candidate messages, then 400 says the limit and nothing is created', async () => {
    await hl.db.query(
      `INSERT INTO messages (id, tenant, topic, stream_seq, published_at)
       SELECT 'msg_' || hookline_ulid_time((extract(epoch FROM now()) * 1000)::bigint - 60000) || lpad(g::text, 16, '0'),
         'default', 'bounds.x', 1000000 + g, now() - interval '1 minute'
       FROM generate_series(1, 100001) g`,
    );
    try {
      const res = await hl
        .http()
        .post(`/v1/subscriptions/${subId}/replay`)
        .set(hl.auth)
        .send({ since: new Date(Date.now() - 3600_000).toISOString() });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('replay.too_many');
      expect(res.body.detail).toMatch(/at most 100000 per call/);
      const { rows } = await hl.db.query('SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1', [subId]);
      expect(rows[0].n).toBe(0);
    } finally {
      await hl.db.query("DELETE FROM messages WHERE id LIKE 'msg_bulk%'");
    }
  });

  it('when a poll subscription is replayed, then 400 says replay is for webhooks', async () => {
    const poll = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'bounds.poll', type: 'poll' });
    expect(poll.status).toBe(201);
    const res = await hl.http().post(`/v1/subscriptions/${poll.body.id}/replay`).set(hl.auth).send({ since: new Date().toISOString() });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('replay.unsupported');
  });
});

describe('retention', () => {
  // Last in the file: it purges the head of this file's MESSAGES stream.
  it('when the stream no longer retains a message, then replay counts it as not retained and retry answers 409', async () => {
    const r = await hl.receiver(() => ({ status: 500 }));
    const sub = await hl.subscribe({ topic: 'gone.one', url: r.url, retry: { maxAttempts: 1 } });
    const since = new Date(Date.now() - 1000).toISOString();
    const old = await hl.publish('gone.one', { x: 'old' });
    const kept = await hl.publish('gone.one', { x: 'kept' });
    await waitFor(async () => Object.values(await statuses(sub.id)).filter((s) => s === 'dead').length === 2, 'both to die');
    const { rows } = await hl.db.query('SELECT id, message_id, stream_seq FROM deliveries WHERE subscription_id = $1', [sub.id]);
    const keptSeq = Number(rows.find((x) => x.message_id === kept.id).stream_seq);
    const nc = await connect({ servers: TEST_NATS_URL });
    try {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.purge(hl.broker.names.messagesStream, { seq: keptSeq });
    } finally {
      await nc.close();
    }
    const res = await hl.http().post(`/v1/subscriptions/${sub.id}/replay`).set(hl.auth).send({ since, status: 'dead', dryRun: true });
    expect(res.body).toMatchObject({ count: 1, resent: 1, notRetained: 1 });
    const oldDelivery = rows.find((x) => x.message_id === old.id).id;
    const retry = await hl.http().post(`/v1/deliveries/${oldDelivery}/retry`).set(hl.auth);
    expect(retry.status).toBe(409);
    expect(retry.body.code).toBe('delivery.message_expired');
  });
});
