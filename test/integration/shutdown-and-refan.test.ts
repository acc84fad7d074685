import { describe, expect, it } from '@jest/globals';
import { AckPolicy, connect, type JsMsg, type NatsConnection } from 'nats';
import { fanOutMessages } from '../../services/router/fan-out.js';
import { SubscriptionSync } from '../../services/router/subscription-sync.js';
import { firstAttemptJob, publishJob } from '../../shared/delivery-job.js';
import { deliveryId } from '../../shared/ids.js';
import { TEST_NATS_URL } from '../helpers/isolated.js';
import { waitFor } from '../helpers/wait-for.js';
import { withBroker } from '../helpers/kit.js';

describe('graceful shutdown', () => {
  const first = withBroker({ HOOKLINE_DISPATCH_CONCURRENCY: '4', HOOKLINE_SHUTDOWN_GRACE_MS: '5000', HOOKLINE_ACK_WAIT_S: '5' });

  it('when the broker stops with deliveries in flight, then readiness turns 503, those finish and are recorded, and a restart delivers the rest once', async () => {
    const r = await first.receiver(() => ({ status: 200, delayMs: 600 }));
    await first.subscribe({ topic: 'slow.>', url: r.url });
    const ids = await first.publishBatch('slow.jobs', 20);
    await waitFor(() => r.requests.length >= 4, 'four deliveries in flight');

    const stopping = first.stop();
    const ready = await first.http().get('/readyz');
    expect(ready.status).toBe(503);
    await stopping;
    const sentBeforeStop = r.requests.length;

    // Every request the receiver got before the stop was recorded as a succeeded attempt.
    const { rows } = await first.db.query(`SELECT count(*)::int AS n FROM deliveries WHERE status = 'succeeded'`);
    expect(rows[0].n).toBe(sentBeforeStop);
    expect(sentBeforeStop).toBeLessThan(20);

    // Another broker on the stopped one's database and streams: the restart.
    await first.replica({ HOOKLINE_ACK_WAIT_S: '5' });
    await waitFor(() => new Set(r.requests.map((q) => q.headers['webhook-id'])).size === 20, 'the rest after restart', {
      timeoutMs: 30_000,
    });
    // Finished deliveries were acked before the stop, so none is sent twice.
    expect(r.requests).toHaveLength(20);
    expect(new Set(r.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set(ids));
  }, 60_000);
});

describe('fan-out after a router crash', () => {
  // Each test counts every delivery row and job of its broker, and the second plays the router on its consumer:
  // a broker each, with no router of its own.
  const ROLES = { HOOKLINE_ROLES: 'api,dispatcher' };

  describe('routed twice', () => {
    const hl = withBroker(ROLES);

    it('when the same messages are routed twice, then each subscription still gets one delivery row, one job and one request', async () => {
      const nc: NatsConnection = await connect({ servers: TEST_NATS_URL });
      hl.onClose(() => nc.close());
      const a = await hl.receiver();
      const b = await hl.receiver();
      for (const [topic, url] of [['refan.>', a.url], ['refan.*', b.url]]) await hl.subscribe({ topic, url });
      await hl.publishBatch('refan.x', [{ n: 1 }, { n: 2 }, { n: 3 }]);

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
      const pool = hl.db;
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

  describe('a job ahead of its row', () => {
    const hl = withBroker(ROLES);

    it('when a job reaches a dispatcher before its delivery row (lost by a Postgres crash) and its message is not routed yet, then the dispatcher waits for the routing instead of dropping the job, and the delivery is made once', async () => {
      const nc: NatsConnection = await connect({ servers: TEST_NATS_URL });
      hl.onClose(() => nc.close());
      const r = await hl.receiver();
      const sub = await hl.subscribe({ topic: 'lost.*', url: r.url });
      const published = await hl.publish('lost.x', { n: 1 });

      // Play the router by hand, on the router's own consumer (no router runs here): its job went out, the
      // row it committed was lost with Postgres, and the message is not acked.
      const n = hl.broker.names;
      const js = nc.jetstream();
      const jsm = await nc.jetstreamManager();
      const consumer = await js.consumers.get(n.messagesStream, n.routerConsumer);
      const taken: JsMsg[] = [];
      for await (const m of await consumer.fetch({ max_messages: 1, expires: 5000 })) taken.push(m);
      expect(taken).toHaveLength(1);
      const m = taken[0]!;
      const job = firstAttemptJob({
        deliveryId: deliveryId(published.id, sub.id),
        subscriptionId: sub.id,
        messageId: published.id,
        streamSeq: m.seq,
      });
      await publishJob(js, n, job);

      await new Promise((res) => setTimeout(res, 2500));
      expect(r.requests).toHaveLength(0);
      // The job is still queued (the work queue drops a job only when it is acked).
      expect((await jsm.streams.info(n.deliveriesStream)).state.messages).toBe(1);

      // The message routed again: the row is written, the job's copy is a duplicate, the message is acked.
      const pool = hl.db;
      const deps = { pool, js, names: n, subscriptions: new SubscriptionSync(pool) };
      expect(await fanOutMessages(deps, [m])).toBe(1);
      m.ack();
      await waitFor(() => r.requests.length === 1, 'the delivery');
      await waitFor(async () => {
        const { rows } = await pool.query('SELECT status, attempt_count FROM deliveries WHERE id = $1', [job.deliveryId]);
        return rows[0]?.status === 'succeeded' && rows[0].attempt_count === 1;
      }, 'the attempt on record');
      await new Promise((res) => setTimeout(res, 500));
      expect(r.requests).toHaveLength(1);
    }, 60_000);
  });
});
