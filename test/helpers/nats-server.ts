import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './broker-process.js';

/** Where the server binary lives; overridable for machines that install it elsewhere. */
export const NATS_SERVER_BIN = process.env.TEST_NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/**
 * A private JetStream-enabled nats-server on 127.0.0.1 (its own free port and temporary store directory)
 * for fault tests that stop or restart the server: the shared one on 4222 is never touched.
 */
export interface NatsServer {
  port: number;
  url: string;
  storeDir: string;
  /** Everything the server wrote to stdout and stderr, across restarts. */
  output(): string;
  readonly running: boolean;
  /** Stops the server; SIGKILL (the default) is a crash, SIGTERM a clean shutdown. Keeps the store. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and store directory (what it stored survives). */
  start(): Promise<void>;
  /** Stops the server and deletes its store directory; never throws. */
  close(): Promise<void>;
}

/** Every server this module started, killed if the test process exits without closing them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Starts a private nats-server and resolves once it accepts clients. */
export async function startNatsServer(options: { port?: number; readyTimeoutMs?: number } = {}): Promise<NatsServer> {
  const port = options.port ?? (await freePort());
  const storeDir = await mkdtemp(path.join(tmpdir(), 'hookline-nats-'));
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  let out = '';
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    if (child) throw new Error('nats-server is already running');
    const c = spawn(NATS_SERVER_BIN, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    live.add(c);
    exited = new Promise<void>((resolve) =>
      c.once('exit', () => {
        live.delete(c);
        if (child === c) child = undefined;
        resolve();
      }),
    );
    const mark = out.length;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        c.kill('SIGKILL');
        reject(new Error(`nats-server on port ${port} not ready after ${readyTimeoutMs} ms:\n${out.slice(mark)}`));
      }, readyTimeoutMs);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.indexOf('Server is ready', mark) >= 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      c.stdout!.on('data', onData);
      c.stderr!.on('data', onData);
      c.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (${code ?? signal}) before it was ready:\n${out.slice(mark)}`));
      });
      c.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  };

  const stop = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const c = child;
    if (!c) return;
    c.kill(signal);
    await exited;
  };

  await start().catch(async (err) => {
    await rm(storeDir, { recursive: true, force: true });
    throw err;
  });
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    storeDir,
    output: () => out,
    get running() {
      return child !== undefined;
    },
    stop,
    start,
    async close() {
      await stop('SIGKILL').catch(() => {});
      await rm(storeDir, { recursive: true, force: true }).catch(() => {});
    },
  };
}
