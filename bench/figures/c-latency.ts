/**
 * C. End-to-end latency at `latencyRate` (500) msg/s, open loop, one webhook subscription: from just before
 * the publish request is sent to the delivery's arrival at the receiver. Every delivery is a sample; one
 * that does not arrive counts as infinitely late. Each repeat is its own run; the figure is the median of
 * the runs' p50 and p99. The runs are kept: F uses them as its baseline (same broker, just before).
 */
import os from 'node:os';
import { createSubscriptions } from '../lib/api.js';
import type { BrokerProcess, Installation } from '../lib/broker.js';
import type { Ctx, Figure } from '../lib/context.js';
import { measureLatency, type LatencyRun } from '../lib/latency.js';
import { summarize } from '../lib/stats.js';

/** Runs `repeats` latency measurements (after an uncounted warm-up). */
export async function latencyRuns(
  ctx: Ctx,
  what: string,
  o: { base: string; token: string; topic: string; label: string; perMessage: number; ratePerS?: number; cpuSeconds?: () => number },
): Promise<LatencyRun[]> {
  await measureLatency(ctx, { ...o, seconds: Math.min(2, ctx.scale.latencySeconds) });
  const runs: LatencyRun[] = [];
  for (let r = 0; r < ctx.scale.repeats; r++) {
    const run = await measureLatency(ctx, { ...o, seconds: ctx.scale.latencySeconds });
    runs.push(run);
    ctx.log(
      `${what} run ${r + 1}: p50 ${run.p50.toFixed(1)} ms, p99 ${run.p99.toFixed(1)} ms, ${run.received}/${run.expected} received` +
        ` (publish p50 ${run.publishP50.toFixed(1)} ms; broker ${run.brokerCores.toFixed(2)} cores, machine ${run.machineCores.toFixed(2)} of ${os.cpus().length} busy)`,
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
  const p50 = summarize(runs.map((r) => r.p50));
  const p99 = summarize(runs.map((r) => r.p99));
  const notes = {
    atFifthOfTheRate: { ratePerS: ctx.scale.latencyRate / 5, p50: slow.p50, p99: slow.p99, brokerCpuCores: slow.brokerCores },
    ratePerS: ctx.scale.latencyRate,
    secondsPerRun: ctx.scale.latencySeconds,
    lost: runs.reduce((a, r) => a + r.lost, 0),
    publishP50Ms: summarize(runs.map((r) => r.publishP50)).value,
    publishP99Ms: summarize(runs.map((r) => r.publishP99)).value,
    brokerCpuCores: summarize(runs.map((r) => r.brokerCores)).value,
    machineBusyCores: summarize(runs.map((r) => r.machineCores)).value,
  };
  const peak = broker.peakRssMiB();
  return {
    runs,
    p50: {
      title: `end-to-end latency p50, publish → receiver at ${ctx.scale.latencyRate} msg/s`,
      value: p50.value,
      unit: 'ms',
      baseline: null,
      ratio: null,
      min: p50.min,
      max: p50.max,
      runs: p50.runs,
      target: '< 10 ms',
      met: p50.value < 10,
      peakBrokerRssMiB: peak,
      notes,
    },
    p99: {
      title: `end-to-end latency p99, publish → receiver at ${ctx.scale.latencyRate} msg/s`,
      value: p99.value,
      unit: 'ms',
      baseline: null,
      ratio: null,
      min: p99.min,
      max: p99.max,
      runs: p99.runs,
      target: '< 50 ms',
      met: p99.value < 50,
      peakBrokerRssMiB: peak,
      notes,
    },
  };
}
