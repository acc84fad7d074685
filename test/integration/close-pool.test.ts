import { expect, it } from '@jest/globals';
import pg from 'pg';
import { closePool } from '../../shared/db/pool.js';
import { TEST_PG_URL } from '../helpers/isolated.js';

/**
 * How the broker lets go of Postgres at shutdown. An embedded server is stopped right after it, and stopping
 * a server terminates the connections still open, each then reported as lost: they must all have closed first.
 * pg-pool's own end() already waits for a checked-out client's release and end; it is the idle ones it does not
 * wait for, and that is what this proves.
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
