import { afterAll, describe, expect, it } from '@jest/globals';
import { AckPolicy, connect, type JsMsg, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { durableMessages } from '../../shared/nats/durable-messages.js';
import { startNatsCluster, startNatsServer } from '../helpers/nats-server.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

/**
 * The bound this test holds the consumer to: from the SIGKILL of its consumer leader until a message
 * published afterwards is in hand. Election (≈ 2–4 s on a busy machine) plus two missed heartbeats.
 */
const BOUND_MS = 25_000;

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
});

/**
 * Takes the messages of `stream`'s durable consumer `worker` through durableMessages, acking each: what
 * arrived (the number each carries, and when), the log lines, and how often the iterator was opened. It
 * stops after the file.
 */
function consume(nc: NatsConnection, stream: string) {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  let stopping = false;
  let reopened = 0;
  const received: { n: number; at: number }[] = [];
  void (async () => {
    for await (const m of durableMessages({
      js: nc.jetstream(),
      stream,
      consumer: 'worker',
      maxMessages: 16,
      logger,
      stopping: () => stopping,
      onOpen: (it) => {
        reopened++;
        // Stopping first, so that stopping the iterator does not read as a lost pull to reopen.
        cleanup.push(async () => {
          stopping = true;
          it.stop();
        });
      },
      // Out of the way: recovery must come from the pulls themselves.
      stallMs: 600_000,
    }) as AsyncIterable<JsMsg>) {
      received.push({ n: Number(m.string()), at: Date.now() });
      m.ack();
    }
  })();
  return { received, lines, reopened: () => reopened };
}

describe('a durable consumer whose leader dies', () => {
  it('when the node leading a replicated consumer is SIGKILLed while the client stays connected elsewhere, then messages flow again within the bound without reopening the iterator, and the lost pull is logged', async () => {
    const cluster = await startNatsCluster(3);
    cleanup.push(() => cluster.close());
    const admin = await connect({ servers: cluster.url.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    cleanup.push(() => admin.close());
    const jsm = await admin.jetstreamManager();
    await jsm.streams.add({ name: 'LOSS', subjects: ['loss.>'], num_replicas: 3 });
    await jsm.consumers.add('LOSS', { durable_name: 'worker', ack_policy: AckPolicy.Explicit, ack_wait: 5_000_000_000 });
    const leader = (await jsm.consumers.info('LOSS', 'worker')).cluster!.leader!;
    // The consumer's client sits on a node that survives: only its pull, held by the leader, is lost.
    const survivor = cluster.nodes.find((n) => n.name !== leader)!;
    const nc: NatsConnection = await connect({ servers: survivor.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    cleanup.push(() => nc.close());

    const worker = consume(nc, 'LOSS');

    const js = admin.jetstream();
    const publish = async (n: number) => {
      await waitFor(
        () => js.publish('loss.x', String(n), { timeout: 2000 }).then(() => true),
        `publish ${n}`,
        { timeoutMs: 30_000, intervalMs: 200 },
      );
    };
    await publish(1);
    await waitFor(() => worker.received.some((r) => r.n === 1), 'the first message');

    await cluster.node(leader).stop('SIGKILL');
    const killedAt = Date.now();
    await publish(2);
    const got = await waitFor(() => worker.received.find((r) => r.n === 2), 'the message published after the kill', {
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    const resumedMs = got.at - killedAt;
    const newLeader = (await jsm.consumers.info('LOSS', 'worker')).cluster?.leader;
    process.stdout.write(`consumer leader ${leader} killed: next message in hand after ${resumedMs} ms (new leader ${newLeader})\n`);

    expect(resumedMs).toBeLessThanOrEqual(BOUND_MS);
    expect(worker.reopened()).toBe(1);
    expect(nc.isClosed()).toBe(false);
    expect(worker.lines.join('')).toContain('consumer pull lost; pulling again');
  }, 90_000);
});

describe('a durable consumer whose server restarts before JetStream answers', () => {
  it('when the client reconnects to a server whose JetStream does not answer yet, then messages flow again within the bound once it does', async () => {
    const nats = await startNatsServer();
    cleanup.push(() => nats.close());
    const nc: NatsConnection = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    cleanup.push(() => nc.close());
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'EARLY', subjects: ['early.>'] });
    await jsm.consumers.add('EARLY', { durable_name: 'worker', ack_policy: AckPolicy.Explicit });

    const worker = consume(nc, 'EARLY');
    const js = nc.jetstream();
    await js.publish('early.x', '1');
    await waitFor(() => worker.received.some((r) => r.n === 1), 'the first message');

    // The client reconnects while JetStream is not there; its consumer check fails. Then JetStream returns.
    await nats.stop('SIGKILL');
    await nats.start({ jetstream: false });
    await sleep(1000);
    await nats.stop('SIGKILL');
    await nats.start();
    const backAt = Date.now();
    await waitFor(() => js.publish('early.x', '2', { timeout: 2000 }).then(() => true), 'publish 2', { timeoutMs: 30_000, intervalMs: 200 });
    const got = await waitFor(() => worker.received.find((r) => r.n === 2), 'the message published after JetStream returned', {
      timeoutMs: 90_000,
      intervalMs: 20,
    });
    const resumedMs = got.at - backAt;
    process.stdout.write(`server restarted before JetStream answered: next message in hand ${resumedMs} ms after JetStream returned\n`);

    // The failed check is retried after 0.5–1.5 pull lifetimes: 2.5–7.5 s now, 15–45 s with 30 s pulls.
    expect(resumedMs).toBeLessThanOrEqual(12_000);
    expect(worker.reopened()).toBe(1);
  }, 150_000);
});
