/**
 * G. End-to-end throughput: a whole broker (every role in one process, or the processes of `--layout`) takes
 * 2,000 messages published one per request, 64 requests in flight, and delivers each to 10 webhook
 * subscriptions (nine on the topic, one by the wildcard `bench.*`). The figure is deliveries per second from
 * the first publish to the last delivery. The receiver verifies it: every (message, subscription) pair must
 * arrive, each exactly once, or the run is marked unverified.
 *
 * Baseline, same run: figure A's bare undici loop sending the same 20,000 deliveries (same body and headers,
 * 256 in flight over 64 connections) to the same receiver, rate measured the same way (first request to last
 * arrival). It is what this machine's HTTP alone allows at that moment, so the ratio survives a noisy machine.
 * The target is relative to this figure as first measured (G_REFERENCE).
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Pool } from 'undici';
import { createSubscriptions } from '../lib/api.js';
import type { BrokerProcess, Installation } from '../lib/broker.js';
import type { Ctx, Figure } from '../lib/context.js';
import { CpuMeter, medianCost, type CpuPerDelivery } from '../lib/cpu-cost.js';
import { PAD } from '../lib/latency.js';
import { now } from '../lib/load.js';
import { BENCH_ROOT, nextMessage, sleep, spawnTs, stopChild } from '../lib/proc.js';
import { percentile, summarize } from '../lib/stats.js';
import { sampleDelivery } from './a-delivery.js';

export const G_MESSAGES = 2000;
export const G_CONCURRENCY = 64;
const SUBSCRIPTIONS = 10;
const TOPIC = 'bench.g';
/** Give up on a run this long after its last publish answered (the run is then unverified). */
const GRACE_MS = 120_000;

/**
 * G before any work on it: the median of three one-process `--quick` runs of the same code on 2026-11-26
 * (624 deliveries/s; ratios to the bare undici loop 0.13, 0.13 and 0.19), on the shared machine at load
 * average 13–28. The target is 1.5× the ratio. Re-measure both on a quiet machine before judging the target.
 */
export const G_REFERENCE = {
  deliveriesPerS: 2628,
  ratioToLoop: 0.1,
  measured:
    'bench/results/2026-11-26-quick-only-G-round-start-code.json: the code of 3ed2489 run by this figure ' +
    '(HOOKLINE_BENCH_TREE), load average 1.0–1.9; the first reference (624/s, 0.13) was taken at load 13–28',
};

const label = (i: number) => `t_g${i}`;

interface GRun {
  rate: number;
  spanMs: number;
  publishMs: number;
  failedPublishes: number;
  missing: number;
  duplicates: number;
  latencyP50: number;
  latencyP99: number;
  cost: CpuPerDelivery;
}

/** Publishes G_MESSAGES single messages, G_CONCURRENCY in flight; `r` tags every message with `base + i`. */
async function publishSingly(broker: BrokerProcess, token: string, base: number, count: number): Promise<{ failed: number; first: number; last: number }> {
  const pool = new Pool(broker.baseUrl, { connections: G_CONCURRENCY, pipelining: 1, keepAliveTimeout: 60_000 });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  let next = 0;
  let failed = 0;
  const first = now();
  await Promise.all(
    Array.from({ length: G_CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        try {
          const res = await pool.request({
            method: 'POST',
            path: `/v1/topics/${TOPIC}/messages`,
            headers,
            body: `{"t":${now()},"r":${base + i},"pad":"${PAD}"}`,
            headersTimeout: 30_000,
            bodyTimeout: 30_000,
          });
          await res.body.dump();
          if (res.statusCode !== 202) failed++;
        } catch {
          failed++;
        }
      }
    }),
  );
  const last = now();
  await pool.close();
  return { failed, first, last };
}

async function oneRun(ctx: Ctx, inst: Installation, broker: BrokerProcess, base: number, count: number): Promise<GRun> {
  const { receiver } = ctx;
  for (let s = 0; s < SUBSCRIPTIONS; s++) await receiver.take(label(s));
  const meter = await CpuMeter.start(() => broker.pids(), [inst.database]);
  const pub = await publishSingly(broker, inst.token, base, count);
  const accepted = count - pub.failed;
  const deadline = Date.now() + GRACE_MS;
  for (let s = 0; s < SUBSCRIPTIONS; s++) await receiver.waitCount(label(s), accepted, Math.max(0, deadline - Date.now()), 20);
  const cost = meter.perDelivery(accepted * SUBSCRIPTIONS);
  // A moment for redeliveries (at-least-once) to show up, so "exactly once each" is checked, not assumed.
  await sleep(300);
  let last = 0;
  let missing = 0;
  let duplicates = 0;
  const latencies: number[] = [];
  for (let s = 0; s < SUBSCRIPTIONS; s++) {
    const got = await receiver.take(label(s));
    const seen = new Uint8Array(count);
    for (let k = 0; k < got.runs.length; k++) {
      const i = got.runs[k]! - base;
      if (i < 0 || i >= count) continue;
      if (seen[i]) duplicates++;
      else {
        seen[i] = 1;
        last = Math.max(last, got.arrivals[k]!);
        latencies.push(got.arrivals[k]! - got.sent[k]!);
      }
    }
    missing += count - seen.reduce((a, b) => a + b, 0);
  }
  // Failed publishes are missing deliveries too: the figure is for all 2,000 messages.
  const spanMs = last - pub.first;
  return {
    rate: missing === 0 ? (count * SUBSCRIPTIONS) / (spanMs / 1000) : NaN,
    spanMs,
    publishMs: pub.last - pub.first,
    failedPublishes: pub.failed,
    missing,
    duplicates,
    latencyP50: percentile(latencies, 50),
    latencyP99: percentile(latencies, 99),
    cost,
  };
}

export async function figureG(ctx: Ctx, inst: Installation, broker: BrokerProcess): Promise<Figure> {
  const { scale, receiver } = ctx;
  const specs = Array.from({ length: SUBSCRIPTIONS }, (_, s) => ({ topic: s === SUBSCRIPTIONS - 1 ? 'bench.*' : TOPIC, url: receiver.url(label(s)) }));
  await createSubscriptions(broker.baseUrl, inst.token, specs);
  const loop = spawnTs(path.join(BENCH_ROOT, 'baselines/undici-loop.ts'));
  const runs: GRun[] = [];
  const baseRates: number[] = [];
  try {
    await nextMessage(loop, (m): m is { type: 'ready' } => (m as { type?: string }).type === 'ready', 20_000, 'the undici loop');
    // Uncounted warm-up: connections to the receiver open, code paths compiled.
    const warm = await oneRun(ctx, inst, broker, 0, 200);
    ctx.log(`G warm-up: ${Math.round(warm.rate)} deliveries/s, ${warm.missing} missing`);
    const sample = sampleDelivery(receiver.url('gb'));
    for (let r = 1; r <= scale.repeats; r++) {
      const run = await oneRun(ctx, inst, broker, r * 100_000, G_MESSAGES);
      runs.push(run);
      baseRates.push(await loopRate(ctx, loop, sample, G_MESSAGES * SUBSCRIPTIONS));
      ctx.log(
        `G run ${r}: ${Math.round(run.rate)} deliveries/s (${Math.round(run.spanMs)} ms; publishing took ${Math.round(run.publishMs)} ms;` +
          ` ${run.missing} missing, ${run.duplicates} duplicates, ${run.failedPublishes} failed publishes; latency p50 ${Math.round(run.latencyP50)} ms),` +
          ` bare undici ${Math.round(baseRates.at(-1)!)}/s; CPU ms per delivery: broker ${run.cost.broker.toFixed(3)}, NATS ${run.cost.nats.toFixed(3)}, Postgres ${run.cost.postgres.toFixed(3)}`,
      );
    }
  } finally {
    await stopChild(loop, 2000);
  }
  const s = summarize(runs.map((r) => r.rate));
  const b = summarize(baseRates);
  const ratio = s.value / b.value;
  const verified = runs.every((r) => r.missing === 0 && r.duplicates === 0 && r.failedPublishes === 0);
  return {
    title: `end to end: ${G_MESSAGES.toLocaleString('en-US')} single publishes (${G_CONCURRENCY} in flight) → ${SUBSCRIPTIONS} subscriptions, first publish to last delivery`,
    value: s.value,
    unit: 'deliveries/s',
    baseline: b.value,
    ratio,
    min: s.min,
    max: s.max,
    runs: s.runs,
    baselineRuns: b.runs,
    target: `≥ 1.5× the reference ratio (${G_REFERENCE.ratioToLoop} of the loop, ${G_REFERENCE.deliveriesPerS.toLocaleString('en-US')}/s)`,
    met: verified && ratio >= 1.5 * G_REFERENCE.ratioToLoop,
    peakBrokerRssMiB: broker.peakRssMiB(),
    notes: {
      layout: ctx.layout,
      verified,
      missing: runs.reduce((a, r) => a + r.missing, 0),
      duplicates: runs.reduce((a, r) => a + r.duplicates, 0),
      failedPublishes: runs.reduce((a, r) => a + r.failedPublishes, 0),
      publishingMs: summarize(runs.map((r) => r.publishMs)).value,
      latencyP50Ms: summarize(runs.map((r) => r.latencyP50)).value,
      latencyP99Ms: summarize(runs.map((r) => r.latencyP99)).value,
      cpuMsPerDelivery: medianCost(runs.map((r) => r.cost)),
      reference: G_REFERENCE,
      brokerWarnings: broker.warnings().length,
    },
  };
}

/** The bare undici loop's rate for `count` deliveries: first request to last arrival, as G is measured. */
async function loopRate(ctx: Ctx, loop: ChildProcess, sample: { body: string; headers: Record<string, string> }, count: number): Promise<number> {
  await ctx.receiver.take('gb');
  const t0 = now();
  loop.send({ type: 'run', url: ctx.receiver.url('gb'), count, concurrency: 256, connections: 64, ...sample });
  const done = await nextMessage(loop, (m): m is { type: 'done'; ok: number } => (m as { type?: string }).type === 'done', 120_000, 'the undici loop');
  const got = await ctx.receiver.take('gb');
  if (done.ok < count || got.arrivals.length < count) return NaN;
  return count / ((Math.max(...got.arrivals) - t0) / 1000);
}
