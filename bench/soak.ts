/**
 * `npm run bench:soak`: Hookline with a large delivery log. Not a test and not part of `npm test` or
 * `npm run bench`; it takes long and a lot of disk. See bench/README.md ("Soak").
 *
 * On a PostgreSQL of its own (bench/lib/private-postgres.ts, initdb defaults and max_wal_size raised for the
 * bulk fill), with a real broker (services/all/main.ts, all roles):
 *   1. live (start)   a bounded burst published through the API and delivered: insert and settle throughput
 *   2. fill           --deliveries deliveries with their attempts and messages, spread over --days daily
 *                     partitions ending yesterday, written by bulk SQL (generate_series), not by the broker —
 *                     in final state (settled, attempts on record), so without the updates a live delivery makes
 *   3. reads          p50/p99 of the API's reads, one request at a time: a delivery with its attempts, a
 *                     subscription's deliveries by status, a message with its deliveries, the stats endpoints
 *                     and the message list
 *   4. partitions     time to create one (all three tables) and to drop the oldest filled day
 *   5. live (end)     the burst of 1 again, on the full log
 *   6. autovacuum     dead tuples and the last autovacuum of every partition, after a minute's rest
 *
 *   --deliveries N     deliveries to fill (default 10,000,000); fewer if --fill-minutes runs out first
 *   --days N           filled daily partitions (default 5)
 *   --fill-minutes N   stop filling after this long, whatever is written stands (default 40)
 *   --burst N          messages per live burst, × 20 subscriptions (default 1,500)
 *   --samples N        requests per read (default 200)
 *   --out NAME         results go to bench/results/NAME.json and NAME.md (default soak-<date>)
 *   --keep             leave the database and its server running at the end (prints where)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { migrate } from '../shared/db/migrate.js';
import { createPool, ensureDatabase } from '../shared/db/pool.js';
import {
  createLogPartition,
  dropDeliveriesPartitionIfSettled,
  dropLogPartition,
  LOG_TABLES as PARTITIONED,
  partitionBound,
  partitionName,
  readLogPartitions,
} from '../shared/db/log-partitions.js';
import { footprint, LOG_TABLES, ROLLUP_TABLES } from './lib/pg-footprint.js';
import { PrivatePostgres } from './lib/private-postgres.js';
import { BENCH_ROOT, cpuSecondsBetween, cpuSecondsOf, killChildren, sleep } from './lib/proc.js';
import { resultPath } from './lib/result-name.js';
import { percentile } from './lib/stats.js';
import type { BrokerProcess as Broker } from './lib/broker.js';
import type { ReceiverProcess as Receiver } from './lib/receiver.js';

const { values } = parseArgs({
  options: {
    deliveries: { type: 'string', default: '10000000' },
    days: { type: 'string', default: '5' },
    'fill-minutes': { type: 'string', default: '40' },
    burst: { type: 'string', default: '1500' },
    samples: { type: 'string', default: '200' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const TARGET = Number(values.deliveries);
const DAYS = Number(values.days);
const FILL_MS = Number(values['fill-minutes']) * 60_000;
const BURST = Number(values.burst);
const SAMPLES = Number(values.samples);
const SUBSCRIPTIONS = 20;
const DAY_MS = 86_400_000;
/** Messages per fill statement (× 20 subscriptions = 500,000 deliveries). */
const CHUNK_MESSAGES = 25_000;

const started = Date.now();
const log = (m: string) => process.stderr.write(`[soak ${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${m}\n`);

const server = await PrivatePostgres.start({ max_wal_size: '4GB', checkpoint_timeout: '15min' });
log(`private PostgreSQL on port ${server.port}, data in ${server.dataDir}`);
process.env.BENCH_DATABASE_URL = server.url();
const { BrokerProcess, Installation } = await import('./lib/broker.js');
const { createSubscriptions, publishBacklog } = await import('./lib/api.js');
const { ReceiverProcess } = await import('./lib/receiver.js');

const inst = new Installation('soak');
let receiver: Receiver | undefined;
let broker: Broker | undefined;

async function cleanup(): Promise<void> {
  killChildren();
  await broker?.stop().catch(() => {});
  await receiver?.close().catch(() => {});
  if (values.keep) {
    log(`kept: ${inst.databaseUrl} (data ${server.dataDir}); stop it with kill -INT ${server.postmasterPid()}`);
    await inst.db.end().catch(() => {});
  } else {
    await inst.drop();
    await server.stop();
  }
  await Installation.closeNats();
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().finally(() => process.exit(130)));

const db = () => inst.db;
const q = async (sql: string, params: unknown[] = []) => (await db().query(sql, params)).rows;
/** CPU seconds used so far by each process of the private server. */
const postgresCpu = () => new Map(server.processIds().map((pid) => [pid, cpuSecondsOf(pid) || 0]));

/** The time `fn` takes, ms. */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

interface Burst {
  deliveries: number;
  /** Deliveries written by the router per second, between 10 % and 90 % of the burst written. */
  insertedPerSecond: number;
  /** Deliveries settled (attempted, 200, recorded) per second, between 10 % and 90 % settled. */
  settledPerSecond: number;
  seconds: number;
  postgresCpuMsPerDelivery: number;
}

/** Publishes BURST messages to the 20 subscriptions and times the router's inserts and the settles. */
async function liveBurst(label: string, topic: string): Promise<Burst> {
  const expected = BURST * SUBSCRIPTIONS;
  const count = async () => {
    const [r] = await q(
      `SELECT count(*)::int AS written, (count(*) FILTER (WHERE status = 'succeeded'))::int AS settled
       FROM deliveries WHERE id >= $1`,
      [partitionBound('dlv', burstFrom)],
    );
    return r as { written: number; settled: number };
  };
  const burstFrom = Date.now() - 1000;
  const base = await count();
  const marks = { written: [] as [number, number][], settled: [] as [number, number][] };
  const cpu0 = postgresCpu();
  const t0 = performance.now();
  const publishing = publishBacklog(broker!.baseUrl, inst.token, topic, BURST, (i) => ({ data: { order: i, lines: [1, 2, 3], note: label } }));
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    const c = await count();
    const t = performance.now() - t0;
    marks.written.push([t, c.written - base.written]);
    marks.settled.push([t, c.settled - base.settled]);
    if (c.settled - base.settled >= expected) break;
    if (Date.now() > deadline) throw new Error(`${label}: ${c.settled - base.settled} of ${expected} settled in 15 minutes`);
    await sleep(200);
  }
  await publishing;
  const seconds = (performance.now() - t0) / 1000;
  // From the last sample below 10 % to the first at or above 90 % (polls are 200 ms apart: a burst written
  // faster than that is timed over the polls that bracket it).
  const rate = (series: [number, number][]) => {
    const from = [...series].reverse().find(([, n]) => n < 0.1 * expected) ?? [0, 0];
    const to = series.find(([, n]) => n >= 0.9 * expected)!;
    return (to[1] - from[1]) / ((to[0] - from[0]) / 1000);
  };
  const result = {
    deliveries: expected,
    insertedPerSecond: rate(marks.written),
    settledPerSecond: rate(marks.settled),
    seconds,
    postgresCpuMsPerDelivery: (cpuSecondsBetween(cpu0, postgresCpu()) * 1000) / expected,
  };
  log(`${label}: ${expected} deliveries, written ${result.insertedPerSecond.toFixed(0)}/s, settled ${result.settledPerSecond.toFixed(0)}/s`);
  return result;
}

/** Sequential GETs through the API; p50/p99 in ms. */
async function readLatency(name: string, paths: () => string): Promise<{ p50: number; p99: number; max: number; n: number }> {
  const one = async () => {
    const t0 = performance.now();
    const res = await request(`${broker!.baseUrl}${paths()}`, { headers: { authorization: `Bearer ${inst.token}` } });
    const body = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${name}: ${res.statusCode} ${body.slice(0, 300)}`);
    return performance.now() - t0;
  };
  for (let i = 0; i < 10; i++) await one();
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) samples.push(await one());
  const r = { p50: percentile(samples, 50), p99: percentile(samples, 99), max: Math.max(...samples), n: samples.length };
  log(`read ${name}: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`);
  return r;
}

const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;

try {
  await ensureDatabase(inst.databaseUrl);
  const pool = await createPool(inst.databaseUrl, 2);
  await migrate(pool);
  // A fresh installation: the partitions 0010 made for what was on record before it are empty. They are
  // replaced by one partition a day, from the first filled day on, as the maintenance task would have made.
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const firstDay = today - DAYS * DAY_MS;
  const client = await pool.connect();
  try {
    for (const p of await readLogPartitions(client)) {
      if (p.from === null) await dropLogPartition(client, p.table, p.name, 10_000);
    }
    for (let day = firstDay; day <= today + DAY_MS; day += DAY_MS) {
      for (const t of PARTITIONED) {
        await createLogPartition(
          client,
          { table: t.name, name: partitionName(t.name, day), from: partitionBound(t.idPrefix, day), to: partitionBound(t.idPrefix, day + DAY_MS) },
          10_000,
        );
      }
    }
  } finally {
    client.release();
  }
  await pool.end();

  receiver = await ReceiverProcess.start();
  // A long log retention: this run drops a partition itself, and times it.
  broker = await BrokerProcess.start(inst, { logLevel: 'warn', env: { HOOKLINE_LOG_RETENTION_DAYS: '30' } });
  const subs = await createSubscriptions(
    broker.baseUrl,
    inst.token,
    Array.from({ length: SUBSCRIPTIONS }, () => ({ topic: 'soak.orders', url: receiver!.url('soak') })),
  );
  const [{ tenant }] = (await q('SELECT tenant FROM subscriptions LIMIT 1')) as { tenant: string }[];

  const liveStart = await liveBurst('live (start)', 'soak.orders');

  // The fill: CHUNK_MESSAGES messages a statement, spread evenly over the days, each fanned out to the 20
  // subscriptions. Outcomes by a hash of the delivery id: 90 % succeeded at once, 6 % on the second attempt,
  // 4 % dead after 3 attempts (a failed attempt is a 500 or a refused connection).
  const totalMessages = Math.ceil(TARGET / SUBSCRIPTIONS);
  const chunks = Math.ceil(totalMessages / CHUNK_MESSAGES);
  const fillStart = performance.now();
  const fillCpu0 = postgresCpu();
  let filledMessages = 0;
  const chunkTimes: number[] = [];
  for (let c = 0; c < chunks; c++) {
    if (performance.now() - fillStart > FILL_MS) {
      log(`fill: out of time after ${c} of ${chunks} chunks`);
      break;
    }
    const n = Math.min(CHUNK_MESSAGES, totalMessages - filledMessages);
    // The chunk's slice of the time range, so chunks fill the days in order.
    const fromMs = firstDay + Math.floor((c / chunks) * DAYS * DAY_MS);
    const spanMs = Math.floor((DAYS * DAY_MS) / chunks);
    const ms = await timed(async () => {
      const cl = await db().connect();
      try {
        await cl.query('BEGIN');
        await cl.query(
          `CREATE TEMP TABLE fill_messages ON COMMIT DROP AS
           SELECT 'msg_' || hookline_ulid_time(t) || upper(substr(md5(random()::text), 1, 16)) AS id,
             t, ($4::bigint + g) AS seq
           FROM (SELECT g, $2::bigint + (g::bigint * $3::bigint / $1::bigint) AS t FROM generate_series(0, $1 - 1) g) x`,
          [n, fromMs, spanMs, filledMessages + 1_000_000],
        );
        await cl.query(
          `INSERT INTO messages (id, tenant, topic, stream_seq, published_at)
           SELECT id, $1, 'soak.orders', seq, to_timestamp(t / 1000.0) FROM fill_messages`,
          [tenant],
        );
        await cl.query(
          `CREATE TEMP TABLE fill_deliveries ON COMMIT DROP AS
           SELECT 'dlv_' || substr(m.id, 5, 10) || upper(substr(md5(m.id || ':' || s.id), 1, 16)) AS id, m.id AS message_id,
             s.id AS subscription_id, m.seq, to_timestamp(m.t / 1000.0) AS created_at,
             abs(hashtext(m.id || s.id)) % 100 AS fate
           FROM fill_messages m CROSS JOIN unnest($1::text[]) AS s(id)`,
          [subs],
        );
        await cl.query(
          `INSERT INTO deliveries (id, message_id, subscription_id, tenant, stream_seq, status, attempt_count,
             last_status_code, last_error, created_at, updated_at)
           SELECT id, message_id, subscription_id, $1, seq,
             CASE WHEN fate < 96 THEN 'succeeded' ELSE 'dead' END,
             CASE WHEN fate < 90 THEN 1 WHEN fate < 96 THEN 2 ELSE 3 END,
             CASE WHEN fate < 96 THEN 200 WHEN fate % 2 = 0 THEN 500 END,
             CASE WHEN fate >= 96 AND fate % 2 = 1 THEN 'connect ECONNREFUSED' END,
             created_at, created_at + interval '1 minute'
           FROM fill_deliveries`,
          [tenant],
        );
        await cl.query(
          `INSERT INTO attempts (delivery_id, n, started_at, duration_ms, status_code, error, response_excerpt, outcome)
           SELECT d.id, a.n, d.created_at + (a.n - 1) * interval '20 seconds', 20 + d.fate,
             CASE WHEN a.n = last THEN (CASE WHEN d.fate < 96 THEN 200 WHEN d.fate % 2 = 0 THEN 500 END)
               WHEN d.fate % 2 = 0 THEN 500 END,
             CASE WHEN (a.n < last OR d.fate >= 96) AND d.fate % 2 = 1 THEN 'connect ECONNREFUSED' END,
             CASE WHEN (a.n < last OR d.fate >= 96) AND d.fate % 2 = 0 THEN '{"error":"upstream unavailable"}' END,
             CASE WHEN a.n = last AND d.fate < 96 THEN 'succeeded' ELSE 'failed' END
           FROM (SELECT *, CASE WHEN fate < 90 THEN 1 WHEN fate < 96 THEN 2 ELSE 3 END AS last FROM fill_deliveries) d
           CROSS JOIN LATERAL generate_series(1, d.last) AS a(n)`,
        );
        await cl.query('COMMIT');
      } catch (err) {
        await cl.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        cl.release();
      }
    });
    filledMessages += n;
    chunkTimes.push(ms);
    log(`fill: ${filledMessages * SUBSCRIPTIONS} deliveries (${(n * SUBSCRIPTIONS / (ms / 1000)).toFixed(0)}/s this chunk)`);
  }
  const fillSeconds = (performance.now() - fillStart) / 1000;
  const fillCpu = cpuSecondsBetween(fillCpu0, postgresCpu());
  log('fill: ANALYZE');
  const analyzeMs = await timed(() => q('ANALYZE'));

  const [counts] = await q(
    `SELECT (SELECT count(*) FROM deliveries)::bigint AS deliveries, (SELECT count(*) FROM attempts)::bigint AS attempts,
       (SELECT count(*) FROM messages)::bigint AS messages`,
  );
  log(`log holds ${counts.deliveries} deliveries, ${counts.attempts} attempts, ${counts.messages} messages`);

  // Reads, on ids sampled across every partition.
  const sampleDeliveries = (await q(`SELECT id, message_id, subscription_id FROM deliveries TABLESAMPLE SYSTEM (0.05) LIMIT 2000`)) as {
    id: string;
    message_id: string;
    subscription_id: string;
  }[];
  const reads = {
    deliveryWithAttempts: await readLatency('GET /v1/deliveries/:id', () => `/v1/deliveries/${pick(sampleDeliveries).id}`),
    messageWithDeliveries: await readLatency('GET /v1/messages/:id', () => `/v1/messages/${pick(sampleDeliveries).message_id}`),
    subscriptionDeliveriesDead: await readLatency(
      'GET /v1/subscriptions/:id/deliveries?status=dead',
      () => `/v1/subscriptions/${pick(subs)}/deliveries?status=dead`,
    ),
    subscriptionDeliveriesPending: await readLatency(
      'GET /v1/subscriptions/:id/deliveries?status=pending',
      () => `/v1/subscriptions/${pick(subs)}/deliveries?status=pending`,
    ),
    subscriptionDeliveriesSucceeded: await readLatency(
      'GET /v1/subscriptions/:id/deliveries?status=succeeded',
      () => `/v1/subscriptions/${pick(subs)}/deliveries?status=succeeded`,
    ),
    subscriptionDeliveries: await readLatency('GET /v1/subscriptions/:id/deliveries', () => `/v1/subscriptions/${pick(subs)}/deliveries`),
    subscriptionStats: await readLatency('GET /v1/subscriptions/:id/stats', () => `/v1/subscriptions/${pick(subs)}/stats`),
    tenantStats: await readLatency('GET /v1/stats', () => '/v1/stats'),
    messagesByTopic: await readLatency('GET /v1/messages?topic=soak.orders', () => '/v1/messages?topic=soak.orders'),
    messagesByPattern: await readLatency('GET /v1/messages?topic=soak.*', () => '/v1/messages?topic=soak.*'),
    messagesAll: await readLatency('GET /v1/messages', () => '/v1/messages'),
  };

  const sizes = await footprint(db(), [...LOG_TABLES, ...ROLLUP_TABLES]);
  const partitionSizes = (await q(
    `SELECT c.relname AS name, p.relname AS parent, pg_relation_size(c.oid)::bigint AS heap,
       pg_indexes_size(c.oid)::bigint AS indexes, s.n_live_tup::bigint AS rows
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
     WHERE p.relname IN ('messages', 'deliveries', 'attempts') ORDER BY c.relname`,
  )).map((r) => ({ name: r.name, table: r.parent, heapBytes: Number(r.heap), indexBytes: Number(r.indexes), rows: Number(r.rows) }));

  // Partition life cycle: create one (three tables) far ahead, then drop the oldest filled day.
  const partitions: Record<string, number> = {};
  {
    const cl = await db().connect();
    try {
      const ahead = today + 20 * DAY_MS;
      partitions.createMs = await timed(async () => {
        for (const t of PARTITIONED)
          await createLogPartition(
            cl,
            { table: t.name, name: partitionName(t.name, ahead), from: partitionBound(t.idPrefix, ahead), to: partitionBound(t.idPrefix, ahead + DAY_MS) },
            10_000,
          );
      });
      const oldest = partitionSizes.filter((p) => p.table === 'deliveries' && p.name === partitionName('deliveries', firstDay))[0];
      partitions.droppedDeliveries = oldest?.rows ?? 0;
      partitions.dropDeliveriesMs = await timed(async () => {
        const held = await dropDeliveriesPartitionIfSettled(cl, partitionName('deliveries', firstDay), 10_000);
        if (held) throw new Error(`the oldest partition holds ${held} unsettled deliveries`);
      });
      partitions.dropAttemptsAndMessagesMs = await timed(async () => {
        await dropLogPartition(cl, 'attempts', partitionName('attempts', firstDay), 10_000);
        await dropLogPartition(cl, 'messages', partitionName('messages', firstDay), 10_000);
      });
      log(`partitions: create ${partitions.createMs.toFixed(0)} ms, drop a day (${partitions.droppedDeliveries} deliveries) ${(partitions.dropDeliveriesMs + partitions.dropAttemptsAndMessagesMs).toFixed(0)} ms`);
    } finally {
      cl.release();
    }
  }

  const liveEnd = await liveBurst('live (end)', 'soak.orders');

  log('autovacuum: a minute of rest, then its state');
  await sleep(60_000);
  const vacuum = (await q(
    `SELECT relname AS name, n_live_tup::bigint AS live, n_dead_tup::bigint AS dead, last_autovacuum, last_autoanalyze,
       autovacuum_count::int, autoanalyze_count::int
     FROM pg_stat_user_tables WHERE n_live_tup + n_dead_tup > 0 ORDER BY relname`,
  )).map((r) => ({ ...r, live: Number(r.live), dead: Number(r.dead) }));

  const result = {
    log: { deliveries: Number(counts.deliveries), attempts: Number(counts.attempts), messages: Number(counts.messages), target: TARGET, days: DAYS, subscriptions: SUBSCRIPTIONS },
    fill: {
      method: 'bulk SQL (generate_series), CHUNK_MESSAGES messages × 20 subscriptions per transaction, rows in final state',
      seconds: fillSeconds,
      deliveriesPerSecond: (filledMessages * SUBSCRIPTIONS) / fillSeconds,
      postgresCpuSeconds: fillCpu,
      analyzeSeconds: analyzeMs / 1000,
      firstChunkSeconds: (chunkTimes[0] ?? NaN) / 1000,
      lastChunkSeconds: (chunkTimes[chunkTimes.length - 1] ?? NaN) / 1000,
    },
    liveStart,
    liveEnd,
    reads,
    partitions,
    sizes: sizes.tables,
    partitionSizes,
    autovacuum: vacuum,
    diskBytes: server.diskBytes(),
    postgres: { version: (await q('SELECT version() AS v'))[0].v, settings: 'initdb defaults; max_wal_size=4GB, checkpoint_timeout=15min' },
    machine: { loadAverage: (await import('node:os')).loadavg(), cores: (await import('node:os')).cpus().length },
    date: new Date().toISOString(),
    durationS: (Date.now() - started) / 1000,
  };
  const dir = path.join(BENCH_ROOT, 'results');
  const name = values.out ?? path.basename(resultPath(dir, started, { prefix: 'soak-' }), '.json');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(dir, `${name}.md`), markdown(result));
  log(`wrote bench/results/${name}.json and .md`);
} catch (err) {
  log(`failed: ${(err as Error).stack ?? err}`);
  if (broker) log(`broker log tail:\n${broker.logTail()}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function markdown(r: any): string {
  const mib = (b: number) => (b / 1048576).toFixed(0);
  const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
  const lines = [
    `# Soak, ${r.date.slice(0, 10)}`,
    '',
    `Log: **${f0(r.log.deliveries)} deliveries**, ${f0(r.log.attempts)} attempts, ${f0(r.log.messages)} messages over ${r.log.days} daily partitions ` +
      `(${r.log.subscriptions} subscriptions), on a PostgreSQL of its own (${r.postgres.settings}); load average at the end ${r.machine.loadAverage.map((x: number) => x.toFixed(1)).join(' ')} on ${r.machine.cores} cores.`,
    `Filled by bulk SQL in ${f0(r.fill.seconds)} s (${f0(r.fill.deliveriesPerSecond)} deliveries/s with their attempts and messages), then ANALYZE (${r.fill.analyzeSeconds.toFixed(0)} s).`,
    '',
    '| live burst through the broker | deliveries | written by the router /s | settled /s | Postgres CPU ms / delivery |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| start (empty log) | ${f0(r.liveStart.deliveries)} | ${f0(r.liveStart.insertedPerSecond)} | ${f0(r.liveStart.settledPerSecond)} | ${r.liveStart.postgresCpuMsPerDelivery.toFixed(2)} |`,
    `| end (full log) | ${f0(r.liveEnd.deliveries)} | ${f0(r.liveEnd.insertedPerSecond)} | ${f0(r.liveEnd.settledPerSecond)} | ${r.liveEnd.postgresCpuMsPerDelivery.toFixed(2)} |`,
    '',
    '| read (one at a time, through the API) | p50 ms | p99 ms |',
    '| --- | ---: | ---: |',
    ...Object.entries(r.reads).map(([k, v]) => `| ${k} | ${(v as { p50: number }).p50.toFixed(1)} | ${(v as { p99: number }).p99.toFixed(1)} |`),
    '',
    '| table | rows | heap MiB | indexes MiB |',
    '| --- | ---: | ---: | ---: |',
    ...Object.entries(r.sizes).map(([k, v]) => {
      const t = v as { rows: number; heapBytes: number; indexBytes: number };
      return `| ${k} | ${f0(t.rows)} | ${mib(t.heapBytes)} | ${mib(t.indexBytes)} |`;
    }),
    '',
    `Partitions: creating one (messages, deliveries, attempts) took ${r.partitions.createMs.toFixed(0)} ms; dropping the oldest day ` +
      `(${f0(r.partitions.droppedDeliveries)} deliveries; check, detach and drop) ${r.partitions.dropDeliveriesMs.toFixed(0)} ms, its attempts and messages ${r.partitions.dropAttemptsAndMessagesMs.toFixed(0)} ms.`,
    `Data directory at the end: ${(r.diskBytes / 1073741824).toFixed(1)} GiB.`,
    '',
    '| autovacuum (a minute after the end burst) | live | dead | last autovacuum | vacuums |',
    '| --- | ---: | ---: | --- | ---: |',
    ...r.autovacuum
      .filter((v: { name: string }) => /^(deliveries|attempts|messages)_|^(delivery_counts|subscription_minutes|tenant_minutes)$/.test(v.name))
      .map((v: { name: string; live: number; dead: number; last_autovacuum: string | null; autovacuum_count: number }) =>
        `| ${v.name} | ${f0(v.live)} | ${f0(v.dead)} | ${v.last_autovacuum ? new Date(v.last_autovacuum).toISOString().slice(11, 19) : '—'} | ${v.autovacuum_count} |`),
    '',
  ];
  return lines.join('\n');
}
