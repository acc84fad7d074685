import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startBroker, type Broker } from '../../services/all/broker.js';
import { loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/logger.js';
import { TEST_NATS_URL } from '../helpers/isolated.js';
import { startReceiver, type Received, type Receiver } from '../helpers/receiver.js';
import { startTestBroker, type TestBroker } from '../helpers/test-broker.js';
import { waitFor } from '../helpers/wait-for.js';

let hl: TestBroker;
/** A second dispatcher on the same database and streams: ordering must hold across replicas. */
let replica: Broker;
let db: pg.Pool;
let auth: { authorization: string };
const receivers: Receiver[] = [];

/** A receiver that records how many requests it is answering at once. */
async function trackingReceiver(answer: (r: Received) => number, delayMs = 15) {
  let active = 0;
  const stats = { maxActive: 0 };
  const r = await startReceiver((req) => {
    active++;
    stats.maxActive = Math.max(stats.maxActive, active);
    setTimeout(() => active--, delayMs);
    return { status: answer(req), delayMs };
  });
  receivers.push(r);
  return { r, stats };
}

const index = (q: Received) => (JSON.parse(q.body) as { data: { i: number } }).data.i;
const attempt = (q: Received) => Number(q.headers['hookline-attempt']);

async function subscribe(topic: string, url: string, extra: Record<string, unknown> = {}) {
  const res = await hl.http().post('/v1/subscriptions').set(auth).send({ topic, url, ...extra });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** Publishes `count` messages ({i}) one request at a time; returns their ids in publish order. */
async function publishInOrder(topic: string, count: number, chunk = 10): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += chunk) {
    const res = await hl
      .http()
      .post(`/v1/topics/${topic}/batch`)
      .set(auth)
      .send({ messages: Array.from({ length: Math.min(chunk, count - i) }, (_, j) => ({ i: i + j })) });
    expect(res.status).toBe(202);
    ids.push(...(res.body.ids as string[]));
  }
  return ids;
}

/** Message ids in stream order, once the router has recorded them all. */
async function streamOrder(ids: string[]): Promise<string[]> {
  return waitFor(async () => {
    const { rows } = await db.query('SELECT id FROM messages WHERE id = ANY($1::text[]) ORDER BY stream_seq', [ids]);
    return rows.length === ids.length ? rows.map((r) => r.id as string) : undefined;
  }, 'the messages to be routed');
}

beforeAll(async () => {
  hl = await startTestBroker();
  auth = { authorization: `Bearer ${hl.token()}` };
  db = new pg.Pool({ connectionString: hl.databaseUrl, max: 2 });
  const config = loadConfig({
    PORT: '0',
    NATS_URL: TEST_NATS_URL,
    DATABASE_URL: hl.databaseUrl,
    HOOKLINE_ENV: 'test',
    HOOKLINE_JWT_SECRET: hl.secret,
    HOOKLINE_STREAM_PREFIX: hl.prefix,
    HOOKLINE_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8',
    HOOKLINE_ROLES: 'dispatcher',
    HOOKLINE_SHUTDOWN_GRACE_MS: '3000',
  });
  replica = await startBroker(config, createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'), { secret: hl.secret });
});

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await replica?.close();
  await db?.end();
  await hl?.close();
});

describe('ordered delivery', () => {
  it('when some messages fail a few times, then an ordered subscription still receives them in publish order with one in flight, and an unordered one alongside is not held up', async () => {
    const COUNT = 30;
    // Every fifth message fails its first two attempts.
    const ordered = await trackingReceiver((q) => (index(q) % 5 === 2 && attempt(q) < 3 ? 500 : 200));
    const unordered = await trackingReceiver(() => 200);
    const retry = { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 300, multiplier: 2 };
    await subscribe('ord.events', ordered.r.url, { ordered: true, retry });
    await subscribe('ord.events', unordered.r.url, { retry });

    const ids = await streamOrder(await publishInOrder('ord.events', COUNT));
    await waitFor(() => unordered.r.requests.length >= COUNT, 'the unordered subscription to get every message', { timeoutMs: 30_000 });
    const unorderedDone = Date.now();
    await waitFor(
      () => ordered.r.requests.filter((q) => !(index(q) % 5 === 2 && attempt(q) < 3)).length >= COUNT,
      'the ordered subscription to get every message',
      { timeoutMs: 60_000 },
    );

    const successes = ordered.r.requests.filter((q) => !(index(q) % 5 === 2 && attempt(q) < 3));
    expect(successes.map((q) => q.headers['webhook-id'])).toEqual(ids);
    // Every request, failed ones included, came in order: nothing overtook a message still being retried.
    const seen = ordered.r.requests.map((q) => ids.indexOf(String(q.headers['webhook-id'])));
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(ordered.r.requests).toHaveLength(COUNT + 2 * 6);
    expect(ordered.stats.maxActive).toBe(1);
    // The unordered one alongside was done first, with several in flight.
    expect(unorderedDone).toBeLessThan(ordered.r.requests[ordered.r.requests.length - 1]!.at);
    expect(unordered.r.requests).toHaveLength(COUNT);
    expect(unordered.stats.maxActive).toBeGreaterThan(1);
  }, 90_000);

  it('when a message dies, then the ones behind it go out after its last attempt, in order', async () => {
    const { r, stats } = await trackingReceiver((q) => (index(q) === 3 ? 500 : 200));
    await subscribe('ord.dies', r.url, { ordered: true, retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 100, multiplier: 2 } });
    const ids = await streamOrder(await publishInOrder('ord.dies', 8));

    await waitFor(() => r.requests.length >= 8 + 2, 'every request', { timeoutMs: 30_000 });
    expect(r.requests.map(index)).toEqual([0, 1, 2, 3, 3, 3, 4, 5, 6, 7]);
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual([...ids.slice(0, 4), ids[3], ids[3], ...ids.slice(4)]);
    expect(stats.maxActive).toBe(1);
    await waitFor(async () => {
      const { rows: done } = await db.query(
        `SELECT count(*)::int AS n FROM deliveries WHERE message_id = ANY($1::text[]) AND status IN ('succeeded', 'dead')`,
        [ids],
      );
      return done[0].n === 8;
    }, 'every delivery to settle');
    const { rows } = await db.query(
      `SELECT d.status FROM deliveries d JOIN messages m ON m.id = d.message_id
       WHERE m.id = ANY($1::text[]) ORDER BY m.stream_seq`,
      [ids],
    );
    expect(rows.map((x) => x.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'dead', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);
  }, 60_000);

  it('when an ordered subscription is paused and resumed, then what arrived meanwhile still goes out in order', async () => {
    const { r, stats } = await trackingReceiver(() => 200);
    const sub = await subscribe('ord.pause', r.url, { ordered: true });
    const paused = await hl.http().post(`/v1/subscriptions/${sub}/pause`).set(auth);
    expect(paused.status).toBe(200);
    const ids = await streamOrder(await publishInOrder('ord.pause', 12, 4));
    await waitFor(async () => {
      const { rows } = await db.query(
        `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND next_attempt_at = 'infinity'`,
        [sub],
      );
      return rows[0].n === 12;
    }, 'the deliveries to wait while paused');
    expect(r.requests).toHaveLength(0);
    await hl.http().post(`/v1/subscriptions/${sub}/resume`).set(auth).expect(200);
    await waitFor(() => r.requests.length >= 12, 'every delivery after resume', { timeoutMs: 30_000 });
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual(ids);
    expect(stats.maxActive).toBe(1);
  }, 60_000);
});
