import pg, { type PoolClient } from 'pg';
import type { Logger } from '../logger.js';

export type Pool = pg.Pool;

/** Thrown when Postgres cannot be reached; the message names the URL (without password) and how to start it. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
  readonly code = 'database.unavailable';
}

/** The URL with any password masked, safe to print. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function unreachable(url: string, cause: unknown): DatabaseUnavailableError {
  return new DatabaseUnavailableError(
    `Cannot reach PostgreSQL at ${redactUrl(url)}: ${(cause as Error).message}. ` +
      'Start it (e.g. `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or ' +
      '`docker run -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16`) or set DATABASE_URL.',
    { cause },
  );
}

/**
 * Creates the database named in `url` if it does not exist yet, connecting to the `postgres` maintenance
 * database of the same server to do so.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) return;
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    throw unreachable(url, err);
  }
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((err: { code?: string }) => {
        // Another replica created it between our check and our CREATE.
        if (err.code !== '42P04' && err.code !== '23505') throw err;
      });
    }
  } finally {
    await client.end();
  }
}

/** A connection pool that has proven it can reach the server. */
/**
 * @param logger where an idle connection's loss is reported; absent only for short-lived scripts and tests,
 *   which have nothing to report to.
 */
export async function createPool(url: string, max = 16, logger?: Logger): Promise<Pool> {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 5000,
    // The hot statements are named (parsed once per connection) and take their rows as arrays. A cached
    // generic plan cannot see an array's length, guesses 100 rows per unnest and hash-joins them against a
    // sequential scan of deliveries; planned with the actual arrays they use the primary key. Measured:
    // 3,838 sequential scans of deliveries in 20 s at 300 msg/s with generic plans.
    options: '-c plan_cache_mode=force_custom_plan',
  });
  // An idle client losing its connection (server restart) must not crash the process; the pool replaces it.
  // Logged, not dropped: a run of these is how a flapping or restarting Postgres shows.
  pool.on('error', (err) => logger?.warn({ err }, 'idle Postgres connection lost; the pool replaces it'));
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw unreachable(url, err);
  }
  return pool;
}

/**
 * Ends `pool` and resolves once its connections have closed. pg-pool's own end() resolves as soon as it has let
 * go of its clients, before their connections close: a server stopped right after (the embedded one, on
 * Ctrl-C) then terminates connections still open, and each is reported as lost. Waits `timeoutMs` at most.
 */
export async function closePool(pool: Pool, timeoutMs = 5000): Promise<void> {
  const open = pool.totalCount;
  let closed = 0;
  const allClosed = new Promise<void>((resolve) => {
    if (open === 0) resolve();
    // 'remove' is emitted once a client's connection has ended, each checked-out one when it is released.
    pool.on('remove', () => {
      if (++closed >= open) resolve();
    });
  });
  await pool.end();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([allClosed, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}

/** Runs `fn` in a transaction on one pooled client. */
export async function inTransaction<T>(pool: Pool, fn: (db: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client whose connection drops emits 'error'; unheard, that kills the process. The
  // failed query rejects on its own, and release(err) below throws the broken client away.
  let broken: Error | undefined;
  const onError = (err: Error) => (broken = err);
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
