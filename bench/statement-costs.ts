/**
 * What the statements on a message's path cost in Postgres, one row at a time as at moderate rates: the
 * router's fan-out insert, the dispatcher's load, its sending mark and the attempt's outcome, each 150 times
 * (3 ms apart) on a fresh migrated database, with the stats triggers on and off, committed synchronously
 * and without waiting for the disk. Prints the median of each. The difference between the two commit
 * modes is the WAL flush; between the trigger modes, the stats triggers (migrations/0008_stats.sql).
 *
 *   npx tsx bench/statement-costs.ts [--rounds 2]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadDispatchWork, SubscriptionCache } from '../services/dispatcher/storage/dispatch-work.js';
import { markSending, touchDispatcherProcess } from '../services/dispatcher/storage/dispatcher-processes.js';
import { applyOutcomes } from '../services/dispatcher/storage/attempt-outcomes.js';
import { recordFanOut } from '../shared/db/deliveries.js';
import { deliveryId, newId } from '../shared/ids.js';
import { maintainLogPartitions } from '../shared/log-retention.js';
import { migrate } from '../shared/db/migrate.js';
import { createPool, ensureDatabase } from '../shared/db/pool.js';
import { PG_URL } from './lib/broker.js';
import { median } from './lib/stats.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '2' } } });
const database = `hookline_bench_${randomBytes(4).toString('hex')}`;
const url = new URL(PG_URL);
url.pathname = `/${database}`;

async function main(): Promise<void> {
  await ensureDatabase(url.toString());
  const pool = await createPool(url.toString(), 4);
  try {
    await migrate(pool);
    // The log's partitions for today, as a broker's start-up pass makes them.
    await maintainLogPartitions(pool, { retentionMs: 14 * 86_400_000, partitionMs: 86_400_000 });
    await pool.query(
      `INSERT INTO subscriptions (id, tenant, owner, type, topic, url, secret, retry, timeout_ms)
       VALUES ('sub_1', 'default', 'bench', 'webhook', 'a.b', 'http://127.0.0.1:9/x', 'whsec_x', '{}', 10000)`,
    );
    await touchDispatcherProcess(pool, 'bench');
    const cache = new SubscriptionCache();
    let k = 0;
    const triggers = (on: boolean) =>
      pool.query(['deliveries', 'attempts', 'messages'].map((t) => `ALTER TABLE ${t} ${on ? 'ENABLE' : 'DISABLE'} TRIGGER USER`).join('; '));
    const round = async (label: string) => {
      const t = { fanOut: [] as number[], load: [] as number[], mark: [] as number[], outcome: [] as number[] };
      const timed = async (into: number[], fn: () => Promise<unknown>) => {
        const t0 = performance.now();
        await fn();
        into.push(performance.now() - t0);
      };
      for (let i = 0; i < 150; i++) {
        // Shaped as the broker makes them: the log is partitioned by the time inside the ids.
        const id = newId('msg');
        const d = deliveryId(id, 'sub_1');
        k++;
        await timed(t.fanOut, () =>
          recordFanOut(pool, [{ id, tenant: 'default', topic: 'a.b', streamSeq: k, publishedAt: new Date() }], [{ id: d, messageId: id, subscriptionId: 'sub_1', tenant: 'default', streamSeq: k }], Number.MAX_SAFE_INTEGER),
        );
        await timed(t.load, () => loadDispatchWork(pool, [d], cache));
        await timed(t.mark, () => markSending(pool, 'bench', [{ deliveryId: d, n: 1 }]));
        await timed(t.outcome, () =>
          applyOutcomes(pool, [{ deliveryId: d, n: 1, startedAt: new Date(), durationMs: 1, statusCode: 200, error: null, responseExcerpt: null, outcome: 'succeeded', status: 'succeeded', nextAttemptAt: null }]),
        );
        await new Promise((r) => setTimeout(r, 3));
      }
      const f = (xs: number[]) => median(xs).toFixed(2).padStart(6);
      process.stdout.write(`| ${label} | ${f(t.fanOut)} | ${f(t.load)} | ${f(t.mark)} | ${f(t.outcome)} |\n`);
    };
    process.stdout.write('| statements (median ms) | fan-out insert | load | sending mark | outcome |\n|---|---|---|---|---|\n');
    for (let r = 0; r < Number(values.rounds); r++) {
      for (const sync of ['on', 'off']) {
        await pool.query(`ALTER DATABASE ${database} SET synchronous_commit = ${sync}`);
        // New sessions take the setting: close the pooled ones.
        const clients = await Promise.all([0, 1, 2, 3].map(() => pool.connect()));
        clients.forEach((c) => c.release(true));
        await triggers(true);
        await round(`triggers on, synchronous_commit ${sync}`);
        await triggers(false);
        await round(`triggers off, synchronous_commit ${sync}`);
        await triggers(true);
      }
    }
  } finally {
    await pool.end().catch(() => {});
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.end();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
