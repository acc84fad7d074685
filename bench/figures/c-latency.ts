/**
 * C. End-to-end latency at `latencyRate` (500) msg/s, open loop, one webhook subscription: from just before
 * the publish request is sent to the delivery's arrival at the receiver. Every delivery is a sample; one
 * that does not arrive counts as infinitely late. Each repeat is its own run; the figure is the median of
 * the runs' p50 and p99. The runs are kept: F uses them as its baseline (same broker, just before).
 * C's own baseline is the bare pipeline (baselines/bare-pipeline.ts) under the same load right after: the
 * fewest steps that keep the same promises, with nothing batched.
 */
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createSubscriptions } from '../lib/api.js';
import { medianCost } from '../lib/cpu-cost.js';
import { Installation, NATS_URL, type BrokerProcess } from '../lib/broker.js';
import type { Ctx, Figure } from '../lib/context.js';
import { measureLatency, type LatencyRun } from '../lib/latency.js';
import { BENCH_ROOT, cpuSecondsOf, nextMessage, spawnTs, stopChild } from '../lib/proc.js';
import { summarize } from '../lib/stats.js';

/** The bare pipeline (baselines/bare-pipeline.ts) on the installation's database, with streams of its own. */
async function startBarePipeline(ctx: Ctx, inst: Installation): Promise<{ child: ChildProcess; origin: string; streams: string[] }> {
  const prefix = `${inst.prefix.toUpperCase()}_BARE`;
  const child = spawnTs(path.join(BENCH_ROOT, 'baselines/bare-pipeline.ts'), {
    env: {
      BASELINE_STREAM_PREFIX: prefix,
      BASELINE_TARGET: ctx.receiver.url('t_cbare'),
      BASELINE_NATS_URL: NATS_URL,
      BASELINE_DATABASE_URL: inst.databaseUrl,
    },
  });
  const ready = await nextMessage(
    child,
    (m): m is { type: 'ready'; port: number } => (m as { type?: string }).type === 'ready',
    20_000,
    'the bare pipeline',
  );
  return { child, origin: `http://127.0.0.1:${ready.port}`, streams: [`${prefix}_MSG`, `${prefix}_JOB`] };
}

/** Runs `repeats` latency measurements (after an uncounted warm-up). */
export async function latencyRuns(
  ctx: Ctx,
  what: string,
  o: { base: string; token: string; topic: string; label: string; perMessage: number; ratePerS?: number; cpuSeconds?: () => number; pids?: () => number[]; database?: string },
): Promise<LatencyRun[]> {
  await measureLatency(ctx, { ...o, seconds: Math.min(2, ctx.scale.latencySeconds) });
  const runs: LatencyRun[] = [];
  for (let r = 0; r < ctx.scale.repeats; r++) {
    const run = await measureLatency(ctx, { ...o, seconds: ctx.scale.latencySeconds });
    runs.push(run);
    ctx.log(
      `${what} run ${r + 1}: p50 ${run.p50.toFixed(1)} ms, p99 ${run.p99.toFixed(1)} ms, ${run.received}/${run.expected} received` +
        ` (publish p50 ${run.publishP50.toFixed(1)} ms; broker ${run.brokerCores.toFixed(2)} cores, NATS + Postgres ${run.storeCores.toFixed(2)}, machine ${run.machineCores.toFixed(2)} of ${os.cpus().length} busy)`,
    );
  }
  return runs;
}

export async function figureC(ctx: Ctx, inst: Installation, broker: BrokerProcess): Promise<{ p50: Figure; p99: Figure; runs: LatencyRun[] }> {
  await createSubscriptions(broker.baseUrl, inst.token, [{ topic: 'bench.c', url: ctx.receiver.url('t_c') }]);
  const runs = await latencyRuns(ctx, 'C', {
    base: broker.baseUrl,
    token: inst.token,
    topic: 'bench.c',
    label: 't_c',
    perMessage: 1,
    cpuSeconds: () => broker.cpuSeconds(),
    pids: () => broker.pids(),
    database: inst.database,
  });
  // One run at a fifth of the rate: how much of C is the pipeline itself and how much queueing for CPU.
  const slow = await measureLatency(ctx, {
    base: broker.baseUrl,
    token: inst.token,
    topic: 'bench.c',
    label: 't_c',
    perMessage: 1,
    seconds: ctx.scale.latencySeconds,
    ratePerS: ctx.scale.latencyRate / 5,
    cpuSeconds: () => broker.cpuSeconds(),
  });
  ctx.log(`C at ${ctx.scale.latencyRate / 5} msg/s: p50 ${slow.p50.toFixed(1)} ms, p99 ${slow.p99.toFixed(1)} ms (broker ${slow.brokerCores.toFixed(2)} cores)`);
  // The floor under C: the same load through the bare pipeline, right after, on the same machine.
  const bare = await startBarePipeline(ctx, inst);
  let bareRuns: LatencyRun[];
  let bareSlow: LatencyRun;
  try {
    bareRuns = await latencyRuns(ctx, 'C bare pipeline', {
      base: bare.origin,
      token: inst.token,
      topic: 'bench.c',
      label: 't_cbare',
      perMessage: 1,
      cpuSeconds: () => cpuSecondsOf(bare.child.pid!),
      pids: () => [bare.child.pid!],
      database: inst.database,
    });
    bareSlow = await measureLatency(ctx, {
      base: bare.origin,
      token: inst.token,
      topic: 'bench.c',
      label: 't_cbare',
      perMessage: 1,
      seconds: ctx.scale.latencySeconds,
      ratePerS: ctx.scale.latencyRate / 5,
      cpuSeconds: () => cpuSecondsOf(bare.child.pid!),
    });
    ctx.log(`C bare pipeline at ${ctx.scale.latencyRate / 5} msg/s: p50 ${bareSlow.p50.toFixed(1)} ms, p99 ${bareSlow.p99.toFixed(1)} ms`);
  } finally {
    await stopChild(bare.child);
    const jsm = await (await Installation.nats()).jetstreamManager();
    for (const s of bare.streams) await jsm.streams.delete(s).catch(() => {});
  }
  const p50 = summarize(runs.map((r) => r.p50));
  const p99 = summarize(runs.map((r) => r.p99));
  const bareP50 = summarize(bareRuns.map((r) => r.p50));
  const bareP99 = summarize(bareRuns.map((r) => r.p99));
  const notes = {
    atFifthOfTheRate: { ratePerS: ctx.scale.latencyRate / 5, p50: slow.p50, p99: slow.p99, brokerCpuCores: slow.brokerCores },
    ratePerS: ctx.scale.latencyRate,
    secondsPerRun: ctx.scale.latencySeconds,
    lost: runs.reduce((a, r) => a + r.lost, 0),
    publishP50Ms: summarize(runs.map((r) => r.publishP50)).value,
    publishP99Ms: summarize(runs.map((r) => r.publishP99)).value,
    brokerCpuCores: summarize(runs.map((r) => r.brokerCores)).value,
    machineBusyCores: summarize(runs.map((r) => r.machineCores)).value,
    natsAndPostgresCores: summarize(runs.map((r) => r.storeCores)).value,
    // From the first publish to the last delivery: the broker process(es), NATS and Postgres (cpu-cost.ts).
    cpuMsPerDelivery: medianCost(runs.flatMap((r) => (r.cpuMsPerDelivery ? [r.cpuMsPerDelivery] : []))),
    barePipeline: {
      what: 'baselines/bare-pipeline.ts: publish, route, dispatch one message at a time with no batching, same stores',
      p50Runs: bareP50.runs,
      p99Runs: bareP99.runs,
      publishP50Ms: summarize(bareRuns.map((r) => r.publishP50)).value,
      processCpuCores: summarize(bareRuns.map((r) => r.brokerCores)).value,
      machineBusyCores: summarize(bareRuns.map((r) => r.machineCores)).value,
      natsAndPostgresCores: summarize(bareRuns.map((r) => r.storeCores)).value,
      lost: bareRuns.reduce((a, r) => a + r.lost, 0),
      cpuMsPerDelivery: medianCost(bareRuns.flatMap((r) => (r.cpuMsPerDelivery ? [r.cpuMsPerDelivery] : []))),
      atFifthOfTheRate: { ratePerS: ctx.scale.latencyRate / 5, p50: bareSlow.p50, p99: bareSlow.p99, processCpuCores: bareSlow.brokerCores },
    },
  };
  const peak = broker.peakRssMiB();
  const figure = (which: 'p50' | 'p99', own: typeof p50, bare: typeof p50, targetMs: number): Figure => ({
    title: `end-to-end latency ${which}, publish → receiver at ${ctx.scale.latencyRate} msg/s`,
    value: own.value,
    unit: 'ms',
    baseline: bare.value,
    ratio: own.value / bare.value,
    min: own.min,
    max: own.max,
    runs: own.runs,
    target: `< ${targetMs} ms`,
    met: own.value < targetMs,
    peakBrokerRssMiB: peak,
    notes,
  });
  return { runs, p50: figure('p50', p50, bareP50, 10), p99: figure('p99', p99, bareP99, 50) };
}
