import type { Ctx } from './context.js';
import { CpuMeter, type CpuPerDelivery } from './cpu-cost.js';
import { openLoop } from './load.js';
import { cpuByCommand, cpuSecondsBetween, machineBusySeconds, STORE_COMMANDS } from './proc.js';
import { percentile } from './stats.js';

/** ~1 KiB of JSON filler, so payloads are the size LIMITS.md measured with. */
export const PAD = 'x'.repeat(900);

export interface LatencyRun {
  p50: number;
  p99: number;
  max: number;
  /** Deliveries expected (accepted publishes × matching subscriptions). */
  expected: number;
  received: number;
  /** Expected deliveries that did not arrive in time; they count as infinitely late in the percentiles. */
  lost: number;
  publishP50: number;
  publishP99: number;
  failedPublishes: number;
  /** CPU cores the broker process used while publishing (NaN when not given its CPU clock). */
  brokerCores: number;
  /** CPU cores the whole machine was busy meanwhile (everything: NATS, Postgres, receiver, others' work). */
  machineCores: number;
  /** CPU cores NATS and Postgres used meanwhile. */
  storeCores: number;
  /** CPU ms per delivery from the first publish until the last delivery arrived (given `pids`). */
  cpuMsPerDelivery?: CpuPerDelivery;
}

let runSeq = 0;

/**
 * Publishes single messages at `ratePerS` for `seconds` (open loop) to `topic` and measures, for every
 * delivery, the time from just before the publish request was sent to its arrival at the receiver under
 * `label`. Waits up to `graceMs` after the last publish for stragglers.
 */
export async function measureLatency(
  ctx: Ctx,
  o: {
    base: string;
    token: string;
    topic: string;
    label: string;
    perMessage: number;
    seconds: number;
    ratePerS?: number;
    graceMs?: number;
    /** The broker's CPU clock (BrokerProcess.cpuSeconds), to report how busy it was. */
    cpuSeconds?: () => number;
    /** The broker's processes and its database, for CPU per delivery (BrokerProcess.pids, Installation.database). */
    pids?: () => number[];
    database?: string;
  },
): Promise<LatencyRun> {
  const run = ++runSeq;
  await ctx.receiver.take(o.label);
  const cpu0 = o.cpuSeconds?.() ?? NaN;
  const busy0 = machineBusySeconds();
  const stores0 = cpuByCommand(STORE_COMMANDS);
  const meter = o.pids ? await CpuMeter.start(o.pids, o.database ? [o.database] : []) : undefined;
  const t0 = performance.now();
  const pub = await openLoop({
    origin: o.base,
    path: `/v1/topics/${o.topic}/messages`,
    headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
    body: (i, t) => `{"t":${t},"r":${run},"i":${i},"pad":"${PAD}"}`,
    ratePerS: o.ratePerS ?? ctx.scale.latencyRate,
    durationMs: o.seconds * 1000,
    connections: 32,
  });
  const wallS = (performance.now() - t0) / 1000;
  const brokerCores = ((o.cpuSeconds?.() ?? NaN) - cpu0) / wallS;
  const machineCores = (machineBusySeconds() - busy0) / wallS;
  const storeCores = cpuSecondsBetween(stores0, cpuByCommand(STORE_COMMANDS)) / wallS;
  const expected = pub.accepted * o.perMessage;
  await ctx.receiver.waitCount(o.label, expected, o.graceMs ?? 15_000);
  const cpuMsPerDelivery = meter?.perDelivery(expected);
  const taken = await ctx.receiver.take(o.label);
  const lat: number[] = [];
  for (let i = 0; i < taken.arrivals.length; i++) {
    if (taken.runs[i] === run) lat.push(taken.arrivals[i]! - taken.sent[i]!);
  }
  const lost = Math.max(0, expected - lat.length);
  const all = lat.concat(new Array<number>(lost).fill(Infinity));
  return {
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    max: all.length ? Math.max(...all) : NaN,
    expected,
    received: lat.length,
    lost,
    publishP50: percentile(pub.publishMs, 50),
    publishP99: percentile(pub.publishMs, 99),
    failedPublishes: pub.failed + pub.skipped,
    brokerCores,
    machineCores,
    storeCores,
    cpuMsPerDelivery,
  };
}
