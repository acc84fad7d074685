import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_NATS_URL } from './isolated.js';
import { waitFor } from './wait-for.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export { freePort } from '../../shared/local-servers/port-probe.js';

/**
 * The environment of a broker process listening on `port`, on its own database and stream prefix (`iso`), with
 * tokens signed by `secret` and loopback webhook targets allowed; on the test NATS unless `extra` names another.
 */
export function brokerProcessEnv(
  port: number,
  iso: { databaseUrl: string; prefix: string },
  secret: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PORT: String(port),
    NATS_URL: TEST_NATS_URL,
    DATABASE_URL: iso.databaseUrl,
    HOOKLINE_ENV: 'test',
    HOOKLINE_JWT_SECRET: secret,
    HOOKLINE_STREAM_PREFIX: iso.prefix,
    HOOKLINE_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8',
    ...extra,
  };
}

/** The broker as a separate OS process (the real entry point), for crash and shutdown tests. */
export interface BrokerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export function spawnBroker(env: Record<string, string>): BrokerProcess {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/all/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Resolves once GET /readyz answers 200. */
export async function waitReady(baseUrl: string, proc: BrokerProcess, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`broker exited: ${proc.output()}`);
      const res = await fetch(`${baseUrl}/readyz`);
      return res.status === 200;
    },
    'the broker to be ready',
    { timeoutMs, intervalMs: 100 },
  );
}
