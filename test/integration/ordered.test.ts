import { beforeAll, describe, expect, it } from '@jest/globals';
import type { Received } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';
import { withBroker } from '../helpers/kit.js';

const hl = withBroker();

const index = (q: Received) => (JSON.parse(q.body) as { data: { i: number } }).data.i;
const attempt = (q: Received) => Number(q.headers['hookline-attempt']);

/** Publishes `count` messages ({i}) one request at a time; returns their ids in publish order. */
async function publishInOrder(topic: string, count: number, chunk = 10): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += chunk) {
    ids.push(...(await hl.publishBatch(topic, Array.from({ length: Math.min(chunk, count - i) }, (_, j) => ({ i: i + j })))));
  }
  return ids;
}

/** Message ids in stream order, once the router has recorded them all. */
async function streamOrder(ids: string[]): Promise<string[]> {
  return waitFor(async () => {
    const { rows } = await hl.db.query('SELECT id FROM messages WHERE id = ANY($1::text[]) ORDER BY stream_seq', [ids]);
    return rows.length === ids.length ? rows.map((r) => r.id as string) : undefined;
  }, 'the messages to be routed');
}

/** A second dispatcher on the same database and streams: ordering must hold across replicas. */
beforeAll(async () => {
  await hl.replica({ HOOKLINE_ROLES: 'dispatcher' });
});

describe('ordered delivery', () => {
  it('when some messages fail a few times, then an ordered subscription still receives them in publish order with one in flight, and an unordered one alongside is not held up', async () => {
    const COUNT = 30;
    // Every fifth message fails its first two attempts.
    const ordered = await hl.trackingReceiver((q) => (index(q) % 5 === 2 && attempt(q) < 3 ? 500 : 200), 15);
    const unordered = await hl.trackingReceiver(() => 200, 15);
    const retry = { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 300, multiplier: 2 };
    await hl.subscribe({ topic: 'ord.events', url: ordered.r.url, ordered: true, retry });
    await hl.subscribe({ topic: 'ord.events', url: unordered.r.url, retry });

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
    const { r, stats } = await hl.trackingReceiver((q) => (index(q) === 3 ? 500 : 200), 15);
    await hl.subscribe({ topic: 'ord.dies', url: r.url, ordered: true, retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 100, multiplier: 2 } });
    const ids = await streamOrder(await publishInOrder('ord.dies', 8));

    await waitFor(() => r.requests.length >= 8 + 2, 'every request', { timeoutMs: 30_000 });
    expect(r.requests.map(index)).toEqual([0, 1, 2, 3, 3, 3, 4, 5, 6, 7]);
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual([...ids.slice(0, 4), ids[3], ids[3], ...ids.slice(4)]);
    expect(stats.maxActive).toBe(1);
    await waitFor(async () => {
      const { rows: done } = await hl.db.query(
        `SELECT count(*)::int AS n FROM deliveries WHERE message_id = ANY($1::text[]) AND status IN ('succeeded', 'dead')`,
        [ids],
      );
      return done[0].n === 8;
    }, 'every delivery to settle');
    const { rows } = await hl.db.query(
      `SELECT d.status FROM deliveries d JOIN messages m ON m.id = d.message_id
       WHERE m.id = ANY($1::text[]) ORDER BY m.stream_seq`,
      [ids],
    );
    expect(rows.map((x) => x.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'dead', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);
  }, 60_000);

  it('when an ordered subscription is paused and resumed, then what arrived meanwhile still goes out in order', async () => {
    const { r, stats } = await hl.trackingReceiver(() => 200, 15);
    const sub = (await hl.subscribe({ topic: 'ord.pause', url: r.url, ordered: true })).id;
    const paused = await hl.http().post(`/v1/subscriptions/${sub}/pause`).set(hl.auth);
    expect(paused.status).toBe(200);
    const ids = await streamOrder(await publishInOrder('ord.pause', 12, 4));
    await waitFor(async () => {
      const { rows } = await hl.db.query(
        `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND next_attempt_at = 'infinity'`,
        [sub],
      );
      return rows[0].n === 12;
    }, 'the deliveries to wait while paused');
    expect(r.requests).toHaveLength(0);
    await hl.http().post(`/v1/subscriptions/${sub}/resume`).set(hl.auth).expect(200);
    await waitFor(() => r.requests.length >= 12, 'every delivery after resume', { timeoutMs: 30_000 });
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual(ids);
    expect(stats.maxActive).toBe(1);
  }, 60_000);
});
