import type { PoolClient, QueryConfig, QueryResult } from 'pg';
import type { Pool } from './pool.js';
import type { Queryable } from './queryable.js';

/**
 * One pooled connection whose commits return without waiting for the WAL to reach disk
 * (`synchronous_commit = off`). What such a commit writes is visible to every other session at once, like
 * any commit; it becomes durable a moment later — when any later synchronous commit flushes the WAL past it
 * (see {@link flushWal}), or within three `wal_writer_delay`s — and a crash of Postgres itself before that
 * loses it. Only for writes whose owner makes them durable (flushWal) before it tells anyone they are
 * stored, and whose readers never act on them irreversibly without a synchronous commit of their own.
 *
 * The connection is taken from the pool on first use and never handed back with the setting on: it is
 * closed on `close()` and replaced after an error. Callers use it one statement at a time.
 */
export class AsyncCommitSession {
  private client: Promise<PoolClient> | undefined;

  constructor(private readonly pool: Pool) {}

  async query(config: QueryConfig): Promise<QueryResult> {
    const pending = (this.client ??= this.open());
    const client = await pending.catch((err: unknown) => {
      if (this.client === pending) this.client = undefined;
      throw err;
    });
    try {
      return await client.query(config);
    } catch (err) {
      // A failed statement may also be a lost connection: start afresh rather than find out.
      this.discard(pending, client, err as Error);
      throw err;
    }
  }

  private async open(): Promise<PoolClient> {
    const client = await this.pool.connect();
    const pending = this.client;
    // A connection that drops emits 'error' on its client; unheard, that would end the process.
    client.on('error', (err) => this.discard(pending, client, err));
    try {
      await client.query('SET synchronous_commit TO off');
    } catch (err) {
      this.discard(pending, client, err as Error);
      throw err;
    }
    return client;
  }

  private readonly discarded = new WeakSet<PoolClient>();

  /** Hands a broken connection back to the pool to be closed (once), and forgets it. */
  private discard(pending: Promise<PoolClient> | undefined, client: PoolClient, err: Error | true): void {
    if (pending && this.client === pending) this.client = undefined;
    if (this.discarded.has(client)) return;
    this.discarded.add(client);
    client.release(err);
  }

  /** Closes the connection (it never returns to the pool with asynchronous commits on). */
  async close(): Promise<void> {
    const pending = this.client;
    this.client = undefined;
    const client = await pending?.catch(() => undefined);
    if (client) this.discard(undefined, client, true);
  }
}

/**
 * Makes every commit made before it durable, from any session: a transaction that writes a (logical
 * decoding) message to the WAL commits synchronously, and its flush takes everything before it along. On a
 * server with `synchronous_commit = off` for everyone this flushes nothing, as nothing else does there.
 */
export async function flushWal(db: Queryable): Promise<void> {
  await db.query({ name: 'flush-wal', text: `SELECT pg_logical_emit_message(true, 'hookline', '')` });
}
