import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnBroker } from '../helpers/broker-process.js';
import { dropIsolated, isolatedNames, TEST_NATS_URL } from '../helpers/isolated.js';

/**
 * The real entry point started on a port something else already holds: it must say which port is taken and
 * exit non-zero, not crash on the missing address of a server that never listened.
 */

const iso = isolatedNames();
let holder: Server;
let port: number;

beforeAll(async () => {
  holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  port = (holder.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => holder.close(resolve));
  await dropIsolated(iso.database, iso.prefix);
});

describe('a taken port', () => {
  it('when PORT is already in use on HOOKLINE_HOST, then it exits 1 and stderr names the port', async () => {
    const run = spawnBroker({
      PORT: String(port),
      HOOKLINE_HOST: '127.0.0.1',
      NATS_URL: TEST_NATS_URL,
      DATABASE_URL: iso.databaseUrl,
      HOOKLINE_STREAM_PREFIX: iso.prefix,
      HOOKLINE_JWT_SECRET: 'port-in-use-secret-0123456789abcdef0123',
      HOOKLINE_ENV: 'test',
    });
    // It connects, migrates a fresh database and creates streams before it listens: slow on a crowded machine.
    const killer = setTimeout(() => run.child.kill('SIGKILL'), 100_000);
    const code = await run.exited;
    clearTimeout(killer);
    expect(code).toBe(1);
    expect(run.output()).toContain(`port ${port} is already in use on 127.0.0.1`);
    expect(run.output()).not.toContain('Cannot read properties');
  }, 120_000);
});
