import { beforeAll, describe, expect, it } from '@jest/globals';
import { LATENCY_BUCKET_BOUNDS_MS, pruneStatsRollups } from '../../shared/db/stats.js';
import type { Receiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';
import { bearer, withBroker } from '../helpers/kit.js';

const hl = withBroker();

let ok: Receiver;
let broken: Receiver;
let healthy: { id: string };
let failing: { id: string };
let batch: string[];

beforeAll(async () => {
  ok = await hl.receiver(() => ({ status: 204, delayMs: 30 }));
  broken = await hl.receiver(() => ({ status: 500, body: 'boom' }));
  healthy = await hl.subscribe({ topic: 'orders.*', url: `${ok.url}/ok` });
  failing = await hl.subscribe({ topic: 'orders.created', url: `${broken.url}/broken`, retry: { maxAttempts: 1 } });
  batch = await hl.publishBatch('orders.created', 20);
  await hl.http().post('/v1/topics/audit.login/messages').set(hl.auth).send({ user: 1 }).expect(202);
  await waitFor(async () => {
    const s = await hl.http().post('/v1/messages/summary').set(hl.auth).send({ ids: batch });
    return s.body.settled === 20;
  }, 'the batch to settle');
}, 60_000);

describe('batch summary', () => {
  it('when a settled batch is summarised with an unknown id, then one answer counts every delivery and names the missing id', async () => {
    const res = await hl
      .http()
      .post('/v1/messages/summary')
      .set(hl.auth)
      .send({ ids: [...batch, 'msg_unknown'] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      total: 21,
      settled: 20,
      counts: { pending: 0, failed: 0, succeeded: 20, dead: 20, total: 40 },
      missing: ['msg_unknown'],
    });
    const viaGet = await hl.http().get(`/v1/messages?ids=${[...batch, 'msg_unknown'].join(',')}`).set(hl.auth);
    expect(viaGet.body).toEqual(res.body);
  });

  it('when a poll subscription is owed a message no poller fetched, then the summary counts it pending and not settled', async () => {
    const poll = await hl.subscribe({ topic: 'orders.>', type: 'poll' });
    const pub = await hl.http().post('/v1/topics/orders.shipped/messages').set(hl.auth).send({ late: true });
    await waitFor(async () => {
      const s = await hl.http().get(`/v1/messages?ids=${pub.body.id}`).set(hl.auth);
      return s.body.counts.succeeded === 1;
    }, 'the webhook to succeed');
    const res = await hl.http().get(`/v1/messages?ids=${pub.body.id}`).set(hl.auth);
    expect(res.body).toEqual({
      total: 1,
      settled: 0,
      counts: { pending: 1, failed: 0, succeeded: 1, dead: 0, total: 2 },
      missing: [],
    });
    await hl.http().delete(`/v1/subscriptions/${poll.id}`).set(hl.auth).expect(204);
    const after = await hl.http().get(`/v1/messages?ids=${pub.body.id}`).set(hl.auth);
    expect(after.body).toMatchObject({ settled: 1, counts: { pending: 0, total: 1 } });
  });

  it('when more than 1,000 ids or none are asked for, then 400 and nothing is read', async () => {
    const many = Array.from({ length: 1001 }, (_, i) => `msg_${i}`);
    const res = await hl.http().post('/v1/messages/summary').set(hl.auth).send({ ids: many });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect((await hl.http().post('/v1/messages/summary').set(hl.auth).send({ ids: [] })).status).toBe(400);
  });
});

describe('messages by topic', () => {
  it('when messages are listed by a wildcard pattern, then they come newest first with their delivery counts, page by page', async () => {
    const first = await hl.http().get('/v1/messages?topic=orders.*&limit=15').set(hl.auth);
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(15);
    expect(first.body.next).toEqual(expect.any(String));
    const second = await hl.http().get(`/v1/messages?topic=orders.*&limit=15&cursor=${first.body.next}`).set(hl.auth);
    const items = [...first.body.items, ...second.body.items];
    expect(second.body.next).toBeNull();
    expect(items).toHaveLength(21);
    expect(new Set(items.map((m: { id: string }) => m.id)).size).toBe(21);
    const times = items.map((m: { publishedAt: string }) => Date.parse(m.publishedAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const one = items.find((m: { id: string }) => m.id === batch[0]);
    expect(one).toEqual({
      id: batch[0],
      topic: 'orders.created',
      publishedAt: expect.any(String),
      deliveries: { pending: 0, failed: 0, succeeded: 1, dead: 1, total: 2 },
      settled: true,
    });
  });

  it('when listed by exact topic or a time window, then only those messages come back', async () => {
    const audit = await hl.http().get('/v1/messages?topic=audit.login').set(hl.auth);
    expect(audit.body.items.map((m: { topic: string }) => m.topic)).toEqual(['audit.login']);
    const all = await hl.http().get('/v1/messages?limit=200').set(hl.auth);
    expect(all.body.items).toHaveLength(22);
    const future = await hl.http().get(`/v1/messages?since=${new Date(Date.now() + 60_000).toISOString()}`).set(hl.auth);
    expect(future.body.items).toEqual([]);
  });

  it('when a non-admin lists messages, then only topics its grants reach are shown', async () => {
    const auditor = hl.token('subscribe:audit.>', { sub: 'auditor' });
    const res = await hl.http().get('/v1/messages?limit=200').set(bearer(auditor));
    expect(res.body.items.map((m: { topic: string }) => m.topic)).toEqual(['audit.login']);
    const summary = await hl.http().post('/v1/messages/summary').set(bearer(auditor)).send({ ids: batch.slice(0, 2) });
    expect(summary.body).toMatchObject({ total: 2, settled: 0, missing: batch.slice(0, 2) });
  });

  it('when the pattern, limit or time is malformed, then 400 problem+json', async () => {
    for (const q of ['topic=orders..x', 'limit=0', 'since=yesterday', 'cursor=nope']) {
      const res = await hl.http().get(`/v1/messages?${q}`).set(hl.auth);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
  });
});

describe('subscription stats', () => {
  it('when a subscription has delivered, then its stats show counts, the last hour, the last success and latency', async () => {
    const res = await hl.http().get(`/v1/subscriptions/${healthy.id}/stats`).set(hl.auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      subscriptionId: healthy.id,
      counts: { pending: 0, failed: 0, succeeded: 21, dead: 0, total: 21 },
      lastHour: { attempts: 21, succeeded: 21, failed: 0, successRate: 1 },
      lastDay: { attempts: 21, succeeded: 21, failed: 0, successRate: 1 },
      lastFailure: null,
      breaker: { state: 'closed' },
    });
    expect(Date.now() - Date.parse(res.body.lastSuccessAt)).toBeLessThan(60_000);
    // The receiver answers after 30 ms at the earliest; each estimate lies in the bucket of the exact figure.
    const { rows } = await hl.db.query(
      `SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
         percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
       FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.subscription_id = $1`,
      [healthy.id],
    );
    const bucket = (ms: number) => LATENCY_BUCKET_BOUNDS_MS.filter((b) => b <= ms).length;
    expect(res.body.latencyMs.p50).toBeGreaterThanOrEqual(25);
    expect(bucket(res.body.latencyMs.p50)).toBe(bucket(rows[0].p50));
    expect(bucket(res.body.latencyMs.p95)).toBe(bucket(rows[0].p95));
  });

  it('when every attempt failed, then its stats show the dead count, the last failure and a zero success rate', async () => {
    const res = await hl.http().get(`/v1/subscriptions/${failing.id}/stats`).set(hl.auth);
    expect(res.body).toMatchObject({
      counts: { dead: 20, total: 20 },
      lastHour: { attempts: 20, succeeded: 0, failed: 20, successRate: 0 },
      lastSuccessAt: null,
      lastFailure: { statusCode: 500, at: expect.any(String) },
    });
    expect(res.body.breaker.state).toEqual(expect.stringMatching(/^(open|half_open)$/));
  });

  it("when another principal asks for a subscription's stats, then 404", async () => {
    const other = hl.token('subscribe:orders.>', { sub: 'someone-else' });
    expect((await hl.http().get(`/v1/subscriptions/${healthy.id}/stats`).set(bearer(other))).status).toBe(404);
  });
});

describe('counters', () => {
  it('when poll deliveries are handed out and acked, then their counts move, and every counter equals a count of the rows', async () => {
    const poll = await hl.subscribe({ topic: 'jobs.*', type: 'poll' });
    for (let i = 0; i < 3; i++) await hl.http().post('/v1/topics/jobs.run/messages').set(hl.auth).send({ i }).expect(202);
    const got: { ackId: string }[] = [];
    await waitFor(async () => {
      const res = await hl.http().get(`/v1/subscriptions/${poll.id}/messages?max=10&wait=1`).set(hl.auth);
      got.push(...res.body.messages);
      return got.length >= 3;
    }, 'three polled messages');
    await hl
      .http()
      .post(`/v1/subscriptions/${poll.id}/ack`)
      .set(hl.auth)
      .send({ ackIds: got.slice(0, 2).map((m) => m.ackId) })
      .expect(200);
    const stats = await waitFor(async () => {
      const res = await hl.http().get(`/v1/subscriptions/${poll.id}/stats`).set(hl.auth);
      return res.body.counts.succeeded === 2 ? res.body : undefined;
    }, 'the acks to count');
    expect(stats).toMatchObject({ counts: { pending: 1, failed: 0, succeeded: 2, dead: 0, total: 3 }, breaker: null });

    const { rows } = await hl.db.query(
      `SELECT coalesce(c.subscription_id, r.subscription_id) AS id, coalesce(c.status, r.status) AS status,
         coalesce(c.n, 0)::int AS counted, coalesce(r.n, 0)::int AS rows
       FROM (SELECT subscription_id, status, sum(n) AS n FROM delivery_counts GROUP BY 1, 2) c
       FULL JOIN (SELECT subscription_id, status, count(*) AS n FROM deliveries GROUP BY 1, 2) r
         ON r.subscription_id = c.subscription_id AND r.status = c.status`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const r of rows) expect([r.id, r.status, r.counted]).toEqual([r.id, r.status, r.rows]);
  });
});

describe('tenant stats', () => {
  it('when an admin asks, then the tenant counts, minutes and failing subscriptions add up', async () => {
    const res = await hl.http().get('/v1/stats').set(hl.auth);
    expect(res.status).toBe(200);
    expect(res.body.counts).toEqual({ pending: 1, failed: 0, succeeded: 23, dead: 20, total: 44 });
    expect(res.body.lastHour).toEqual({ attempts: 41, succeeded: 21, failed: 20, successRate: 21 / 41 });
    expect(res.body.perMinute).toHaveLength(60);
    const sum = (k: 'messages' | 'deliveries') =>
      res.body.perMinute.reduce((a: number, m: Record<string, number>) => a + m[k]!, 0);
    expect(sum('messages')).toBe(25);
    expect(sum('deliveries')).toBe(44);
    expect(res.body.failingSubscriptions).toEqual([
      expect.objectContaining({ id: failing.id, topic: 'orders.created', url: `${broken.url}/broken`, status: 'active' }),
    ]);
    expect(res.body.failingSubscriptions[0].lastFailure.statusCode).toBe(500);
  });

  it('when a non-admin asks, then only its own subscriptions and readable topics count', async () => {
    const auditor = hl.token('subscribe:audit.>', { sub: 'auditor' });
    const res = await hl.http().get('/v1/stats').set(bearer(auditor));
    expect(res.body.counts.total).toBe(0);
    expect(res.body.failingSubscriptions).toEqual([]);
    expect(res.body.perMinute.reduce((a: number, m: { messages: number }) => a + m.messages, 0)).toBe(1);
  });
});

describe('rollup pruning', () => {
  it('when rollup rows are older than the kept week, then pruning deletes them and keeps the recent ones', async () => {
    await hl.db.query(
      `INSERT INTO subscription_minutes (subscription_id, minute, shard, tenant, attempts)
       VALUES ($1, date_trunc('minute', now() - interval '9 days'), 0, 'default', 5)`,
      [healthy.id],
    );
    await hl.db.query(`INSERT INTO tenant_minutes (tenant, minute, shard, attempts) VALUES ('default', date_trunc('minute', now() - interval '9 days'), 0, 5)`);
    const count = async () =>
      (await hl.db.query(`SELECT (SELECT count(*) FROM subscription_minutes) + (SELECT count(*) FROM tenant_minutes) AS n`)).rows[0].n;
    const before = Number(await count());
    expect(await pruneStatsRollups(hl.db)).toBe(2);
    expect(Number(await count())).toBe(before - 2);
    const stats = await hl.http().get(`/v1/subscriptions/${healthy.id}/stats`).set(hl.auth);
    expect(stats.body.lastHour.attempts).toBe(21);
  });
});
