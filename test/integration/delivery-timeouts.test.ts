/** timeoutMs covers the exchange with the endpoint, never the time a request waits for a connection. */
import { describe, expect, it } from '@jest/globals';
import { withBroker, type BrokerKit } from '../helpers/kit.js';
import { waitFor } from '../helpers/wait-for.js';

// A wait in line as long as one exchange pushes wait + exchange past the timeout; the exchange alone is
// two seconds inside it (a loaded CI machine stretches an exchange by a second or more).
const RECEIVER_MS = 3000;
const TIMEOUT_MS = 5000;

/**
 * Publishes `count` messages in one batch to a subscription whose endpoint answers every request in
 * RECEIVER_MS, waits until every delivery has succeeded and returns what the receiver saw and what the
 * attempt log says. `hl` is a broker of its own (started with `env`): the counts are of its whole database.
 */
async function deliverThroughSlowEndpoint(hl: BrokerKit, env: Record<string, string>, count: number, policy: Record<string, unknown>) {
  const receiver = await hl.receiver(() => ({ status: 200, delayMs: RECEIVER_MS }));
  await hl.subscribe({ topic: 'slow.endpoint', url: receiver.url, timeoutMs: TIMEOUT_MS, ...policy });
  await hl.publishBatch('slow.endpoint', count);

  const settled = await waitFor(
    async () => {
      const { rows } = await hl.db.query(`SELECT count(*)::int AS n FROM deliveries WHERE status = 'succeeded'`);
      return rows[0].n === count;
    },
    `all ${count} deliveries to succeed`,
    { timeoutMs: 30_000, intervalMs: 100 },
  ).catch(() => false);
  const { rows } = await hl.db.query(
    `SELECT count(*) FILTER (WHERE error = 'timeout')::int AS timeouts, count(*)::int AS attempts,
       max(duration_ms)::int AS longest FROM attempts`,
  );
  const ids = receiver.requests.map((r) => String(r.headers['webhook-id']));
  const stats = { settled, timeouts: rows[0].timeouts, attempts: rows[0].attempts, longestMs: rows[0].longest, requests: ids.length, duplicates: ids.length - new Set(ids).size };
  process.stdout.write(`delivery timeouts (${JSON.stringify(env)}, ${count} messages): ${JSON.stringify(stats)}\n`);
  return stats;
}

describe('delivery timeouts', () => {
  describe('with the default connection pool', () => {
    const env = {};
    const hl = withBroker(env);

    it('when a default subscription receives a batch of 150 for an endpoint answering within its timeout, then none is timed out and none is sent twice', async () => {
      // The default maxInFlight (100) lets more requests go at once than a pool of 64 connections holds.
      const stats = await deliverThroughSlowEndpoint(hl, env, 150, {});
      expect(stats).toMatchObject({ settled: true, timeouts: 0, attempts: 150, requests: 150, duplicates: 0 });
    }, 60_000);
  });

  describe('with a pool of two connections', () => {
    const env = { HOOKLINE_DELIVERY_CONNECTIONS: '2' };
    const hl = withBroker(env);

    it('when the pool holds fewer connections than maxInFlight, then waiting for a connection does not count against timeoutMs', async () => {
      const stats = await deliverThroughSlowEndpoint(hl, env, 6, { maxInFlight: 6 });
      expect(stats).toMatchObject({ settled: true, timeouts: 0, attempts: 6, requests: 6, duplicates: 0 });
      // The recorded duration is the exchange with the endpoint, not the wait in line for a connection.
      expect(stats.longestMs).toBeLessThan(TIMEOUT_MS);
    }, 60_000);
  });
});
