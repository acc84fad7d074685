import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { mintToken } from '../../shared/auth/tokens.js';
import { brokerProcessEnv, freePort, spawnBroker, waitReady, type BrokerProcess } from '../helpers/broker-process.js';
import { dropIsolated, isolatedNames } from '../helpers/isolated.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

const MESSAGES = 600;
const iso = isolatedNames();
const secret = randomBytes(32).toString('hex');
const token = mintToken(secret, { sub: 'crash-test', scope: 'admin', expiresIn: '1h' });
let receivers: Receiver[] = [];
let procs: BrokerProcess[] = [];
let port: number;

function env() {
  return brokerProcessEnv(port, iso, secret, {
    // How soon JetStream hands a dead process's unacked work to its successor.
    HOOKLINE_ACK_WAIT_S: '5',
  });
}

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  port = await freePort();
});

afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await Promise.all(receivers.map((r) => r.close()));
  await dropIsolated(iso.database, iso.prefix);
});

describe('crash safety', () => {
  it('when the broker is SIGKILLed with hundreds of deliveries in flight, then after a restart every accepted message is delivered', async () => {
    // Slow receivers keep many deliveries in flight at the moment of the kill.
    const a = await startReceiver(() => ({ status: 200, delayMs: 40 }));
    const b = await startReceiver(() => ({ status: 200, delayMs: 40 }));
    receivers = [a, b];
    const first = spawnBroker(env());
    procs.push(first);
    await waitReady(`http://127.0.0.1:${port}`, first);

    for (const [topic, r] of [['crash.a.>', a], ['crash.>', b]] as const) {
      expect((await api('POST', '/v1/subscriptions', { topic, url: r.url })).status).toBe(201);
    }
    const accepted: string[] = [];
    for (let i = 0; i < MESSAGES / 200; i++) {
      const res = await api('POST', '/v1/topics/crash.a.order/batch', {
        messages: Array.from({ length: 200 }, (_, j) => ({ n: i * 200 + j })),
      });
      expect(res.status).toBe(202);
      accepted.push(...(res.body.ids as string[]));
    }
    await waitFor(() => a.requests.length + b.requests.length >= 150, 'deliveries to be under way');
    first.child.kill('SIGKILL');
    await first.exited;
    const seenAtKill = a.requests.length + b.requests.length;
    expect(seenAtKill).toBeLessThan(2 * MESSAGES);

    const second = spawnBroker(env());
    procs.push(second);
    await waitReady(`http://127.0.0.1:${port}`, second);
    const idsOf = (r: Receiver) => new Set(r.requests.map((q) => String(q.headers['webhook-id'])));
    await waitFor(
      () => idsOf(a).size === MESSAGES && idsOf(b).size === MESSAGES,
      'every accepted message at both receivers',
      { timeoutMs: 60_000, intervalMs: 200 },
    ).catch((err: Error) => {
      const state = `a=${idsOf(a).size} b=${idsOf(b).size} of ${MESSAGES}`;
      throw new Error(`${err.message} (${state})\n--- restarted broker log (tail) ---\n${second.output().slice(-4000)}`);
    });
    expect(idsOf(a)).toEqual(new Set(accepted));
    expect(idsOf(b)).toEqual(new Set(accepted));

    // Postgres agrees: every delivery succeeded, and no attempt number is recorded twice.
    const db = new pg.Client({ connectionString: iso.databaseUrl });
    await db.connect();
    try {
      await waitFor(async () => {
        const { rows } = await db.query(`SELECT count(*)::int AS n FROM deliveries WHERE status = 'succeeded'`);
        return rows[0].n === 2 * MESSAGES;
      }, 'every delivery to be recorded as succeeded');
      const { rows } = await db.query('SELECT count(*)::int AS n FROM attempts');
      expect(rows[0].n).toBeGreaterThanOrEqual(2 * MESSAGES);
    } finally {
      await db.end();
    }
    const duplicates = a.requests.length + b.requests.length - 2 * MESSAGES;
    process.stdout.write(`crash: ${seenAtKill} requests before the kill, ${duplicates} duplicate deliveries after restart\n`);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 120_000);
});
