/**
 * A. Delivery throughput. A backlog of signed deliveries to 10 subscriptions is built first (api + router
 * running, no dispatcher), then a dispatcher process (HOOKLINE_ROLES=dispatcher, the same entry point) is
 * started and drains it: sign, undici POST to the receiver, attempt rows written, ack. The figure is the
 * sustained rate at the receiver (the middle 80 % of arrivals). Baseline, same run: a bare undici POST loop
 * in its own process with the dispatcher's concurrency (256 in flight over a 64-connection Agent), the same
 * body and headers, to the same receiver, measured the same way.
 */
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { prepareWebhook } from '../../services/dispatcher/deliver/prepare.js';
import { generateSecret } from '../../shared/signing.js';
import type { SubscriptionRecord } from '../../shared/db/subscriptions.js';
import { createSubscriptions, publishBacklog } from '../lib/api.js';
import { BrokerProcess, Installation } from '../lib/broker.js';
import type { Ctx, Figure } from '../lib/context.js';
import { CpuMeter, CPU_MS_PER_DELIVERY_TARGET, medianCost, type CpuPerDelivery } from '../lib/cpu-cost.js';
import { dispatchersOf } from '../lib/layout.js';
import { PAD } from '../lib/latency.js';
import { BENCH_ROOT, cpuByCommand, cpuSecondsBetween, cpuSecondsOf, machineBusySeconds, nextMessage, sleep, spawnTs, stopChild, STORE_COMMANDS } from '../lib/proc.js';
import { againstBaseline, summarize, sustainedRate } from '../lib/stats.js';

const SUBSCRIPTIONS = 10;
/** The dispatcher's defaults (HOOKLINE_DISPATCH_CONCURRENCY, http-agent connectionsPerOrigin). */
const CONCURRENCY = 256;
const CONNECTIONS = 64;

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await check()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`A: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** The body and headers of a real delivery of the backlog's payload, for the baseline loop. */
export function sampleDelivery(url: string) {
  const sub = { url, secret: generateSecret(), previousSecret: null, previousSecretExpiresAt: null, timeoutMs: 10_000 } as unknown as SubscriptionRecord;
  const req = prepareWebhook(
    sub,
    { id: 'msg_01KB0000000000000000000000', topic: 'bench.a', publishedAt: new Date().toISOString(), data: payloadText(0) },
    1,
  );
  return { body: req.body, headers: req.headers };
}

function payloadText(i: number): string {
  return `{"i":${i},"pad":"${PAD}"}`;
}

export async function figureA(ctx: Ctx): Promise<Figure> {
  const { scale, receiver } = ctx;
  const inst = new Installation('A');
  const front = await BrokerProcess.start(inst, { ...ctx.brokerOptions, roles: 'api,router' });
  let baselineProc: ChildProcess | undefined;
  const rates: number[] = [];
  const baseRates: number[] = [];
  const perCore: number[] = [];
  const fullDrain: number[] = [];
  const split: { dispatcher: number; stores: number; machine: number }[] = [];
  const baselineSplit: { loop: number; machine: number }[] = [];
  const startMs: number[] = [];
  const drainCost: CpuPerDelivery[] = [];
  const buildCost: CpuPerDelivery[] = [];
  const dispatchers = dispatchersOf(ctx.layout);
  let peak = 0;
  try {
    await createSubscriptions(
      front.baseUrl,
      inst.token,
      Array.from({ length: SUBSCRIPTIONS }, (_, i) => ({ topic: 'bench.a', url: receiver.url('a', String(i)) })),
    );
    baselineProc = spawnTs(path.join(BENCH_ROOT, 'baselines/undici-loop.ts'));
    await nextMessage(baselineProc, (m): m is { type: 'ready' } => (m as { type?: string }).type === 'ready', 20_000, 'the undici loop');
    const sample = sampleDelivery(receiver.url('ab'));
    const deliveries = scale.backlogMessages * SUBSCRIPTIONS;
    let attemptsBefore = 0;

    for (let r = 0; r < scale.repeats; r++) {
      // Build the backlog.
      const buildMeter = await CpuMeter.start(() => front.pids(), [inst.database]);
      await publishBacklog(front.baseUrl, inst.token, 'bench.a', scale.backlogMessages, (i) => JSON.parse(payloadText(i)));
      const fanOutMs = await until('the router to fan the backlog out', 300_000, async () => {
        const q = await inst.deliveriesBacklog();
        return q.stored >= deliveries && (await inst.routerBacklog()) === 0;
      });
      buildCost.push(buildMeter.perDelivery(deliveries));
      ctx.log(`A run ${r + 1}: backlog of ${deliveries} deliveries ready (fan-out took ${Math.round(fanOutMs)} ms)`);
      await receiver.take('a');

      // Drain it with a dispatcher process (two with --layout two-dispatchers: they share the consumer).
      const t0 = performance.now();
      const dispatcher = await BrokerProcess.start(inst, { ...ctx.brokerOptions, roles: 'dispatcher' });
      try {
        for (let d = 1; d < dispatchers; d++) dispatcher.addCompanion(await BrokerProcess.start(inst, { ...ctx.brokerOptions, roles: 'dispatcher' }));
      } catch (err) {
        await dispatcher.stop();
        throw err;
      }
      // CPU is split from readiness on: the dispatcher's start-up (loading its code) is not delivery work.
      const meter = await CpuMeter.start(() => [...front.pids(), ...dispatcher.pids()], [inst.database]);
      const ready = { at: performance.now(), busy: machineBusySeconds(), stores: cpuByCommand(STORE_COMMANDS), own: dispatcher.cpuSeconds() };
      startMs.push(dispatcher.readyAfterMs);
      const cpu: [number, number][] = [];
      const cpuTimer = setInterval(() => cpu.push([performance.timeOrigin + performance.now(), dispatcher.cpuSeconds()]), 100);
      try {
        await receiver.waitCount('a', deliveries, 300_000, 50);
        await until('every attempt row to be written', 60_000, async () => {
          const { rows } = await inst.db.query('SELECT count(*)::int AS n FROM attempts');
          return rows[0].n >= attemptsBefore + deliveries;
        });
        drainCost.push(meter.perDelivery(deliveries));
        const drainedMs = performance.now() - t0;
        fullDrain.push(deliveries / (drainedMs / 1000));
        const wallS = (performance.now() - ready.at) / 1000;
        split.push({
          dispatcher: (dispatcher.cpuSeconds() - ready.own) / wallS,
          stores: cpuSecondsBetween(ready.stores, cpuByCommand(STORE_COMMANDS)) / wallS,
          machine: (machineBusySeconds() - ready.busy) / wallS,
        });
      } finally {
        clearInterval(cpuTimer);
        peak = Math.max(peak, dispatcher.peakRssMiB());
        await dispatcher.stop();
      }
      attemptsBefore += deliveries;
      const got = await receiver.take('a');
      const rate = sustainedRate(got.arrivals);
      rates.push(rate);
      perCore.push(rate / cpuCoresBetween(cpu, got.arrivals));

      // The baseline, right after, same count.
      await receiver.take('ab');
      const b0 = performance.now();
      const bBusy0 = machineBusySeconds();
      const loop0 = cpuSecondsOf(baselineProc.pid!);
      baselineProc.send({ type: 'run', url: receiver.url('ab'), count: deliveries, concurrency: CONCURRENCY, connections: CONNECTIONS, ...sample });
      await nextMessage(baselineProc, (m): m is { type: 'done' } => (m as { type?: string }).type === 'done', 300_000, 'the undici loop');
      const bWallS = (performance.now() - b0) / 1000;
      baselineSplit.push({ loop: (cpuSecondsOf(baselineProc.pid!) - loop0) / bWallS, machine: (machineBusySeconds() - bBusy0) / bWallS });
      const base = await receiver.take('ab');
      baseRates.push(sustainedRate(base.arrivals));
      const c = drainCost.at(-1)!;
      ctx.log(
        `A run ${r + 1}: Hookline ${Math.round(rate)}/s, bare undici ${Math.round(baseRates.at(-1)!)}/s;` +
          ` CPU ms per delivery: broker ${c.broker.toFixed(3)}, NATS ${c.nats.toFixed(3)}, Postgres ${c.postgres.toFixed(3)}, sum ${c.sum.toFixed(3)}`,
      );
    }
    const { rows } = await inst.db.query(
      `SELECT count(*)::int AS attempts, count(*) FILTER (WHERE status_code = 200)::int AS ok FROM attempts`,
    );
    peak = Math.max(peak, front.peakRssMiB());
    const s = summarize(rates);
    const b = summarize(baseRates);
    const warnings = front.warnings().length;
    return {
      title: 'delivery throughput, backlog → 10 subscriptions (signed, attempt rows written)',
      ...againstBaseline(s, b),
      unit: 'deliveries/s',
      target: '≥ 40 % of the bare undici loop',
      met: s.value / b.value >= 0.4,
      peakBrokerRssMiB: peak,
      notes: {
        deliveriesPerRun: deliveries,
        dispatcherProcesses: dispatchers,
        // From the dispatcher's readiness to the last attempt row: every broker process (the idle api,router one
        // too), the NATS server and the Postgres cluster. The target is half of what this was before.
        cpuMsPerDelivery: { ...medianCost(drainCost), target: `≤ ${CPU_MS_PER_DELIVERY_TARGET} ms (sum)` },
        // Publishing the backlog through /batch and fanning it out (api,router process, NATS, Postgres).
        cpuMsPerDeliveryToBuildBacklog: medianCost(buildCost),
        deliveriesPerDispatcherCpuSecond: summarize(perCore).value,
        fullDrainRate: summarize(fullDrain).value,
        dispatcherStartMs: summarize(startMs).value,
        attemptRows: rows[0].attempts,
        attempts200: rows[0].ok,
        brokerWarnings: warnings,
        // Where the two cores went, from the dispatcher's readiness to the last attempt row (stragglers included).
        coresDuringDrain: {
          dispatcher: summarize(split.map((x) => x.dispatcher)).value,
          natsAndPostgres: summarize(split.map((x) => x.stores)).value,
          machine: summarize(split.map((x) => x.machine)).value,
        },
        coresDuringBaseline: {
          undiciLoop: summarize(baselineSplit.map((x) => x.loop)).value,
          machine: summarize(baselineSplit.map((x) => x.machine)).value,
        },
      },
    };
  } finally {
    if (baselineProc) await stopChild(baselineProc, 2000);
    await front.stop();
    await inst.drop();
  }
}

/** CPU cores the dispatcher used between the 10th and 90th percentile arrivals (from 100 ms samples). */
function cpuCoresBetween(samples: [number, number][], arrivals: number[]): number {
  if (samples.length < 2 || arrivals.length < 20) return NaN;
  const sorted = [...arrivals].sort((a, b) => a - b);
  const from = sorted[Math.floor(sorted.length * 0.1)]!;
  const to = sorted[Math.floor(sorted.length * 0.9) - 1]!;
  const at = (t: number) => {
    let prev = samples[0]!;
    for (const s of samples) {
      if (s[0] >= t) {
        const f = s[0] === prev[0] ? 0 : (t - prev[0]) / (s[0] - prev[0]);
        return prev[1] + f * (s[1] - prev[1]);
      }
      prev = s;
    }
    return prev[1];
  };
  return (at(to) - at(from)) / ((to - from) / 1000);
}
