import { afterAll, describe, expect, it } from '@jest/globals';
import { AckPolicy, connect, type JsMsg, type NatsConnection } from 'nats';
import pg from 'pg';
import { fanOutMessages } from '../../services/router/fan-out.js';
import { SubscriptionSync } from '../../services/router/subscription-sync.js';
import { TEST_NATS_URL } from '../helpers/isolated.js';
import { startTestBroker } from '../helpers/test-broker.js';
import { waitFor } from '../helpers/wait-for.js';
import { withReceivers } from '../helpers/kit.js';

const receiver = withReceivers();
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
});

describe('graceful shutdown', () => {
  it('when the broker stops with deliveries in flight, then readiness turns 503, those finish and are recorded, and a restart delivers the rest once', async () => {
    const first = await startTestBroker({ HOOKLINE_DISPATCH_CONCURRENCY: '4', HOOKLINE_SHUTDOWN_GRACE_MS: '5000', HOOKLINE_ACK_WAIT_S: '5' });
    cleanup.push(() => first.close());
    const auth = { authorization: `Bearer ${first.token()}` };
    const r = await receiver(() => ({ status: 200, delayMs: 600 }));
    expect((await first.http().post('/v1/subscriptions').set(auth).send({ topic: 'slow.>', url: r.url })).status).toBe(201);
    const batch = await first
      .http()
      .post('/v1/topics/slow.jobs/batch')
      .set(auth)
      .send({ messages: Array.from({ length: 20 }, (_, i) => ({ i })) });
    expect(batch.status).toBe(202);
    await waitFor(() => r.requests.length >= 4, 'four deliveries in flight');

    const stopping = first.stop();
    const ready = await first.http().get('/readyz');
    expect(ready.status).toBe(503);
    await stopping;
    const sentBeforeStop = r.requests.length;

    // Every request the receiver got before the stop was recorded as a succeeded attempt.
    const db = new pg.Client({ connectionString: first.databaseUrl });
    await db.connect();
    cleanup.push(() => db.end());
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM deliveries WHERE status = 'succeeded'`);
    expect(rows[0].n).toBe(sentBeforeStop);
    expect(sentBeforeStop).toBeLessThan(20);

    const second = await startTestBroker({ HOOKLINE_ACK_WAIT_S: '5' }, { reuse: first });
    cleanup.push(() => second.stop());
    await waitFor(() => new Set(r.requests.map((q) => q.headers['webhook-id'])).size === 20, 'the rest after restart', {
      timeoutMs: 30_000,
    });
    // Finished deliveries were acked before the stop, so none is sent twice.
    expect(r.requests).toHaveLength(20);
    expect(new Set(r.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set(batch.body.ids));
  }, 60_000);
});

describe('fan-out after a router crash', () => {
  it('when the same messages are routed twice, then each subscription still gets one delivery row, one job and one request', async () => {
    const hl = await startTestBroker({ HOOKLINE_ROLES: 'api,dispatcher' });
    cleanup.push(() => hl.close());
    const nc: NatsConnection = await connect({ servers: TEST_NATS_URL });
    cleanup.push(() => nc.close());
    const auth = { authorization: `Bearer ${hl.token()}` };
    const a = await receiver();
    const b = await receiver();
    for (const [topic, url] of [['refan.>', a.url], ['refan.*', b.url]]) {
      expect((await hl.http().post('/v1/subscriptions').set(auth).send({ topic, url })).status).toBe(201);
    }
    const published = await hl
      .http()
      .post('/v1/topics/refan.x/batch')
      .set(auth)
      .send({ messages: [{ n: 1 }, { n: 2 }, { n: 3 }] });
    expect(published.status).toBe(202);

    // Play the router by hand: route the batch, "crash" before acking, route the redelivered batch again.
    const n = hl.broker.names;
    const jsm = await nc.jetstreamManager();
    await jsm.consumers.add(n.messagesStream, { durable_name: 'refan', ack_policy: AckPolicy.Explicit, ack_wait: 1e9 });
    const consumer = await nc.jetstream().consumers.get(n.messagesStream, 'refan');
    const fetchAll = async () => {
      const got: JsMsg[] = [];
      for await (const m of await consumer.fetch({ max_messages: 3, expires: 5000 })) got.push(m);
      return got;
    };
    const pool = new pg.Pool({ connectionString: hl.databaseUrl, max: 2 });
    cleanup.push(() => pool.end());
    const subscriptions = new SubscriptionSync(pool);
    const deps = { pool, js: nc.jetstream(), names: n, subscriptions };

    const firstRound = await fetchAll();
    expect(firstRound).toHaveLength(3);
    expect(await fanOutMessages(deps, firstRound)).toBe(6);
    const secondRound = await waitFor(async () => {
      const again = await fetchAll();
      return again.length === 3 && again.every((m) => m.info.redelivered) ? again : undefined;
    }, 'the unacked batch to be redelivered');
    expect(await fanOutMessages(deps, secondRound)).toBe(6);
    secondRound.forEach((m) => m.ack());

    await waitFor(() => a.requests.length === 3 && b.requests.length === 3, 'one request per delivery');
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM deliveries');
    expect(rows[0].n).toBe(6);
    const jobs = await jsm.streams.info(n.deliveriesStream);
    expect(jobs.state.last_seq).toBe(6);
    await new Promise((res) => setTimeout(res, 300));
    expect(a.requests.length + b.requests.length).toBe(6);
  }, 60_000);
});
