import { randomBytes } from 'node:crypto';
import type { Pool } from './pool.js';

/**
 * The key named `name`, shared by every replica through Postgres: the first replica to ask creates it
 * (32 random bytes), every other one reads the same row. Keys live beside the webhook secrets, which the
 * database already guards.
 */
export async function loadServerKey(pool: Pool, name: string): Promise<Buffer> {
  // Two statements, not one: a replica that loses the insert race must read the winner's committed row,
  // which a single statement's snapshot would not show it.
  await pool.query('INSERT INTO server_keys (name, key) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [
    name,
    randomBytes(32),
  ]);
  const { rows } = await pool.query<{ key: Buffer }>('SELECT key FROM server_keys WHERE name = $1', [name]);
  const key = rows[0]?.key;
  if (!key) throw new Error(`server key ${name} could not be created or read`);
  return key;
}
