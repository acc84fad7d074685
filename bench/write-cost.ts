/**
 * `npm run bench:write-cost`: what one delivery costs PostgreSQL — row and index bytes per delivery and per
 * attempt, updates per delivery (and how many stayed HOT), WAL bytes and Postgres CPU per delivery — measured
 * on a real broker (services/all/main.ts, all roles) draining a bounded workload. See bench/README.md.
 *
 * The broker runs against a PostgreSQL of the bench's own (bench/lib/private-postgres.ts, initdb defaults),
 * so the WAL and the CPU counted are the workload's alone. Autovacuum is off on it while measuring, so the dead
 * tuples an update leaves are counted, not cleaned up at a random moment.
 *
 * Two phases, each measured on its own:
 *   first-try  --messages messages to 10 webhook subscriptions that answer 200: one attempt per delivery
 *   retries    3 messages to --failing subscriptions whose endpoint refuses connections, 3 attempts each,
 *              retried through Postgres (parked with next_attempt_at), ending dead. Each subscription sees 9
 *              attempts, below the breaker's minimum of 10, so what is measured is retrying, not the breaker.
 *
 *   --messages N        first-try messages (× 10 deliveries), default 3000
 *   --failing N         subscriptions in the retries phase (× 3 messages × 3 attempts), default 200
 *   --skip-migrations   comma-separated migration files NOT to apply (recorded as applied so the broker leaves
 *                       them): the schema as it was before them, where the code does not rely on them (since
 *                       0011 the log maintenance task calls the function 0011 makes)
 *   --migrations DIR    apply the migrations of DIR instead of migrations/ (a variant of the schema to compare;
 *                       the broker finds them recorded as applied and leaves them)
 *   --fillfactor N      sets hookline.deliveries_fillfactor on the database first (see 0011_lean_delivery_writes.sql)
 *   --label TEXT        a name for this run in the output (default: current or before-<skipped>)
 *   --out FILE          also write the JSON result there
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultMigrationsDir, migrate } from '../shared/db/migrate.js';
import { createPool, ensureDatabase } from '../shared/db/pool.js';
import { footprint, footprintDelta, LOG_TABLES, ROLLUP_TABLES, walBytesBetween, type Footprint } from './lib/pg-footprint.js';
import { PrivatePostgres } from './lib/private-postgres.js';
import type { BrokerProcess as Broker } from './lib/broker.js';
import type { ReceiverProcess as Receiver } from './lib/receiver.js';
import { cpuSecondsBetween, cpuSecondsOf, freePort, killChildren, sleep } from './lib/proc.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '3000' },
    failing: { type: 'string', default: '200' },
    'skip-migrations': { type: 'string', default: '' },
    label: { type: 'string' },
    migrations: { type: 'string' },
    fillfactor: { type: 'string' },
    out: { type: 'string' },
  },
});
const MESSAGES = Number(values.messages);
const FAILING = Number(values.failing);
const SKIP = values['skip-migrations']!.split(',').map((s) => s.trim()).filter(Boolean);
const LABEL =
  values.label ?? (SKIP.length ? `before-${SKIP.join('+')}` : values.fillfactor ? `fillfactor ${values.fillfactor}` : 'current');
const started = Date.now();
const log = (m: string) => process.stderr.write(`[write-cost ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${m}\n`);

const server = await PrivatePostgres.start({ autovacuum: 'off' });
process.env.BENCH_DATABASE_URL = server.url();
// broker.ts reads BENCH_DATABASE_URL when it is first imported: import it only now.
const { BrokerProcess, Installation } = await import('./lib/broker.js');
const { api, createSubscriptions, publishBacklog } = await import('./lib/api.js');
const { ReceiverProcess } = await import('./lib/receiver.js');

const inst = new Installation('write-cost');
let receiver: Receiver | undefined;
let broker: Broker | undefined;

async function cleanup(): Promise<void> {
  killChildren();
  await broker?.stop().catch(() => {});
  await receiver?.close().catch(() => {});
  await inst.drop();
  await Installation.closeNats();
  await server.stop();
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().finally(() => process.exit(130)));
const watchdog = setTimeout(() => {
  log('watchdog: 20 minutes passed, giving up');
  void cleanup().finally(() => process.exit(2));
}, 20 * 60_000);
watchdog.unref();

/** CPU seconds used so far by each process of the private server (backends, autovacuum, checkpointer…). */
const postgresCpu = () => new Map(server.processIds().map((pid) => [pid, cpuSecondsOf(pid) || 0]));

interface PhaseResult {
  deliveries: number;
  attempts: number;
  messages: number;
  seconds: number;
  walBytes: number;
  postgresCpuSeconds: number;
  tables: ReturnType<typeof footprintDelta>;
  perDelivery: Record<string, number>;
  perAttempt: Record<string, number>;
}

async function measure(name: string, expected: { deliveries: number; attempts: number }, load: () => Promise<void>, done: () => Promise<boolean>): Promise<PhaseResult> {
  await inst.db.query('CHECKPOINT');
  await sleep(1500);
  const before: Footprint = await footprint(inst.db, [...LOG_TABLES, ...ROLLUP_TABLES]);
  const cpu0 = postgresCpu();
  const t0 = Date.now();
  log(`${name}: loading`);
  await load();
  const deadline = Date.now() + 10 * 60_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${name}: not drained within 10 minutes`);
    await sleep(250);
  }
  const seconds = (Date.now() - t0) / 1000;
  const cpu = cpuSecondsBetween(cpu0, postgresCpu());
  // Backends report their table counters when they go idle (within a second or so, longer on a busy
  // machine): wait until the counters have caught up with the rows.
  const rows = async () => ({
    deliveries: Number((await inst.db.query('SELECT count(*) AS n FROM deliveries')).rows[0].n),
    attempts: Number((await inst.db.query('SELECT count(*) AS n FROM attempts')).rows[0].n),
  });
  let after = await footprint(inst.db, [...LOG_TABLES, ...ROLLUP_TABLES]);
  const target = await rows();
  for (let i = 0; i < 30; i++) {
    if (after.tables.deliveries!.inserts >= target.deliveries && after.tables.attempts!.inserts >= target.attempts) break;
    await sleep(1000);
    after = await footprint(inst.db, [...LOG_TABLES, ...ROLLUP_TABLES]);
  }
  // …and a little more for the last updates, reported with or after the inserts.
  await sleep(2000);
  after = await footprint(inst.db, [...LOG_TABLES, ...ROLLUP_TABLES]);
  const walBytes = await walBytesBetween(inst.db, before.walLsn, after.walLsn);
  const tables = footprintDelta(before, after);
  const d = tables.deliveries!;
  const a = tables.attempts!;
  const m = tables.messages!;
  const deliveries = d.inserts;
  const attempts = a.inserts;
  if (deliveries !== expected.deliveries || attempts !== expected.attempts)
    log(`${name}: expected ${expected.deliveries} deliveries and ${expected.attempts} attempts, counted ${deliveries} and ${attempts}`);
  const rollupBytes = ROLLUP_TABLES.reduce((s, t) => s + tables[t]!.heapBytes + tables[t]!.indexBytes, 0);
  const perDelivery = {
    deliveryHeapBytes: d.heapBytes / deliveries,
    deliveryIndexBytes: d.indexBytes / deliveries,
    attemptHeapBytes: a.heapBytes / deliveries,
    attemptIndexBytes: a.indexBytes / deliveries,
    messageBytes: (m.heapBytes + m.indexBytes) / deliveries,
    rollupBytes: rollupBytes / deliveries,
    totalBytes: (d.heapBytes + d.indexBytes + d.otherBytes + a.heapBytes + a.indexBytes + a.otherBytes + m.heapBytes + m.indexBytes + m.otherBytes + rollupBytes) / deliveries,
    updates: d.updates / deliveries,
    hotUpdates: d.hotUpdates / deliveries,
    deadTuples: d.deadTuples / deliveries,
    walBytes: walBytes / deliveries,
    postgresCpuMs: (cpu * 1000) / deliveries,
  };
  const perAttempt = {
    attemptHeapBytes: a.heapBytes / attempts,
    attemptIndexBytes: a.indexBytes / attempts,
    walBytes: walBytes / attempts,
  };
  return { deliveries, attempts, messages: m.inserts, seconds, walBytes, postgresCpuSeconds: cpu, tables, perDelivery, perAttempt };
}

try {
  // The schema: every migration, or all but the skipped ones (recorded as applied, so the broker leaves them).
  await ensureDatabase(inst.databaseUrl);
  if (values.fillfactor) await inst.db.query(`ALTER DATABASE "${inst.database}" SET hookline.deliveries_fillfactor = '${Number(values.fillfactor)}'`);
  const pool = await createPool(inst.databaseUrl, 2);
  const all = values.migrations ? path.resolve(values.migrations) : await defaultMigrationsDir();
  const subset = mkdtempSync(path.join(os.tmpdir(), 'hookline-migrations-'));
  for (const f of readdirSync(all)) if (!SKIP.includes(f)) copyFileSync(path.join(all, f), path.join(subset, f));
  await migrate(pool, subset);
  for (const f of SKIP) await pool.query('INSERT INTO schema_migrations (name) VALUES ($1) ON CONFLICT DO NOTHING', [f]);
  rmSync(subset, { recursive: true });
  await pool.end();

  receiver = await ReceiverProcess.start();
  broker = await BrokerProcess.start(inst, { logLevel: 'warn' });
  const base = broker.baseUrl;
  const applied = await inst.db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
  log(`schema: ${applied.rows.map((r) => r.name.slice(0, 4)).join(' ')}${SKIP.length ? ` (skipped: ${SKIP.join(', ')})` : ''}`);

  const okSpecs = Array.from({ length: 10 }, () => ({ topic: 'cost.ok', url: receiver!.url('cost') }));
  await createSubscriptions(base, inst.token, okSpecs);
  const closedPort = await freePort();
  const failingSpecs = Array.from({ length: FAILING }, () => ({
    topic: 'cost.failing',
    url: `http://127.0.0.1:${closedPort}/gone`,
    retry: { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 100, multiplier: 1 },
  }));
  await createSubscriptions(base, inst.token, failingSpecs);
  const payload = (i: number) => ({ data: { order: i, note: 'write cost', items: [1, 2, 3] } });

  const count = async (sql: string) => Number((await inst.db.query(sql)).rows[0].n);
  const firstTry = await measure(
    'first-try',
    { deliveries: MESSAGES * 10, attempts: MESSAGES * 10 },
    () => publishBacklog(base, inst.token, 'cost.ok', MESSAGES, payload),
    async () => (await count(`SELECT count(*) AS n FROM deliveries WHERE status = 'succeeded'`)) >= MESSAGES * 10,
  );
  const jsm = await (await Installation.nats()).jetstreamManager();
  const msgStream = await jsm.streams.info(inst.names.messagesStream);
  const retries = await measure(
    'retries',
    { deliveries: FAILING * 3, attempts: FAILING * 9 },
    () => publishBacklog(base, inst.token, 'cost.failing', 3, payload),
    async () => (await count(`SELECT count(*) AS n FROM deliveries WHERE status = 'dead'`)) >= FAILING * 3,
  );

  const result = {
    label: LABEL,
    skippedMigrations: SKIP,
    deliveriesFillfactor: values.fillfactor ? Number(values.fillfactor) : null,
    workload: { firstTryMessages: MESSAGES, subscriptionsPerMessage: 10, failingSubscriptions: FAILING, failingMessages: 3, attemptsPerFailing: 3 },
    phases: { firstTry, retries },
    jetstream: {
      messagesStreamBytesPerMessage: msgStream.state.bytes / Math.max(1, msgStream.state.messages),
      payloadBytes: JSON.stringify(payload(0)).length,
    },
    postgres: (await inst.db.query('SELECT version() AS v')).rows[0].v,
    date: new Date().toISOString(),
  };
  const round = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 100) / 100]));
  process.stdout.write(`\n${LABEL}\nfirst try (${firstTry.deliveries} deliveries, ${firstTry.seconds.toFixed(1)} s), per delivery:\n`);
  console.table(round(firstTry.perDelivery));
  process.stdout.write(`retries (${retries.deliveries} deliveries, ${retries.attempts} attempts), per delivery:\n`);
  console.table(round(retries.perDelivery));
  process.stdout.write('retries, per attempt:\n');
  console.table(round(retries.perAttempt));
  process.stdout.write(`JetStream MESSAGES stream: ${result.jetstream.messagesStreamBytesPerMessage.toFixed(0)} bytes per message (payload ${result.jetstream.payloadBytes} bytes)\n`);
  if (values.out) {
    mkdirSync(path.dirname(values.out), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
    log(`wrote ${values.out}`);
  }
} catch (err) {
  log(`failed: ${(err as Error).stack ?? err}`);
  if (broker) log(`broker log tail:\n${broker.logTail()}`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
