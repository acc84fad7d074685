import { request as httpRequest } from 'node:http';
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { JetStreamManager } from 'nats';
import type { PolledMessage as Polled } from '../../shared/client/index.js';
import { sleep, waitFor } from '../helpers/wait-for.js';
import { bearer, expectProblem, postSubscription, subscribe, withBroker, type Api } from '../helpers/kit.js';

/**
 * Poll subscriptions against the real NATS and Postgres: the durable consumer behind each, long polls,
 * ack timeouts and nacks, competing pollers, dead messages, ack-id binding, restarts.
 * Every test works on topics of its own (`p<n>.…`) so the tests of this file never see each other's messages.
 */

const TENANT = 'acme';
const t = withBroker({}, { admin: { sub: 'ops', tenant: TENANT } });

let jsm: JetStreamManager;
let area = 0;

beforeAll(async () => {
  jsm = await t.broker.nc.jetstreamManager();
});

/** A topic prefix no other test uses. */
const fresh = () => `p${++area}`;

async function createPoll(topic: string, extra: Record<string, unknown> = {}, token = t.admin, broker: Api = t) {
  const created = await subscribe(broker, token, { topic, type: 'poll', ...extra });
  return created as typeof created & { ackTimeoutMs: number; maxAttempts: number; type: string };
}

async function poll(id: string, q: { max?: number; wait?: number } = {}, token = t.admin, broker: Api = t): Promise<Polled[]> {
  const res = await broker.http().get(`/v1/subscriptions/${id}/messages`).query(q).set(bearer(token));
  expect(res.status).toBe(200);
  return res.body.messages as Polled[];
}

const ack = (id: string, ackIds: string[], token = t.admin) =>
  t.http().post(`/v1/subscriptions/${id}/ack`).set(bearer(token)).send({ ackIds });
const nack = (id: string, ackIds: string[], delayMs?: number) =>
  t.http().post(`/v1/subscriptions/${id}/nack`).set(t.auth).send({ ackIds, ...(delayMs !== undefined ? { delayMs } : {}) });

describe('poll subscriptions', () => {
  it('when a poll subscription is created, then it shows its ack timeout and attempts and a durable consumer filters its pattern', async () => {
    const topic = `${fresh()}.orders.*`;
    const sub = await createPoll(topic, { ackTimeoutMs: 4000, maxAttempts: 3 });
    expect(sub).toMatchObject({ type: 'poll', topic, ackTimeoutMs: 4000, maxAttempts: 3 });

    const ci = await jsm.consumers.info(t.broker.names.messagesStream, t.broker.names.pollConsumer(sub.id));
    expect(ci.config).toMatchObject({
      durable_name: `poll_${sub.id}`,
      filter_subject: t.broker.names.messageFilter(TENANT, topic),
      ack_wait: 4000 * 1e6,
      ack_policy: 'explicit',
    });
    const got = await t.http().get(`/v1/subscriptions/${sub.id}`).set(t.auth);
    expect(got.body).toMatchObject({ ackTimeoutMs: 4000, maxAttempts: 3 });

    const webhook = await t.http().post('/v1/subscriptions').set(t.auth)
      .send({ topic, url: 'http://127.0.0.1:9/x', ackTimeoutMs: 4000 });
    expectProblem(webhook, 400, 'subscription.invalid');
    const tooShort = await t.http().post('/v1/subscriptions').set(t.auth).send({ topic, type: 'poll', ackTimeoutMs: 10 });
    expectProblem(tooShort, 400, 'subscription.invalid');
  });

  it('when messages were published before the 201, then a poll hands out only those published after it', async () => {
    const area = fresh();
    await t.publish(`${area}.a`, { n: 'before' });
    const sub = await createPoll(`${area}.*`);
    const after = (await t.publish(`${area}.a`, { n: 'after' })).id;
    const got = await poll(sub.id, { max: 10, wait: 2 });
    expect(got.map((m) => m.id)).toEqual([after]);
    expect(got[0]).toMatchObject({ topic: `${area}.a`, data: { n: 'after' }, attempt: 1 });
    expect(typeof got[0]!.ackId).toBe('string');
    expect(Date.parse(got[0]!.publishedAt)).not.toBeNaN();
  });

  it('when a backlog is paged with max, then each poll returns at most max, in publish order, until it is empty', async () => {
    const area = fresh();
    const sub = await createPoll(`${area}.>`);
    const ids = await t.publishBatch(`${area}.x`, Array.from({ length: 25 }, (_, i) => ({ i })));
    const pages: string[][] = [];
    for (let i = 0; i < 4; i++) {
      const page = await poll(sub.id, { max: 10 });
      pages.push(page.map((m) => m.id));
      if (page.length) expect((await ack(sub.id, page.map((m) => m.ackId))).status).toBe(200);
    }
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5, 0]);
    expect(pages.flat()).toEqual(ids);

    expectProblem(await t.http().get(`/v1/subscriptions/${sub.id}/messages?max=1001`).set(t.auth), 400, 'poll.invalid_query');
    expectProblem(await t.http().get(`/v1/subscriptions/${sub.id}/messages?wait=31`).set(t.auth), 400, 'poll.invalid_query');
    expectProblem(await t.http().get(`/v1/subscriptions/${sub.id}/messages?max=0`).set(t.auth), 400, 'poll.invalid_query');
  });

  it('when a poll is waiting and a message is published, then it answers well under a second after the publish', async () => {
    const area = fresh();
    const sub = await createPoll(`${area}.*`);
    const waiting = poll(sub.id, { max: 10, wait: 5 }).then((m) => ({ m, at: Date.now() }));
    await sleep(300);
    const publishedAt = Date.now();
    const id = (await t.publish(`${area}.go`, { go: true })).id;
    const { m, at } = await waiting;
    expect(m.map((x) => x.id)).toEqual([id]);
    expect(at - publishedAt).toBeLessThan(1000);
  });

  it('when nothing is published during the wait, then the poll answers an empty list once the wait runs out', async () => {
    const sub = await createPoll(`${fresh()}.*`);
    const started = Date.now();
    expect(await poll(sub.id, { wait: 1 })).toEqual([]);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(3000);
  });

  it('when a long-polling client hangs up, then a message published after that goes to the next poller at once, first attempt', async () => {
    const area = fresh();
    const sub = await createPoll(`${area}.*`);
    const url = new URL(`/v1/subscriptions/${sub.id}/messages?wait=10`, t.baseUrl);
    const req = httpRequest(url, { headers: t.auth });
    req.on('error', () => {});
    req.end();
    await sleep(300);
    req.destroy();
    await sleep(300);
    const id = (await t.publish(`${area}.x`, { late: true })).id;
    const got = await poll(sub.id, { wait: 2 });
    expect(got.map((m) => [m.id, m.attempt])).toEqual([[id, 1]]);
  });

  it('when a handed-out message is not acked within ackTimeoutMs, then it comes back with a higher attempt', async () => {
    const area = fresh();
    const sub = await createPoll(`${area}.*`, { ackTimeoutMs: 1000 });
    const id = (await t.publish(`${area}.x`, { v: 1 })).id;
    const first = await poll(sub.id, { wait: 2 });
    expect(first.map((m) => [m.id, m.attempt])).toEqual([[id, 1]]);
    expect(await poll(sub.id)).toEqual([]);
    const started = Date.now();
    const again = await poll(sub.id, { wait: 5 });
    expect(again.map((m) => [m.id, m.attempt])).toEqual([[id, 2]]);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(again[0]!.ackId).not.toBe(first[0]!.ackId);
    expect((await ack(sub.id, [again[0]!.ackId])).status).toBe(200);
    await sleep(1300);
    expect(await poll(sub.id)).toEqual([]);
  });

  it('when a message is nacked with a delay, then it comes back after the delay with attempt 2, and not before', async () => {
    const area = fresh();
    const sub = await createPoll(`${area}.*`);
    const id = (await t.publish(`${area}.x`, { v: 1 })).id;
    const [m] = await poll(sub.id, { wait: 2 });
    const res = await nack(sub.id, [m!.ackId], 1500);
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([{ ackId: m!.ackId, messageId: id, status: 'nacked' }]);
    const nackedAt = Date.now();
    expect(await poll(sub.id)).toEqual([]);
    const again = await poll(sub.id, { wait: 5 });
    expect(again.map((x) => [x.id, x.attempt])).toEqual([[id, 2]]);
    expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(1200);

    const delivery = await t.db.query('SELECT status, attempt_count FROM deliveries WHERE message_id = $1', [id]);
    expect(delivery.rows).toEqual([{ status: 'failed', attempt_count: 2 }]);
    expectProblem(await nack(sub.id, [again[0]!.ackId], 4_000_000), 400, 'poll.invalid');
  });

  it('when three pollers compete for 300 messages, then every message is handed out and acked exactly once', async () => {
    const area = fresh();
    const sub = await createPoll(`${area}.*`);
    const ids = await t.publishBatch(`${area}.job`, Array.from({ length: 300 }, (_, i) => ({ i })));
    const received: string[] = [];
    const perPoller = [0, 0, 0];
    const deadline = Date.now() + 30_000;
    await Promise.all(
      perPoller.map(async (_, p) => {
        while (received.length < ids.length && Date.now() < deadline) {
          const batch = await poll(sub.id, { max: 25, wait: 1 });
          if (!batch.length) continue;
          const res = await ack(sub.id, batch.map((m) => m.ackId));
          expect(res.status).toBe(200);
          expect(res.body.results.every((r: { status: string }) => r.status === 'acked')).toBe(true);
          received.push(...batch.map((m) => m.id));
          perPoller[p] += batch.length;
        }
      }),
    );
    expect(received.length).toBe(300);
    expect(new Set(received).size).toBe(300);
    expect([...received].sort()).toEqual([...ids].sort());
    const ci = await jsm.consumers.info(t.broker.names.messagesStream, t.broker.names.pollConsumer(sub.id));
    expect([ci.num_pending, ci.num_ack_pending]).toEqual([0, 0]);
    const rows = await t.db.query(`SELECT status, count(*)::int AS n FROM deliveries WHERE subscription_id = $1 GROUP BY status`, [sub.id]);
    expect(rows.rows).toEqual([{ status: 'succeeded', n: 300 }]);
  });

  it('when a message is not acked within maxAttempts, then it is dead, never handed out again, and visible like a dead webhook delivery', async () => {
    const area = fresh();
    const sub = await createPoll(`${area}.*`, { ackTimeoutMs: 1000, maxAttempts: 2 });
    const id = (await t.publish(`${area}.x`, { doomed: true })).id;
    expect((await poll(sub.id, { wait: 2 })).map((m) => m.attempt)).toEqual([1]);
    expect((await poll(sub.id, { wait: 3 })).map((m) => m.attempt)).toEqual([2]);
    // The third delivery is past maxAttempts: retired, not handed out.
    expect(await poll(sub.id, { wait: 3 })).toEqual([]);

    const dead = await t.http().get(`/v1/subscriptions/${sub.id}/deliveries?status=dead`).set(t.auth);
    expect(dead.status).toBe(200);
    expect(dead.body.items).toEqual([
      expect.objectContaining({ messageId: id, subscriptionId: sub.id, status: 'dead', attemptCount: 2 }),
    ]);
    const delivery = await t.http().get(`/v1/deliveries/${dead.body.items[0].id}`).set(t.auth);
    expect(delivery.body).toMatchObject({ status: 'dead', lastError: expect.stringContaining('2 attempts') });
    const message = await t.http().get(`/v1/messages/${id}`).set(t.auth);
    expect(message.body).toMatchObject({ settled: true, deliveries: [expect.objectContaining({ subscriptionId: sub.id, status: 'dead' })] });
    await sleep(1200);
    expect(await poll(sub.id, { wait: 1 })).toEqual([]);
    const ci = await jsm.consumers.info(t.broker.names.messagesStream, t.broker.names.pollConsumer(sub.id));
    expect(ci.num_ack_pending).toBe(0);
  });

  it('when ack ids are forged, malformed, of another subscription or of another tenant, then the request is refused with a 4xx and nothing is acked', async () => {
    const area = fresh();
    const a = await createPoll(`${area}.*`);
    const b = await createPoll(`${area}.*`);
    const globex = t.token('admin', { sub: 'ops', tenant: 'globex' });
    const g = await createPoll(`${area}.*`, {}, globex);
    await t.publish(`${area}.x`, { v: 1 });
    await t.publish(`${area}.x`, { v: 2 }, globex);
    const [ma] = await poll(a.id, { wait: 2 });
    const [mg] = await poll(g.id, { wait: 2 }, globex);
    const good = ma!.ackId;
    const [v, payload, sig] = good.split('.');
    const forged = `${v}.${payload}.${sig!.slice(0, 10)}${sig![10] === 'A' ? 'B' : 'A'}${sig!.slice(11)}`;

    let body = expectProblem(await ack(a.id, [good, forged]), 400, 'poll.invalid_ack_id');
    expect(body.errors).toEqual([expect.objectContaining({ index: 1, problem: 'forged' })]);
    body = expectProblem(await ack(a.id, ['not-an-ack-id', '']), 400, 'poll.invalid');
    body = expectProblem(await ack(a.id, ['v1.zzzz.yyyy']), 400, 'poll.invalid_ack_id');
    expect(body.errors).toEqual([expect.objectContaining({ index: 0, problem: 'forged' })]);
    body = expectProblem(await ack(a.id, ['junk']), 400, 'poll.invalid_ack_id');
    expect(body.errors).toEqual([expect.objectContaining({ problem: 'malformed' })]);
    // Another subscription of the same tenant, and another tenant's subscription, refuse a's ack id ...
    body = expectProblem(await ack(b.id, [good]), 400, 'poll.invalid_ack_id');
    expect(body.errors).toEqual([expect.objectContaining({ problem: 'wrong_subscription' })]);
    body = expectProblem(await ack(g.id, [good], globex), 400, 'poll.invalid_ack_id');
    expect(body.errors).toEqual([expect.objectContaining({ problem: 'wrong_subscription' })]);
    // ... and another tenant cannot even see a.
    expectProblem(await ack(a.id, [mg!.ackId], globex), 404, 'subscription.not_found');
    expectProblem(await ack(a.id, [mg!.ackId]), 400, 'poll.invalid_ack_id');
    expectProblem(await t.http().post(`/v1/subscriptions/${a.id}/ack`).set(t.auth).type('json').send('{"ackIds": 5}'), 400, 'poll.invalid');

    // Nothing was acked along the way: a's message is still outstanding, and its good id still works.
    const ci = await jsm.consumers.info(t.broker.names.messagesStream, t.broker.names.pollConsumer(a.id));
    expect(ci.num_ack_pending).toBe(1);
    const ok = await ack(a.id, [good]);
    expect(ok.status).toBe(200);
    expect(ok.body.results).toEqual([{ ackId: good, messageId: ma!.id, status: 'acked' }]);
    await waitFor(async () => (await jsm.consumers.info(t.broker.names.messagesStream, t.broker.names.pollConsumer(a.id))).num_ack_pending === 0, 'the ack to land');
  });

  it('when an ack id has outlived its ack timeout, then acking it answers 409 and the message comes back', async () => {
    const area = fresh();
    const sub = await createPoll(`${area}.*`, { ackTimeoutMs: 1000 });
    const id = (await t.publish(`${area}.x`, { v: 1 })).id;
    const [m] = await poll(sub.id, { wait: 2 });
    await sleep(1100);
    const body = expectProblem(await ack(sub.id, [m!.ackId]), 409, 'poll.ack_expired');
    expect(body.errors).toEqual([expect.objectContaining({ problem: 'expired' })]);
    expect((await poll(sub.id, { wait: 2 })).map((x) => [x.id, x.attempt])).toEqual([[id, 2]]);
  });

  it('when a message owed to a poll subscription is not yet polled, then its status is pending and unsettled, and settled once acked', async () => {
    const area = fresh();
    const sub = await createPoll(`${area}.*`);
    const id = (await t.publish(`${area}.job`, { work: 1 })).id;
    const pending = await waitFor(async () => {
      const r = await t.http().get(`/v1/messages/${id}`).set(t.auth);
      return r.status === 200 ? r.body : undefined;
    }, 'the message to be routed');
    expect(pending).toMatchObject({ settled: false, deliveries: [expect.objectContaining({ subscriptionId: sub.id, status: 'pending', attemptCount: 0 })] });

    const [m] = await poll(sub.id, { wait: 2 });
    const handedOut = await t.http().get(`/v1/messages/${id}`).set(t.auth);
    expect(handedOut.body).toMatchObject({ settled: false, deliveries: [expect.objectContaining({ status: 'pending', attemptCount: 1 })] });
    expect((await ack(sub.id, [m!.ackId])).status).toBe(200);
    const settled = await t.http().get(`/v1/messages/${id}`).set(t.auth);
    expect(settled.body).toMatchObject({ settled: true, deliveries: [expect.objectContaining({ subscriptionId: sub.id, status: 'succeeded', attemptCount: 1 })] });
    const ok = await t.http().get(`/v1/subscriptions/${sub.id}/deliveries?status=succeeded`).set(t.auth);
    expect(ok.body.items.map((d: { messageId: string }) => d.messageId)).toEqual([id]);
  });

  it('when a poll subscription is deleted, then its consumer is gone and polling it answers 404', async () => {
    const sub = await createPoll(`${fresh()}.*`);
    const consumer = t.broker.names.pollConsumer(sub.id);
    await jsm.consumers.info(t.broker.names.messagesStream, consumer);
    expect((await t.http().delete(`/v1/subscriptions/${sub.id}`).set(t.auth)).status).toBe(204);
    await expect(jsm.consumers.info(t.broker.names.messagesStream, consumer)).rejects.toMatchObject({ code: '404' });
    expectProblem(await t.http().get(`/v1/subscriptions/${sub.id}/messages`).set(t.auth), 404, 'subscription.not_found');
  });

  it('when a poll subscription\'s consumer has gone missing, then the next poll recreates it from the subscription start', async () => {
    const area = fresh();
    const sub = await createPoll(`${area}.*`);
    const first = (await t.publish(`${area}.x`, { n: 1 })).id;
    const [m] = await poll(sub.id, { wait: 2 });
    expect(m!.id).toBe(first);
    await jsm.consumers.delete(t.broker.names.messagesStream, t.broker.names.pollConsumer(sub.id));
    const second = (await t.publish(`${area}.x`, { n: 2 })).id;
    // Acks died with the old consumer: what is still retained since the subscription's start comes again.
    const again = await poll(sub.id, { max: 10, wait: 2 });
    expect(again.map((x) => x.id)).toEqual([first, second]);
  });

  it('when a poll subscription is ordered, then one message is out at a time, in publish order, and a waiting poll gets the next as soon as the previous is acked', async () => {
    const area = fresh();
    const sub = await createPoll(`${area}.*`, { ordered: true });
    const ids = [(await t.publish(`${area}.x`, { n: 1 })).id, (await t.publish(`${area}.x`, { n: 2 })).id];
    const [first] = await poll(sub.id, { max: 10, wait: 2 });
    expect(first!.id).toBe(ids[0]);
    // Its one slot is taken: an immediate poll answers empty at once instead of hanging.
    const started = Date.now();
    expect(await poll(sub.id, { max: 10 })).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1000);
    const waiting = poll(sub.id, { max: 10, wait: 5 }).then((m) => ({ m, at: Date.now() }));
    await sleep(300);
    const ackedAt = Date.now();
    expect((await ack(sub.id, [first!.ackId])).status).toBe(200);
    const { m, at } = await waiting;
    expect(m.map((x) => x.id)).toEqual([ids[1]]);
    expect(at - ackedAt).toBeLessThan(1000);
  });

  it('when a poll subscription is paused, then polls answer 409 until it is resumed, and nothing is lost', async () => {
    const area = fresh();
    const sub = await createPoll(`${area}.*`);
    expect((await t.http().post(`/v1/subscriptions/${sub.id}/pause`).set(t.auth)).status).toBe(200);
    const id = (await t.publish(`${area}.x`, { while: 'paused' })).id;
    expectProblem(await t.http().get(`/v1/subscriptions/${sub.id}/messages`).set(t.auth), 409, 'subscription.paused');
    expect((await t.http().post(`/v1/subscriptions/${sub.id}/resume`).set(t.auth)).status).toBe(200);
    expect((await poll(sub.id, { wait: 2 })).map((m) => m.id)).toEqual([id]);
  });

  it('when a webhook subscription is polled, then the answer is 409', async () => {
    const res = await t.http().post('/v1/subscriptions').set(t.auth).send({ topic: `${fresh()}.*`, url: 'http://127.0.0.1:9/x' });
    expect(res.status).toBe(201);
    expectProblem(await t.http().get(`/v1/subscriptions/${res.body.id}/messages`).set(t.auth), 409, 'subscription.not_poll');
  });

  it('when a poll subscription\'s pattern is changed, then its consumer follows the new pattern from then on', async () => {
    const area = fresh();
    const sub = await createPoll(`${area}.a`);
    const res = await t.http().patch(`/v1/subscriptions/${sub.id}`).set(t.auth).send({ topic: `${area}.b`, ackTimeoutMs: 2000 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ topic: `${area}.b`, ackTimeoutMs: 2000 });
    const ci = await jsm.consumers.info(t.broker.names.messagesStream, t.broker.names.pollConsumer(sub.id));
    expect(ci.config).toMatchObject({ filter_subject: t.broker.names.messageFilter(TENANT, `${area}.b`), ack_wait: 2000 * 1e6 });
    await t.publish(`${area}.a`, { old: true });
    const b = (await t.publish(`${area}.b`, { new: true })).id;
    expect((await poll(sub.id, { max: 10, wait: 2 })).map((m) => m.id)).toEqual([b]);
  });
});

describe('poll subscriptions when JetStream fails them', () => {
  const broken = withBroker();

  it('when the consumer cannot be created, then the create answers 503 and leaves no subscription row', async () => {
    const bjsm = await broken.broker.nc.jetstreamManager();
    await bjsm.streams.delete(broken.broker.names.messagesStream);
    const res = await postSubscription(broken, broken.admin, { topic: 'x.*', type: 'poll' });
    expectProblem(res, 503, 'subscription.consumer_unavailable');
    expect((await broken.db.query('SELECT count(*)::int AS n FROM subscriptions')).rows[0].n).toBe(0);
  });
});

describe('poll subscriptions across a restart', () => {
  const first = withBroker();

  it('when the broker restarts, then a poll subscription continues from its cursor', async () => {
    const token = first.token('admin', { tenant: TENANT });
    const sub = await createPoll('r.*', {}, token, first);
    const ids = [(await first.publish('r.x', { n: 1 }, token)).id, (await first.publish('r.x', { n: 2 }, token)).id, (await first.publish('r.x', { n: 3 }, token)).id];
    const [m] = await poll(sub.id, { max: 1 }, token, first);
    expect(m!.id).toBe(ids[0]);
    const acked = await first.http().post(`/v1/subscriptions/${sub.id}/ack`).set(bearer(token)).send({ ackIds: [m!.ackId] });
    expect(acked.status).toBe(200);
    await first.stop();

    // Another broker on the stopped one's database and streams: the restart.
    const second = await first.replica();
    const rest = await poll(sub.id, { max: 10, wait: 2 }, token, second);
    expect(rest.map((x) => [x.id, x.attempt])).toEqual([
      [ids[1], 1],
      [ids[2], 1],
    ]);
    // An ack id minted before the restart is still good after it: the key lives in Postgres.
    const ok = await second.http().post(`/v1/subscriptions/${sub.id}/ack`).set(bearer(token)).send({ ackIds: rest.map((x) => x.ackId) });
    expect(ok.status).toBe(200);
  });
});
