/**
 * `npx tsx bench/stats-queries.ts [--deliveries 1000000] [--keep]`: times the statistics and message queries
 * (GET /v1/subscriptions/:id/stats, GET /v1/stats, GET /v1/messages, POST /v1/messages/summary) against a
 * throwaway database holding a million deliveries, and prints each query's median time and plan.
 * Figures and plans are recorded in docs/stats.md.
 *
 * The data, generated with INSERT … SELECT generate_series (seconds, not minutes):
 *   - 1,000 webhook subscriptions in one tenant; 20 of them failing (breaker open);
 *   - N/4 messages over the last 7 days on 50 topics `orders.t0` … `orders.t49`;
 *   - N deliveries: every message to the busiest subscription `sub_0` (its stats count N/4 rows), and to
 *     three more chosen at random; one attempt per delivery, 95 % of them 2xx, as the trigger-fed rollup sees them;
 *   - states: 94 % succeeded, 4 % dead, 1 % failed, 1 % pending.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { findMessages, listMessages } from '../shared/db/messages.js';
import { migrate } from '../shared/db/migrate.js';
import { maintainLogPartitions } from '../shared/log-retention.js';
import { createPool, ensureDatabase, type Pool } from '../shared/db/pool.js';
import { deliveryCountsOfMessages, subscriptionStats, tenantStats } from '../shared/db/stats.js';
import { patternToRegex } from '../shared/topics.js';

const { values } = parseArgs({
  options: {
    deliveries: { type: 'string', default: '1000000' },
    keep: { type: 'boolean', default: false },
    /** A database an earlier --keep run left: skip generating the rows. */
    reuse: { type: 'string' },
  },
});
const N = Number(values.deliveries);
const MESSAGES = Math.floor(N / 4);
const SUBS = 1000;
const RUNS = 25;

const base = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const database = values.reuse ?? `hookline_bench_stats_${randomBytes(4).toString('hex')}`;
const url = new URL(base);
url.pathname = `/${database}`;

async function time<T>(label: string, f: () => Promise<T>) {
  const t0 = performance.now();
  const r = await f();
  console.log(`${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return r;
}

/** Generates the rows (see the header). */
async function load(pool: Pool) {
  await time('subscriptions', () =>
    pool.query(
      `INSERT INTO subscriptions (id, tenant, owner, type, topic, url, secret, retry, timeout_ms)
       SELECT 'sub_' || i, 'default', CASE WHEN i < 10 THEN 'alice' ELSE 'ops' END, 'webhook',
         CASE WHEN i = 0 THEN 'orders.>' ELSE 'orders.t' || (i % 50) END, 'https://example.com/' || i, 'whsec_x',
         '{}', 10000
       FROM generate_series(0, $1 - 1) i`,
      [SUBS],
    ),
  );
  await pool.query(
    `UPDATE endpoint_health SET state = 'open', failing_since = now() - interval '1 hour', probe_at = now() + interval '1 minute'
     WHERE subscription_id IN (SELECT 'sub_' || i FROM generate_series(900, 919) i)`,
  );
  await pool.query(
    `UPDATE subscriptions SET health = '{"state": "open", "history": []}'
     WHERE id IN (SELECT 'sub_' || i FROM generate_series(900, 919) i)`,
  );
  await time(`${MESSAGES} messages`, () =>
    pool.query(
      `INSERT INTO messages (id, tenant, topic, stream_seq, published_at)
       SELECT 'msg_' || hookline_ulid_time((extract(epoch FROM at) * 1000)::bigint) || lpad(i::text, 16, '0'), 'default',
         'orders.t' || (i % 50), i, at
       FROM (SELECT i, date_trunc('milliseconds', now() - (($1 - i) * interval '7 days' / $1)) AS at
             FROM generate_series(1, $1) i) m`,
      [MESSAGES],
    ),
  );
  await time(`${N} deliveries`, () =>
    pool.query(
      `INSERT INTO deliveries (id, message_id, subscription_id, tenant, stream_seq, status, attempt_count, created_at, updated_at)
       -- Ids shaped as the broker makes them (ULID time first): the log is partitioned by their ranges.
       SELECT 'dlv_' || t || lpad((m.i * 4 + k)::text, 16, '0'), 'msg_' || t || lpad(m.i::text, 16, '0'),
         CASE WHEN k = 0 THEN 'sub_0' ELSE 'sub_' || (1 + (m.i * 7 + k * 331) % ($2 - 1)) END,
         'default', m.i,
         CASE WHEN r < 0.94 THEN 'succeeded' WHEN r < 0.98 THEN 'dead' WHEN r < 0.99 THEN 'failed' ELSE 'pending' END,
         1, m.at, m.at
       FROM (SELECT i, date_trunc('milliseconds', now() - (($1 - i) * interval '7 days' / $1)) AS at
             FROM generate_series(1, $1) i) m,
         LATERAL (SELECT hookline_ulid_time((extract(epoch FROM m.at) * 1000)::bigint) AS t) mt,
         generate_series(0, 3) k,
         -- A pseudo-random fraction per row (random() in a LATERAL on k alone is evaluated once per k).
         LATERAL (SELECT ((m.i * 7919 + k * 104729) % 1000) / 1000.0 AS r) x`,
      [MESSAGES, SUBS],
    ),
  );
  await time(`${N} attempts (through the rollup trigger)`, () =>
    pool.query(
      `INSERT INTO attempts (delivery_id, n, started_at, duration_ms, status_code, error)
       SELECT id, 1, created_at + interval '20 milliseconds', (20 + random() * 400)::int,
         CASE WHEN status = 'succeeded' THEN 200 ELSE 500 END,
         CASE WHEN status = 'succeeded' THEN NULL ELSE 'HTTP 500' END
       FROM deliveries`,
    ),
  );
  await time('vacuum analyze', () => pool.query('VACUUM ANALYZE'));
}

async function main() {
  await ensureDatabase(url.toString());
  const pool = await createPool(url.toString(), 4);
  try {
    await migrate(pool);
    // Partitions for rows written from now on, as a broker makes them at start-up.
    await maintainLogPartitions(pool, { retentionMs: 14 * 86_400_000, partitionMs: 86_400_000 });
    if (!values.reuse) await load(pool);

    const sizes = await pool.query(
      `SELECT (SELECT count(*) FROM deliveries) AS deliveries, (SELECT count(*) FROM messages) AS messages,
         (SELECT count(*) FROM deliveries WHERE subscription_id = 'sub_0') AS sub0,
         (SELECT count(*) FROM subscription_minutes) AS rollup_rows`,
    );
    console.log('rows:', sizes.rows[0]);

    const recent = (await listMessages(pool, { tenant: 'default', limit: 1000 })).map((m) => m.id);
    const alice = ['orders.>'].map(patternToRegex);
    const cases: [string, () => Promise<unknown>][] = [
      ['subscription stats, sub_0 (N/4 deliveries)', () => subscriptionStats(pool, 'sub_0')],
      ['subscription stats, sub_500 (≈ 3N/4/999 deliveries)', () => subscriptionStats(pool, 'sub_500')],
      ['tenant stats, admin (all N deliveries)', () => tenantStats(pool, { tenant: 'default' }, null)],
      ['tenant stats, non-admin owning 10 subscriptions', () => tenantStats(pool, { tenant: 'default', owner: 'alice' }, alice)],
      ['messages, topic=orders.* limit 50 + summaries', async () => {
        const page = await listMessages(pool, { tenant: 'default', topicRegex: patternToRegex('orders.*'), limit: 51 });
        return deliveryCountsOfMessages(pool, page.map((m) => m.id), []);
      }],
      ['messages, topic=orders.t7 limit 50 + summaries', async () => {
        const page = await listMessages(pool, { tenant: 'default', topic: 'orders.t7', limit: 51 });
        return deliveryCountsOfMessages(pool, page.map((m) => m.id), []);
      }],
      ['messages, topic=orders.t7, a day ago, limit 50', () =>
        listMessages(pool, { tenant: 'default', topic: 'orders.t7', until: new Date(Date.now() - 86_400_000), limit: 51 })],
      ['summary of 1,000 message ids', async () => {
        const found = await findMessages(pool, 'default', recent);
        return deliveryCountsOfMessages(pool, found.map((m) => m.id), []);
      }],
    ];
    console.log(`\nmedian / p95 of ${RUNS} runs (after one warm-up):`);
    for (const [label, f] of cases) {
      await f();
      const ms: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        await f();
        ms.push(performance.now() - t0);
      }
      ms.sort((a, b) => a - b);
      console.log(`  ${label}: ${ms[Math.floor(RUNS / 2)]!.toFixed(1)} ms / ${ms[Math.floor(RUNS * 0.95)]!.toFixed(1)} ms`);
    }

    console.log('\nplans (EXPLAIN ANALYZE):');
    const explain = async (label: string, sql: string, args: unknown[]) => {
      const { rows } = await pool.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, args);
      console.log(`\n-- ${label}\n${rows.map((r) => r['QUERY PLAN']).join('\n')}`);
    };
    await explain(
      'counts of sub_0 (delivery_counts)',
      `SELECT coalesce(sum(n) FILTER (WHERE status = 'pending'), 0), coalesce(sum(n) FILTER (WHERE status = 'succeeded'), 0),
         coalesce(sum(n), 0) FROM delivery_counts WHERE subscription_id = $1`,
      ['sub_0'],
    );
    await explain(
      'day of sub_0 (subscription_minutes)',
      `SELECT sum(attempts), sum(succeeded) FROM subscription_minutes
       WHERE subscription_id = $1 AND minute >= date_trunc('minute', now()) - interval '1439 minutes'`,
      ['sub_0'],
    );
    await explain(
      'last failure of sub_0',
      `SELECT last_failure_at, last_failure_error FROM subscription_minutes
       WHERE subscription_id = $1 AND last_failure_at IS NOT NULL ORDER BY minute DESC, last_failure_at DESC LIMIT 1`,
      ['sub_0'],
    );
    await explain(
      'tenant counts, admin (delivery_counts)',
      `SELECT coalesce(sum(n) FILTER (WHERE status = 'succeeded'), 0), coalesce(sum(n), 0) FROM delivery_counts
       WHERE tenant = $1 AND subscription_id IN (SELECT id FROM subscriptions WHERE tenant = $1 AND deleted_at IS NULL)`,
      ['default'],
    );
    await explain(
      'tenant day, admin (tenant_minutes)',
      `SELECT sum(attempts), sum(succeeded) FROM tenant_minutes
       WHERE tenant = $1 AND minute >= date_trunc('minute', now()) - interval '1439 minutes'`,
      ['default'],
    );
    await explain(
      'messages topic=orders.* newest 51',
      `SELECT id, topic, published_at FROM messages WHERE tenant = $1 AND topic ~ $2 ORDER BY published_at DESC, id DESC LIMIT 51`,
      ['default', patternToRegex('orders.*')],
    );
    await explain(
      'messages topic=orders.t7 newest 51',
      `SELECT id, topic, published_at FROM messages WHERE tenant = $1 AND topic = $2 ORDER BY published_at DESC, id DESC LIMIT 51`,
      ['default', 'orders.t7'],
    );
    await explain(
      'delivery counts of 1,000 messages',
      `SELECT d.message_id, count(*) FILTER (WHERE d.status = 'succeeded'), count(*)
       FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id AND s.deleted_at IS NULL
       WHERE d.message_id = ANY($1::text[]) GROUP BY d.message_id`,
      [recent],
    );
  } finally {
    await pool.end();
    if (!values.keep) {
      const admin = new pg.Client({ connectionString: base });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await admin.end();
    } else {
      console.log(`kept database ${database}`);
    }
  }
}

await main();
