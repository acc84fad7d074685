import { expect, it } from '@jest/globals';
import pg from 'pg';
import { closePool } from '../../shared/db/pool.js';
import { TEST_PG_URL } from '../helpers/isolated.js';

/**
 * How the broker lets go of Postgres at shutdown. An embedded server is stopped right after it, and stopping
 * a server terminates the connections still open, each then reported as lost: they must all have closed first.
 */

async function poolWithClients(n: number) {
  const pool = new pg.Pool({ connectionString: TEST_PG_URL, max: n });
  const clients = await Promise.all(Array.from({ length: n }, () => pool.connect()));
  const ended = new Set<pg.PoolClient>();
  for (const c of clients) c.on('end', () => ended.add(c));
  return { pool, clients, ended };
}

it('when a pool of idle connections is closed, then every connection has ended by the time it resolves', async () => {
  const { pool, clients, ended } = await poolWithClients(8);
  for (const c of clients) c.release();
  await closePool(pool);
  expect(ended.size).toBe(8);
});

it('when a connection is still checked out as the pool is closed, then closing waits for its release and its end', async () => {
  const { pool, clients, ended } = await poolWithClients(3);
  for (const c of clients.slice(1)) c.release();
  let released = false;
  setTimeout(() => {
    released = true;
    clients[0]!.release();
  }, 100);
  await closePool(pool);
  expect(released).toBe(true);
  expect(ended.size).toBe(3);
});
