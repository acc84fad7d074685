/**
 * F during the wave: how much one subscription's burst delays another. A fresh subscription gets
 * `deadDeliveries` (50,000) messages through /batch, published as F publishes them, while C's healthy
 * subscription is measured as in C (same broker, same rate); the value is that measurement's p99, taken
 * while the burst is published, routed and first attempted. Two endpoints behind the burst:
 * - `dead`: a closed port (every attempt refused), F's retry policy (12 attempts, 1 h apart);
 * - `slow`: every request answered 200 after 5 s (bench/lib/slow-endpoint-child.ts), default policy.
 * Each repeat has its own burst subscription, deleted after it; the next repeat starts once DELIVERIES
 * has drained. Baseline: C's own runs (same broker, just before). Also noted per repeat: where the healthy
 * deliveries waited (publish → routed: the delivery row written; routed → first attempt started), read
 * from Postgres, and how long the burst took to be published and first attempted or parked.
 */
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { api, createSubscriptions, publishBacklog } from '../lib/api.js';
import type { BrokerProcess, Installation } from '../lib/broker.js';
import type { Ctx, Figure } from '../lib/context.js';
import { measureLatency, type LatencyRun } from '../lib/latency.js';
import { BENCH_ROOT, freePort, nextMessage, sleep, spawnTs, stopChild } from '../lib/proc.js';
import { againstBaseline, summarize } from '../lib/stats.js';

export type WaveEndpoint = 'dead' | 'slow';

/** Bursts measured per endpoint kind: each is 50,000 messages, so fewer than the other figures' repeats. */
const MAX_REPEATS = 3;
/** The slow endpoint's answer time. */
export const SLOW_ANSWER_MS = 5000;

interface WaveRun {
  latency: LatencyRun;
  publishedAfterMs: number;
  /** Until every burst delivery was attempted or parked (dead); null when it was not within the wait. */
  firstAttemptedOrParkedAfterMs: number | null;
  healthyStages: { routedP50: number; routedP99: number; dispatchedP50: number; dispatchedP99: number } | null;
  peakRouterBacklog: number;
  peakDeliveriesStored: number;
  burstAttempts: number;
}

async function startSlowEndpoint(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnTs(path.join(BENCH_ROOT, 'lib/slow-endpoint-child.ts'), { env: { SLOW_ENDPOINT_DELAY_MS: String(SLOW_ANSWER_MS) } });
  const ready = await nextMessage(
    child,
    (m): m is { type: 'ready'; port: number } => (m as { type?: string }).type === 'ready',
    20_000,
    'the slow endpoint to listen',
  );
  return { child, url: `http://127.0.0.1:${ready.port}/slow` };
}

export async function figureFWave(
  ctx: Ctx,
  inst: Installation,
  broker: BrokerProcess,
  baseline: LatencyRun[],
  endpoint: WaveEndpoint,
): Promise<Figure> {
  const n = ctx.scale.deadDeliveries;
  const slow = endpoint === 'slow' ? await startSlowEndpoint() : undefined;
  const runs: WaveRun[] = [];
  try {
    for (let r = 0; r < Math.min(MAX_REPEATS, ctx.scale.repeats); r++) {
      await untilDeliveriesDrained(inst);
      const run = await oneWave(ctx, inst, broker, endpoint, slow?.url ?? `http://127.0.0.1:${await freePort()}/dead`, n, r);
      runs.push(run);
      const st = run.healthyStages;
      ctx.log(
        `F wave (${endpoint}) run ${r + 1}: healthy p50 ${run.latency.p50.toFixed(1)} ms, p99 ${run.latency.p99.toFixed(1)} ms, ` +
          `${run.latency.received}/${run.latency.expected} received; routed p99 ${st?.routedP99.toFixed(0)} ms, first attempt after routing p99 ` +
          `${st?.dispatchedP99.toFixed(0)} ms; burst published in ${Math.round(run.publishedAfterMs)} ms, attempted or parked after ` +
          `${run.firstAttemptedOrParkedAfterMs ?? '—'} ms; peak backlog router ${run.peakRouterBacklog}, DELIVERIES ${run.peakDeliveriesStored}`,
      );
    }
  } finally {
    if (slow) await stopChild(slow.child);
  }
  const s = summarize(runs.map((r) => r.latency.p99));
  const b = summarize(baseline.map((r) => r.p99));
  const what = endpoint === 'dead' ? 'a dead endpoint (connection refused)' : `a slow endpoint (every answer after ${SLOW_ANSWER_MS / 1000} s)`;
  return {
    title: `healthy subscription's C p99 while ${n.toLocaleString('en-US')} deliveries to ${what} are published and first attempted`,
    ...againstBaseline(s, b),
    unit: 'ms',
    target: '≤ 2× C p99 without the burst',
    met: s.value / b.value <= 2,
    peakBrokerRssMiB: broker.peakRssMiB(),
    notes: {
      endpoint,
      burstDeliveries: n,
      p50: summarize(runs.map((r) => r.latency.p50)).value,
      lost: runs.reduce((a, r) => a + r.latency.lost, 0),
      brokerCpuCores: summarize(runs.map((r) => r.latency.brokerCores)).value,
      machineBusyCores: summarize(runs.map((r) => r.latency.machineCores)).value,
      perRun: runs.map((r) => ({
        p50: r.latency.p50,
        p99: r.latency.p99,
        max: r.latency.max,
        received: r.latency.received,
        expected: r.latency.expected,
        publishP99Ms: r.latency.publishP99,
        burstPublishedAfterMs: Math.round(r.publishedAfterMs),
        burstFirstAttemptedOrParkedAfterMs: r.firstAttemptedOrParkedAfterMs,
        burstAttemptsMade: r.burstAttempts,
        healthyStagesMs: r.healthyStages,
        peakRouterBacklog: r.peakRouterBacklog,
        peakDeliveriesStored: r.peakDeliveriesStored,
      })),
    },
  };
}

async function oneWave(
  ctx: Ctx,
  inst: Installation,
  broker: BrokerProcess,
  endpoint: WaveEndpoint,
  url: string,
  n: number,
  repeat: number,
): Promise<WaveRun> {
  const topic = `bench.fw${endpoint}${repeat}`;
  const [burstId] = await createSubscriptions(broker.baseUrl, inst.token, [
    endpoint === 'dead'
      ? { topic, url, retry: { maxAttempts: 12, initialDelayMs: 3_600_000, maxDelayMs: 3_600_000, multiplier: 1 } }
      : { topic, url },
  ]);
  const [healthyId] = (
    await inst.db.query<{ id: string }>(`SELECT id FROM subscriptions WHERE topic = 'bench.c' AND deleted_at IS NULL LIMIT 1`)
  ).rows.map((row) => row.id);
  let peakRouterBacklog = 0;
  let peakDeliveriesStored = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakRouterBacklog = Math.max(peakRouterBacklog, await inst.routerBacklog().catch(() => 0));
      peakDeliveriesStored = Math.max(peakDeliveriesStored, (await inst.deliveriesBacklog().catch(() => ({ stored: 0 }))).stored);
      await sleep(250);
    }
  })();
  const startedAt = new Date();
  const t0 = performance.now();
  let publishedAfterMs = NaN;
  const publishing = publishBacklog(broker.baseUrl, inst.token, topic, n, (i) => ({ i }), { batchSize: 1000, concurrency: 2 }).then(
    () => (publishedAfterMs = performance.now() - t0),
  );
  const latency = await measureLatency(ctx, {
    base: broker.baseUrl,
    token: inst.token,
    topic: 'bench.c',
    label: 't_c',
    perMessage: 1,
    seconds: ctx.scale.latencySeconds,
    cpuSeconds: () => broker.cpuSeconds(),
  });
  const endedAt = new Date();
  await publishing;
  let firstAttemptedOrParkedAfterMs: number | null = null;
  if (endpoint === 'dead') {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const { rows } = await inst.db.query(
        `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND (attempt_count > 0 OR next_attempt_at IS NOT NULL)`,
        [burstId],
      );
      if (rows[0].n >= n) {
        firstAttemptedOrParkedAfterMs = Math.round(performance.now() - t0);
        break;
      }
      await sleep(250);
    }
  }
  sampling = false;
  await sampler;
  const { rows: attempts } = await inst.db.query(
    `SELECT count(*)::int AS n FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.subscription_id = $1`,
    [burstId],
  );
  const { rows: stages } = await inst.db.query(
    `SELECT
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.created_at - m.published_at)) * 1000 AS routed_p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM d.created_at - m.published_at)) * 1000 AS routed_p99,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.started_at - d.created_at)) * 1000 AS dispatched_p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM a.started_at - d.created_at)) * 1000 AS dispatched_p99
     FROM deliveries d JOIN messages m ON m.id = d.message_id JOIN attempts a ON a.delivery_id = d.id AND a.n = 1
     WHERE d.subscription_id = $1 AND m.published_at BETWEEN $2 AND $3`,
    [healthyId, startedAt, endedAt],
  );
  const st = stages[0];
  // Deleted, its remaining jobs are dropped by the dispatchers: the next repeat starts from a quiet broker.
  await api(broker.baseUrl, inst.token, 'DELETE', `/v1/subscriptions/${burstId}`, undefined, 204);
  return {
    latency,
    publishedAfterMs,
    firstAttemptedOrParkedAfterMs,
    healthyStages:
      st && st.routed_p99 !== null
        ? {
            routedP50: Number(st.routed_p50),
            routedP99: Number(st.routed_p99),
            dispatchedP50: Number(st.dispatched_p50),
            dispatchedP99: Number(st.dispatched_p99),
          }
        : null,
    peakRouterBacklog,
    peakDeliveriesStored,
    burstAttempts: attempts[0].n,
  };
}

/** Waits (at most a minute) until DELIVERIES holds almost no jobs, so one burst does not overlap the next. */
async function untilDeliveriesDrained(inst: Installation): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { stored } = await inst.deliveriesBacklog().catch(() => ({ stored: 0 }));
    if (stored < 100) return;
    await sleep(500);
  }
}
