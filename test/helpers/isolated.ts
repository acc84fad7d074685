import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../shared/db/migrate.js';
import { maintainLogPartitions, type LogRetentionPolicy } from '../../shared/log-retention.js';
import { createPool, ensureDatabase, type Pool } from '../../shared/db/pool.js';
import { connect } from 'nats';
import { names } from '../../shared/nats/subjects.js';
import { DEFAULT_RETRY_POLICY } from '../../shared/backoff.js';
import { insertSubscription, type NewSubscription, type SubscriptionRecord } from '../../shared/db/subscriptions.js';
import { newId } from '../../shared/ids.js';

/** The servers tests talk to; CI and developers run them on 127.0.0.1, overridable by env. */
export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
export const TEST_PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh database name and stream prefix for one test file, so runs never collide. */
export function isolatedNames(): { database: string; databaseUrl: string; prefix: string } {
  const tag = randomBytes(5).toString('hex');
  const database = `hookline_t_${tag}`;
  const u = new URL(TEST_PG_URL);
  u.pathname = `/${database}`;
  return { database, databaseUrl: u.toString(), prefix: `t${tag}` };
}

/** Drops the test database and deletes the test streams; never throws. */
export async function dropIsolated(database: string, prefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  try {
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } catch {
    // best effort
  } finally {
    await client.end().catch(() => {});
  }
  try {
    const nc = await connect({ servers: TEST_NATS_URL });
    const jsm = await nc.jetstreamManager();
    const n = names(prefix);
    for (const s of [n.messagesStream, n.deliveriesStream]) await jsm.streams.delete(s).catch(() => {});
    await nc.close();
  } catch {
    // best effort
  }
}

/**
 * A fresh, migrated database for tests that drive the storage layer directly (no broker): its pool, and
 * `drop` to close the pool and remove the database.
 */
export async function migratedDatabase(
  logPolicy: LogRetentionPolicy = { retentionMs: 14 * 86_400_000, partitionMs: 86_400_000 },
): Promise<{ pool: Pool; drop: () => Promise<void> }> {
  const iso = isolatedNames();
  await ensureDatabase(iso.databaseUrl);
  const pool = await createPool(iso.databaseUrl, 4);
  await migrate(pool);
  // What a broker does at start-up: partitions for the rows tests write now.
  await maintainLogPartitions(pool, logPolicy);
  return {
    pool,
    drop: async () => {
      await pool.end();
      await dropIsolated(iso.database, iso.prefix);
    },
  };
}

/**
 * A webhook subscription row written straight to a migrated database, for suites that test storage without
 * a broker: tenant `t`, owner `o`, topic `a.b`, a closed port as its URL, unless `fields` say otherwise.
 */
export function insertWebhookRow(pool: Pool, fields: Partial<NewSubscription> = {}): Promise<SubscriptionRecord> {
  return insertSubscription(pool, {
    id: newId('sub'),
    tenant: 't',
    owner: 'o',
    type: 'webhook',
    topic: 'a.b',
    url: 'http://127.0.0.1:9/a',
    secret: 'whsec_x',
    retry: DEFAULT_RETRY_POLICY,
    timeoutMs: 1000,
    ordered: false,
    filter: null,
    description: null,
    options: {},
    ...fields,
  });
}
