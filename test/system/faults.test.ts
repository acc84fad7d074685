import { afterAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { mintToken } from '../../shared/auth/tokens.js';
import { brokerProcessEnv, freePort, spawnBroker, waitReady, type BrokerProcess } from '../helpers/broker-process.js';
import { dropIsolated, isolatedNames, TEST_NATS_URL, TEST_PG_URL } from '../helpers/isolated.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import type { Receiver } from '../helpers/receiver.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { sleep, waitFor } from '../helpers/wait-for.js';
import { withReceivers } from '../helpers/kit.js';

const secret = randomBytes(32).toString('hex');
const token = mintToken(secret, { sub: 'fault-test', scope: 'admin', expiresIn: '1h' });

const receiver = withReceivers();
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
});

/** A broker process (every role) on its own database and stream prefix; killed and dropped after the file. */
async function broker(natsUrl: string, pgProxy?: TcpProxy) {
  const iso = isolatedNames();
  const port = await freePort();
  const proc = spawnBroker(
    brokerProcessEnv(port, iso, secret, {
      NATS_URL: natsUrl,
      DATABASE_URL: pgProxy ? pgProxy.urlFor(iso.databaseUrl) : iso.databaseUrl,
      HOOKLINE_DISPATCH_CONCURRENCY: '32',
      HOOKLINE_ACK_WAIT_S: '5',
    }),
  );
  cleanup.push(async () => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
    await proc.exited;
    await dropIsolated(iso.database, iso.prefix);
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitReady(baseUrl, proc, 60_000);
  return { proc, baseUrl, iso };
}

async function call(baseUrl: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, unknown> };
}

/** A test failure with the tail of the broker's log appended (the log is otherwise discarded). */
function withBrokerLog(err: unknown, proc: BrokerProcess): unknown {
  if (err instanceof Error) err.message += `\n--- broker log (tail) ---\n${proc.output().slice(-6000)}`;
  return err;
}

/** A refused publish: what the publisher saw. */
interface Refusal {
  status: number;
  type: string;
  body: Record<string, unknown>;
}

/**
 * Publishes small batches every `everyMs` (up to 3 requests in flight, as independent publishers would)
 * until stopped; keeps the ids of every 202 and every other answer. About 100 messages a second: enough
 * to have publishes and deliveries in flight at every moment, little enough for a busy 2-core machine.
 */
function publishContinuously(baseUrl: string, topic: string, { batch = 5, everyMs = 50 } = {}) {
  const accepted: string[] = [];
  const refused: Refusal[] = [];
  const transportErrors: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  let n = 0;
  const loop = (async () => {
    while (!stopped) {
      if (inFlight.size < 3) {
        const messages = Array.from({ length: batch }, () => ({ n: n++ }));
        const p = call(baseUrl, 'POST', `/v1/topics/${topic}/batch`, { messages })
          .then((res) => {
            if (res.status === 202) accepted.push(...(res.body.ids as string[]));
            else refused.push(res);
          })
          .catch((err: Error) => {
            transportErrors.push(err.message);
          });
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      await sleep(everyMs);
    }
    await Promise.all([...inFlight]);
  })();
  return {
    accepted,
    refused,
    transportErrors,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

const idsAt = (r: Receiver) => new Set(r.requests.map((q) => String(q.headers['webhook-id'])));
const duplicatesAt = (r: Receiver) => r.requests.length - idsAt(r).size;

/**
 * Two receivers subscribed to `fault.>` and `fault.*.event`, and messages published on `topic` without a
 * pause; resolves once publishing and delivery are both under way. Stop the publisher when done.
 */
async function underWay(baseUrl: string, topic: string) {
  const a = await receiver(() => ({ status: 200, delayMs: 2 }));
  const b = await receiver(() => ({ status: 200, delayMs: 2 }));
  for (const [pattern, r] of [['fault.>', a], ['fault.*.event', b]] as const) {
    expect((await call(baseUrl, 'POST', '/v1/subscriptions', { topic: pattern, url: r.url })).status).toBe(201);
  }
  const pub = publishContinuously(baseUrl, topic);
  try {
    await waitFor(() => pub.accepted.length >= 100 && a.requests.length >= 30, 'publishing and delivery under way', {
      timeoutMs: 30_000,
    });
  } catch (err) {
    await pub.stop();
    throw err;
  }
  return { a, b, pub };
}

/** Waits until every accepted message has reached every receiver. */
async function everyMessageAt(accepted: Set<string>, receivers: Receiver[]): Promise<void> {
  await waitFor(
    () =>
      receivers.every((r) => {
        const seen = idsAt(r);
        return [...accepted].every((id) => seen.has(id));
      }),
    `every accepted message at all ${receivers.length} receivers`,
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

/** Waits until Postgres records each accepted message's `perMessage` deliveries as succeeded. */
async function everyDeliverySucceeded(databaseUrl: string, accepted: Set<string>, perMessage: number): Promise<void> {
  await waitFor(
    async () => (await succeededDeliveries(databaseUrl, [...accepted])) === perMessage * accepted.size,
    'every delivery recorded as succeeded',
    { timeoutMs: 30_000, intervalMs: 250 },
  );
}

async function succeededDeliveries(databaseUrl: string, messageIds: string[]): Promise<number> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM deliveries WHERE status = 'succeeded' AND message_id = ANY($1::text[])`,
      [messageIds],
    );
    return rows[0].n as number;
  } finally {
    await db.end();
  }
}

describe('a NATS restart', () => {
  let nats: NatsServer;

  it('when the NATS server is killed and restarted mid-run, then the broker reconnects, refused publishes got a 5xx problem, and every 202 is delivered', async () => {
    nats = await startNatsServer();
    cleanup.push(() => nats.close());
    const hl = await broker(nats.url);
    const { a, b, pub } = await underWay(hl.baseUrl, 'fault.nats.event');
    let stopped = false;
    try {
      const acceptedBefore = pub.accepted.length;
      await nats.stop('SIGKILL');
      // Longer than the JetStream publish timeout (5 s), so publishes made during the outage must fail.
      await sleep(6500);
      const readyDuringOutage = (await fetch(`${hl.baseUrl}/readyz`)).status;
      await nats.start();
      const acceptedAtRestart = pub.accepted.length;
      await waitFor(() => pub.accepted.length >= acceptedAtRestart + 50, 'publishing to resume after the restart', {
        timeoutMs: 30_000,
      });
      await pub.stop();
      stopped = true;

      const accepted = new Set(pub.accepted);
      await everyMessageAt(accepted, [a, b]);
      // Deliveries after the restart prove the router and dispatcher consumers resumed; Postgres agrees.
      await everyDeliverySucceeded(hl.iso.databaseUrl, accepted, 2);

      // Delivered but never accepted: a publish that timed out in the client while NATS was away, stored
      // once the connection came back. At least once for the publisher too: a 5xx means "not known to be stored".
      const unacknowledged = [...idsAt(a)].filter((id) => !accepted.has(id)).length;
      process.stdout.write(
        `nats restart: ${accepted.size} messages accepted (${acceptedBefore} before the kill, ${acceptedAtRestart - acceptedBefore} ` +
          `during the outage), ${pub.refused.length} batches refused (${[...new Set(pub.refused.map((r) => r.status))].join(', ')}), ` +
          `${unacknowledged} refused-yet-delivered messages, duplicates ${duplicatesAt(a)} + ${duplicatesAt(b)}, ` +
          `/readyz during the outage: ${readyDuringOutage}\n`,
      );

      expect(pub.transportErrors).toEqual([]);
      expect(pub.refused.length).toBeGreaterThan(0);
      for (const r of pub.refused) {
        expect(r.status).toBeGreaterThanOrEqual(500);
        expect(r.type).toMatch(/^application\/problem\+json/);
        expect(r.body).toMatchObject({ status: r.status, type: expect.stringMatching(/^https?:\/\//), title: expect.any(String) });
      }
      expect(hl.proc.child.exitCode).toBeNull();
    } catch (err) {
      throw withBrokerLog(err, hl.proc);
    } finally {
      if (!stopped) await pub.stop();
    }
  }, 180_000);
});

describe('a Postgres outage', () => {
  let proxy: TcpProxy;

  it('when Postgres becomes unreachable mid-run, then /readyz is 503, nothing accepted is lost, and deliveries resume once it is back', async () => {
    const pgUrl = new URL(TEST_PG_URL);
    proxy = await startTcpProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
    cleanup.push(() => proxy.close());
    // The broker reaches its database through the proxy; the test reads it directly.
    const hl = await broker(TEST_NATS_URL, proxy);
    const directUrl = hl.iso.databaseUrl;
    const { a, b, pub } = await underWay(hl.baseUrl, 'fault.pg.event');
    let stopped = false;
    try {
      await proxy.cut();
      const cutAt = Date.now();
      const notReady = await waitFor(
        async () => {
          const res = await fetch(`${hl.baseUrl}/readyz`);
          return res.status === 503 ? ((await res.json()) as { checks: Record<string, boolean> }) : undefined;
        },
        '/readyz to report 503',
        { timeoutMs: 10_000, intervalMs: 200 },
      );
      expect(notReady.checks).toMatchObject({ postgres: false, nats: true });
      await sleep(Math.max(0, 4000 - (Date.now() - cutAt)));
      const deliveredAtRestore = a.requests.length + b.requests.length;
      expect((await fetch(`${hl.baseUrl}/readyz`)).status).toBe(503);
      await proxy.restore();
      const restoredAt = Date.now();
      const resumed = waitFor(() => (a.requests.length + b.requests.length > deliveredAtRestore ? Date.now() : 0), 'deliveries to resume', {
        timeoutMs: 30_000,
        intervalMs: 20,
      });
      resumed.catch(() => {});
      await waitFor(async () => (await fetch(`${hl.baseUrl}/readyz`)).status === 200, '/readyz to report 200 again', {
        timeoutMs: 15_000,
        intervalMs: 200,
      });
      const readyAfterMs = Date.now() - restoredAt;
      const acceptedAtRestore = pub.accepted.length;
      await waitFor(() => pub.accepted.length >= acceptedAtRestore + 50, 'more publishes after the restore', { timeoutMs: 30_000 });
      await pub.stop();
      stopped = true;

      const accepted = new Set(pub.accepted);
      await everyMessageAt(accepted, [a, b]);
      const drainedAfterMs = Date.now() - restoredAt;
      const resumedAfterMs = (await resumed) - restoredAt;
      // Attempts made while Postgres was away were kept and written once it came back.
      await everyDeliverySucceeded(directUrl, accepted, 2);
      process.stdout.write(
        `postgres outage: ${accepted.size} messages accepted, ${pub.refused.length} batches refused, ` +
          `${deliveredAtRestore} requests before the restore; after it: ready in ${readyAfterMs} ms, first delivery in ` +
          `${resumedAfterMs} ms, all delivered in ${drainedAfterMs} ms; ` +
          `duplicates ${duplicatesAt(a)} + ${duplicatesAt(b)}\n`,
      );
      expect(pub.transportErrors).toEqual([]);
      for (const r of pub.refused) {
        expect(r.status).toBeGreaterThanOrEqual(500);
        expect(r.type).toMatch(/^application\/problem\+json/);
      }
      expect(hl.proc.child.exitCode).toBeNull();
    } catch (err) {
      throw withBrokerLog(err, hl.proc);
    } finally {
      if (!stopped) await pub.stop();
    }
  }, 180_000);
});
