/**
 * A dispatcher killed with attempts out: its work is taken over within the default ack wait, each attempt
 * it had sent stays on record as interrupted, the next goes out as attempt 2, and the API shows the
 * deliveries waiting for takeover meanwhile. A slow endpoint whose process is alive gets no second copy.
 * The takeover starts its own brokers: they are OS processes, one killed with SIGKILL, which the kit's
 * in-process broker cannot be.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mintToken } from '../../shared/auth/tokens.js';
import { brokerProcessEnv, spawnBroker, waitReady, type BrokerProcess } from '../helpers/broker-process.js';
import { dropIsolated, isolatedNames } from '../helpers/isolated.js';
import { freePort, withBroker, withReceivers } from '../helpers/kit.js';
import { waitFor } from '../helpers/wait-for.js';

const MESSAGES = 5;
const iso = isolatedNames();
const secret = randomBytes(32).toString('hex');
const token = mintToken(secret, { sub: 'takeover-test', scope: 'admin', expiresIn: '1h' });
const procs: BrokerProcess[] = [];
const startReceiver = withReceivers();

function env(port: number, roles: string) {
  // HOOKLINE_ACK_WAIT_S is left at its default: that is what is measured.
  return brokerProcessEnv(port, iso, secret, { HOOKLINE_ROLES: roles });
}

async function start(roles: string): Promise<BrokerProcess> {
  const port = await freePort();
  const p = spawnBroker(env(port, roles));
  procs.push(p);
  await waitReady(`http://127.0.0.1:${port}`, p);
  return p;
}

afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await dropIsolated(iso.database, iso.prefix);
});

describe('takeover of a dead dispatcher', () => {
  it('when a dispatcher is SIGKILLed with attempts out, then another takes them over within 10 s, records them as interrupted and sends attempt 2, and the API shows them waiting for takeover meanwhile', async () => {
    // First attempts are never answered before the kill; later ones at once.
    const receiver = await startReceiver((r) => (r.headers['hookline-attempt'] === '1' ? { status: 200, delayMs: 25_000 } : { status: 200 }));
    const apiPort = await freePort();
    const apiProc = spawnBroker(env(apiPort, 'api,router'));
    procs.push(apiProc);
    await waitReady(`http://127.0.0.1:${apiPort}`, apiProc);
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    const dispatcher = await start('dispatcher');

    const sub = await api('POST', '/v1/subscriptions', { topic: 'takeover.>', url: receiver.url, timeoutMs: 30_000 });
    expect(sub.status).toBe(201);
    const pub = await api('POST', '/v1/topics/takeover.work/batch', { messages: Array.from({ length: MESSAGES }, (_, i) => ({ i })) });
    expect(pub.status).toBe(202);
    await waitFor(() => receiver.requests.length >= MESSAGES, 'every first attempt to be out', { timeoutMs: 30_000 });
    const deliveries = async () => (await api('GET', `/v1/subscriptions/${sub.body.id}/deliveries?limit=100`)).body.items as Record<string, unknown>[];
    await waitFor(
      async () => (await deliveries()).every((d) => (d.inFlight as { attempt?: number } | undefined)?.attempt === 1),
      'the API to show every first attempt in flight',
    );
    expect((await deliveries()).map((d) => d.inFlight)).toEqual(
      Array.from({ length: MESSAGES }, () => expect.objectContaining({ attempt: 1, awaitingTakeover: false })),
    );

    // A second replica, running before the kill like any standby, with none of the work.
    await start('dispatcher');
    dispatcher.child.kill('SIGKILL');
    await dispatcher.exited;
    const killedAt = Date.now();

    await waitFor(
      async () => (await deliveries()).every((d) => (d.inFlight as { awaitingTakeover?: boolean } | undefined)?.awaitingTakeover === true),
      'the API to show the deliveries waiting for takeover',
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    const second = () => receiver.requests.filter((r) => r.headers['hookline-attempt'] !== '1');
    await waitFor(() => second().length >= MESSAGES, 'every delivery to be taken over', { timeoutMs: 45_000, intervalMs: 100 });
    const takeoverS = (Math.max(...second().map((r) => r.at)) - killedAt) / 1000;
    process.stdout.write(`takeover: all ${MESSAGES} deliveries sent again ${takeoverS.toFixed(1)} s after the SIGKILL\n`);
    expect(takeoverS).toBeLessThan(10);
    // The next attempt carries its number.
    expect(second().map((r) => r.headers['hookline-attempt'])).toEqual(Array.from({ length: MESSAGES }, () => '2'));
    expect(new Set(second().map((r) => String(r.headers['webhook-id'])))).toEqual(new Set(pub.body.ids));

    // Every attempt on record: the interrupted first one, then the delivered second.
    for (const d of await deliveries()) {
      const detail = await waitFor(async () => {
        const res = await api('GET', `/v1/deliveries/${d.id}`);
        return res.body.status === 'succeeded' ? res.body : undefined;
      }, `delivery ${d.id} to succeed`);
      expect(detail.attemptCount).toBe(2);
      expect(detail.inFlight).toBeUndefined();
      expect(detail.attempts).toEqual([
        expect.objectContaining({ n: 1, outcome: 'interrupted', error: expect.stringMatching(/^interrupted/) }),
        expect.objectContaining({ n: 2, outcome: 'succeeded', statusCode: 200 }),
      ]);
    }
    process.stdout.write(`takeover: attempts of one delivery ${JSON.stringify((await api('GET', `/v1/deliveries/${(await deliveries())[0]!.id}`)).body.attempts.map((a: { n: number; outcome: string }) => `${a.n}:${a.outcome}`))}\n`);
  }, 120_000);

  describe('with an ack wait of 5 s', () => {
    const hl = withBroker({ HOOKLINE_ACK_WAIT_S: '5' });

    it('when an endpoint takes longer than the ack wait and its dispatcher is alive, then it gets each message once and the API shows the attempt in flight, not waiting for takeover', async () => {
      const SLOW_MS = 7000;
      const receiver = await hl.receiver(() => ({ status: 200, delayMs: SLOW_MS }));
      const sub = await hl.subscribe({ topic: 'slow.alive', url: receiver.url, timeoutMs: 15_000 });
      await hl.publishBatch('slow.alive', 3);

      await waitFor(() => receiver.requests.length === 3, 'the three requests to be out');
      // Past the ack wait, still in flight and not awaiting takeover.
      await new Promise((r) => setTimeout(r, 5500));
      const listed = await hl.http().get(`/v1/subscriptions/${sub.id}/deliveries`).set(hl.auth);
      expect(listed.body.items.map((d: { inFlight?: unknown }) => d.inFlight)).toEqual(
        Array.from({ length: 3 }, () => expect.objectContaining({ attempt: 1, awaitingTakeover: false })),
      );

      await waitFor(async () => {
        const { rows } = await hl.db.query(`SELECT count(*)::int AS n FROM deliveries WHERE status = 'succeeded'`);
        return rows[0].n === 3;
      }, 'the three deliveries to succeed');
      const { rows } = await hl.db.query(`SELECT n, outcome FROM attempts ORDER BY delivery_id, n`);
      expect(rows).toEqual(Array.from({ length: 3 }, () => ({ n: 1, outcome: 'succeeded' })));
      // A second copy would have gone out before the first came back; give a straggler a moment.
      await new Promise((r) => setTimeout(r, 2000));
      expect(receiver.requests.length).toBe(3);
    }, 60_000);
  });
});
