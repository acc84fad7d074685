import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';

/** A `nats-server -js` child process on 127.0.0.1. */
export interface NatsChild {
  url: string;
  port: number;
  storeDir: string;
  bin: string;
  pid: number;
  /** SIGTERM and wait for the exit. Idempotent. */
  stop(): Promise<void>;
}

/** Where `nats-server` is installed: the first executable on PATH, then Debian's /usr/sbin; undefined if none. */
export async function findNatsServer(envPath = process.env.PATH ?? ''): Promise<string | undefined> {
  const dirs = [...envPath.split(path.delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'nats-server');
    const found = await access(candidate, constants.X_OK).then(
      () => true,
      () => false,
    );
    if (found) return candidate;
  }
  return undefined;
}

/** Every child this module started, killed if the process exits without stopping them. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGTERM');
});

/** Starts `bin -js` on 127.0.0.1:`port` storing in `storeDir`; resolves once it accepts clients. */
export async function startNatsChild(options: {
  bin: string;
  port: number;
  storeDir: string;
  readyTimeoutMs?: number;
}): Promise<NatsChild> {
  const { bin, port } = options;
  const storeDir = path.resolve(options.storeDir);
  await mkdir(storeDir, { recursive: true });
  const child = spawn(bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a terminal's Ctrl-C must reach Hookline, which drains and then stops it.
    detached: true,
  });
  children.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      children.delete(child);
      resolve();
    }),
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server on 127.0.0.1:${port} was not ready within ${options.readyTimeoutMs ?? 15_000} ms:\n${out}`));
    }, options.readyTimeoutMs ?? 15_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('Server is ready')) {
        clearTimeout(timer);
        // Keep draining its output so a chatty server never blocks on a full pipe.
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${bin}: ${err.message}`, { cause: err }));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${code ?? signal}) before it was ready:\n${out.trim()}`));
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    bin,
    pid: child.pid!,
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      })();
      return stopping;
    },
  };
}
