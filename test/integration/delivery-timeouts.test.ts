/** timeoutMs covers the exchange with the endpoint, never the time a request waits for a connection. */
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { startTestBroker, type TestBroker } from '../helpers/test-broker.js';
import { waitFor } from '../helpers/wait-for.js';

// A wait in line as long as one exchange pushes wait + exchange past the timeout; the exchange alone is
// two seconds inside it (a loaded CI machine stretches an exchange by a second or more).
const RECEIVER_MS = 3000;
const TIMEOUT_MS = 5000;
let hl: TestBroker | undefined;
let receiver: Receiver | undefined;

afterEach(async () => {
  await receiver?.close();
  await hl?.close();
  hl = undefined;
  receiver = undefined;
});

afterAll(async () => {
  await hl?.close();
});

/**
 * Publishes `count` messages in one batch to a subscription whose endpoint answers every request in
 * RECEIVER_MS, waits until every delivery has succeeded and returns what the receiver saw and what the
 * attempt log says.
 */
async function deliverThroughSlowEndpoint(env: Record<string, string>, count: number, policy: Record<string, unknown>) {
  hl = await startTestBroker(env);
  receiver = await startReceiver(() => ({ status: 200, delayMs: RECEIVER_MS }));
  const auth = { authorization: `Bearer ${hl.token()}` };
  const sub = await hl
    .http()
    .post('/v1/subscriptions')
    .set(auth)
    .send({ topic: 'slow.endpoint', url: receiver.url, timeoutMs: TIMEOUT_MS, ...policy });
  expect(sub.status).toBe(201);
  const pub = await hl
    .http()
    .post('/v1/topics/slow.endpoint/batch')
    .set(auth)
    .send({ messages: Array.from({ length: count }, (_, i) => ({ i })) });
  expect(pub.status).toBe(202);

  const db = new pg.Client({ connectionString: hl.databaseUrl });
  await db.connect();
  try {
    const settled = await waitFor(
      async () => {
        const { rows } = await db.query(`SELECT count(*)::int AS n FROM deliveries WHERE status = 'succeeded'`);
        return rows[0].n === count;
      },
      `all ${count} deliveries to succeed`,
      { timeoutMs: 30_000, intervalMs: 100 },
    ).catch(() => false);
    const { rows } = await db.query(
      `SELECT count(*) FILTER (WHERE error = 'timeout')::int AS timeouts, count(*)::int AS attempts,
         max(duration_ms)::int AS longest FROM attempts`,
    );
    const ids = receiver.requests.map((r) => String(r.headers['webhook-id']));
    const stats = { settled, timeouts: rows[0].timeouts, attempts: rows[0].attempts, longestMs: rows[0].longest, requests: ids.length, duplicates: ids.length - new Set(ids).size };
    process.stdout.write(`delivery timeouts (${JSON.stringify(env)}, ${count} messages): ${JSON.stringify(stats)}\n`);
    return stats;
  } finally {
    await db.end();
  }
}

describe('delivery timeouts', () => {
  it('when a default subscription receives a batch of 150 for an endpoint answering within its timeout, then none is timed out and none is sent twice', async () => {
    // The default maxInFlight (100) lets more requests go at once than a pool of 64 connections holds.
    const stats = await deliverThroughSlowEndpoint({}, 150, {});
    expect(stats).toMatchObject({ settled: true, timeouts: 0, attempts: 150, requests: 150, duplicates: 0 });
  }, 60_000);

  it('when the pool holds fewer connections than maxInFlight, then waiting for a connection does not count against timeoutMs', async () => {
    const stats = await deliverThroughSlowEndpoint({ HOOKLINE_DELIVERY_CONNECTIONS: '2' }, 6, { maxInFlight: 6 });
    expect(stats).toMatchObject({ settled: true, timeouts: 0, attempts: 6, requests: 6, duplicates: 0 });
    // The recorded duration is the exchange with the endpoint, not the wait in line for a connection.
    expect(stats.longestMs).toBeLessThan(TIMEOUT_MS);
  }, 60_000);
});
