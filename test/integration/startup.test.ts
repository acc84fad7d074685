import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { connect } from 'nats';
import { mintToken } from '../../shared/auth/tokens.js';
import { names } from '../../shared/nats/subjects.js';
import { dropIsolated, isolatedNames, TEST_NATS_URL } from '../helpers/isolated.js';
import { waitFor } from '../helpers/wait-for.js';
import { freePort } from '../helpers/kit.js';

/**
 * The real entry point (`services/all/main.ts`) as a child process: a bad configuration or an unreachable
 * server stops it with a message that names the culprit, and a good one serves, becomes ready and exits 0 on
 * SIGTERM.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECRET = 'startup-test-secret-0123456789abcdef0123';
const toDrop: { database: string; prefix: string }[] = [];

afterAll(async () => {
  for (const { database, prefix } of toDrop) await dropIsolated(database, prefix);
});

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
}

/** Starts main.ts with only the given environment (plus PATH/HOME); killed after `killAfterMs` regardless. */
function start(env: Record<string, string>, killAfterMs = 30_000): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/all/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', HOOKLINE_JWT_SECRET: SECRET, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** A fresh database and stream prefix, dropped after the file. */
function isolated() {
  const n = isolatedNames();
  toDrop.push({ database: n.database, prefix: n.prefix });
  return n;
}

describe('start-up failures', () => {
  it('when NATS is unreachable, then it exits non-zero and stderr names the URL and how to start NATS', async () => {
    const { databaseUrl, prefix } = isolated();
    const run = start({ NATS_URL: 'nats://127.0.0.1:1', DATABASE_URL: databaseUrl, HOOKLINE_STREAM_PREFIX: prefix });
    const code = await run.exited;
    expect(code).not.toBe(0);
    expect(code).not.toBe('SIGKILL');
    expect(run.stderr()).toContain('nats://127.0.0.1:1');
    expect(run.stderr()).toMatch(/nats-server -js/);
    expect(run.stderr()).toContain('NATS_URL');
  });

  it('when Postgres is unreachable, then it exits non-zero and stderr names the URL and how to start Postgres', async () => {
    const url = 'postgres://postgres@127.0.0.1:1/x';
    const run = start({ DATABASE_URL: url, NATS_URL: TEST_NATS_URL, HOOKLINE_STREAM_PREFIX: 'tunused' });
    const code = await run.exited;
    expect(code).not.toBe(0);
    expect(code).not.toBe('SIGKILL');
    expect(run.stderr()).toContain(url);
    expect(run.stderr()).toContain('DATABASE_URL');
  });

  it('when the database URL carries a password, then stderr masks it', async () => {
    const run = start({ DATABASE_URL: 'postgres://postgres:hunter2hunter2@127.0.0.1:1/x', HOOKLINE_STREAM_PREFIX: 'tunused' });
    expect(await run.exited).not.toBe(0);
    expect(run.stderr()).toContain('127.0.0.1:1/x');
    expect(run.stderr()).not.toContain('hunter2hunter2');
  });

  it.each([
    ['PORT', 'abc'],
    ['HOOKLINE_ROLES', 'api,web'],
    ['HOOKLINE_ALLOW_PRIVATE_TARGETS', '10.0.0.0/99'],
  ])('when %s is %j, then it exits non-zero before connecting anywhere, naming the variable', async (name, value) => {
    const run = start({ [name]: value, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x', NATS_URL: 'nats://127.0.0.1:1' });
    const code = await run.exited;
    expect(code).toBe(2);
    expect(run.stderr()).toMatch(new RegExp(`\\n  ${name}[.:]`));
    expect(run.stderr()).toMatch(/^Invalid configuration:/);
    // Failing on the configuration, not on the unreachable servers it was also given.
    expect(run.stderr()).not.toContain('Cannot reach');
  });
});

describe('a good start', () => {
  it('when started with a fresh database and prefix, then it logs "hookline started", is ready, serves the API and exits 0 on SIGTERM', async () => {
    const { database, databaseUrl, prefix } = isolated();
    const port = await freePort();
    const run = start({
      PORT: String(port),
      NATS_URL: TEST_NATS_URL,
      DATABASE_URL: databaseUrl,
      HOOKLINE_STREAM_PREFIX: prefix,
      LOG_LEVEL: 'info',
    });
    try {
      await waitFor(() => run.stdout().includes('"msg":"hookline started"') || run.child.exitCode !== null, 'hookline started', {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      expect(run.child.exitCode).toBeNull();
      const started = run.stdout().split('\n').find((l) => l.includes('"msg":"hookline started"'))!;
      expect(JSON.parse(started)).toMatchObject({ port, roles: ['api', 'router', 'dispatcher'] });

      const base = `http://127.0.0.1:${port}`;
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', checks: { accepting: true, nats: true, postgres: true } });

      // The configured secret is the one it verifies tokens with; the database and streams are the isolated ones.
      const token = mintToken(SECRET, { sub: 'startup', scope: 'admin', expiresIn: 60 });
      const list = await fetch(`${base}/v1/subscriptions`, { headers: { authorization: `Bearer ${token}` } });
      expect(list.status).toBe(200);
      expect(await list.json()).toEqual({ items: [], next: null });
      const nc = await connect({ servers: TEST_NATS_URL });
      try {
        const info = await (await nc.jetstreamManager()).streams.info(names(prefix).messagesStream);
        expect(info.config.name).toBe(`${prefix.toUpperCase()}_MESSAGES`);
      } finally {
        await nc.close();
      }
      expect(database).toMatch(/^hookline_t_/);

      const t0 = Date.now();
      run.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([run.exited, new Promise((r) => (timer = setTimeout(() => r('still running'), 15_000)))]);
      clearTimeout(timer);
      expect(code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(run.stdout()).toContain('"msg":"shutting down"');
      await expect(fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      await run.exited;
    }
  });
});
