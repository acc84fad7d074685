/**
 * E. A large subscription index: C's measurement with 10 matching webhook subscriptions (exact, `*` and
 * `>` patterns; each message makes 10 deliveries) at a tenth of C's rate, so the broker delivers what it
 * does in C (500 deliveries/s: 500 msg/s × 10 would be 5,000 deliveries/s, a measure of A's capacity, not
 * of the index), first alone (the baseline), then with `indexSize`
 * (100,000) more subscriptions of the same tenant inserted straight into Postgres — patterns that share the
 * topic's first token, so the trie walk passes through their branches, but never match. Also measured: how
 * long a running router takes to load them (a probe published right after the insert), and the start-up
 * time of a broker whose router loads them before it is ready.
 */
import { api, createSubscriptions, insertSubscriptionsDirectly } from '../lib/api.js';
import { BrokerProcess, Installation } from '../lib/broker.js';
import type { Ctx, Figure } from '../lib/context.js';
import { now } from '../lib/load.js';
import { againstBaseline, summarize } from '../lib/stats.js';
import { latencyRuns } from './c-latency.js';

const MATCHING = ['e.hot.k', 'e.hot.k', 'e.hot.k', 'e.hot.k', 'e.hot.*', 'e.hot.*', 'e.hot.*', 'e.>', 'e.>', 'e.>'];

/** Patterns under `e.` that never match `e.hot.k`: exact leaves, `*` and `>` below 5,000 branches, and `e.*.x<i>`. */
function noisePattern(i: number): string {
  const branch = `n${i % 5000}`;
  switch (i % 10) {
    case 6:
    case 7:
      return `e.${branch}.*`;
    case 8:
      return `e.${branch}.>`;
    case 9:
      return `e.*.x${i}`;
    default:
      return `e.${branch}.k${i}`;
  }
}

export async function figureE(ctx: Ctx): Promise<Figure> {
  const { scale, receiver } = ctx;
  const inst = new Installation('E');
  let broker = await BrokerProcess.start(inst, ctx.brokerOptions);
  const emptyStartMs = broker.readyAfterMs;
  let peak = 0;
  try {
    await createSubscriptions(
      broker.baseUrl,
      inst.token,
      MATCHING.map((topic, i) => ({ topic, url: receiver.url('t_e', String(i)) })),
    );
    const ratePerS = scale.latencyRate / MATCHING.length;
    const hot = { token: inst.token, topic: 'e.hot.k', label: 't_e', perMessage: MATCHING.length, ratePerS };
    const first = broker;
    const before = await latencyRuns(ctx, 'E baseline (10 subscriptions)', { ...hot, base: broker.baseUrl, cpuSeconds: () => first.cpuSeconds() });
    const rssBefore = broker.rssMiB();

    const insertMs = await insertSubscriptionsDirectly(
      inst,
      Array.from({ length: scale.indexSize }, (_, i) => ({ topic: noisePattern(i), url: receiver.url('noise', String(i)) })),
    );
    // A probe right after the insert: the router loads the new rows before routing it.
    await receiver.take('t_e');
    const sent = now();
    await api(broker.baseUrl, inst.token, 'POST', '/v1/topics/e.hot.k/messages', { t: sent, r: 0 }, 202);
    await receiver.waitCount('t_e', MATCHING.length, 120_000, 10);
    const probe = await receiver.take('t_e');
    const liveLoadMs = Math.max(...probe.arrivals) - sent;
    const rssLoaded = broker.rssMiB();
    ctx.log(`E: ${scale.indexSize} subscriptions inserted in ${Math.round(insertMs)} ms; first message after them delivered in ${Math.round(liveLoadMs)} ms`);

    // A broker starting with them: its router loads the whole index before it is ready.
    peak = Math.max(peak, broker.peakRssMiB());
    await broker.stop();
    broker = await BrokerProcess.start(inst, ctx.brokerOptions);
    const loadedStartMs = broker.readyAfterMs;
    ctx.log(`E: broker ready in ${Math.round(loadedStartMs)} ms with the index (${Math.round(emptyStartMs)} ms without)`);

    const second = broker;
    const after = await latencyRuns(ctx, `E (${scale.indexSize} + 10 subscriptions)`, {
      ...hot,
      base: broker.baseUrl,
      cpuSeconds: () => second.cpuSeconds(),
    });
    peak = Math.max(peak, broker.peakRssMiB());
    const s = summarize(after.map((r) => r.p99));
    const b = summarize(before.map((r) => r.p99));
    return {
      title: `C p99 with ${scale.indexSize.toLocaleString('en-US')} subscriptions in the index (10 match; ${ratePerS} msg/s × 10 deliveries)`,
      ...againstBaseline(s, b),
      unit: 'ms',
      target: '≤ 2× C p99 with the 10 subscriptions alone',
      met: s.value / b.value <= 2,
      peakBrokerRssMiB: peak,
      notes: {
        ratePerS,
        p50: summarize(after.map((r) => r.p50)).value,
        baselineP50: summarize(before.map((r) => r.p50)).value,
        lost: after.reduce((a, r) => a + r.lost, 0),
        baselineLost: before.reduce((a, r) => a + r.lost, 0),
        brokerCpuCores: summarize(after.map((r) => r.brokerCores)).value,
        baselineBrokerCpuCores: summarize(before.map((r) => r.brokerCores)).value,
        insertMs: Math.round(insertMs),
        liveIndexLoadMs: Math.round(liveLoadMs),
        brokerReadyMsEmptyIndex: Math.round(emptyStartMs),
        brokerReadyMsWithIndex: Math.round(loadedStartMs),
        rssMiBBeforeIndex: rssBefore,
        rssMiBWithIndexLoadedLive: rssLoaded,
        rssMiBAfterRestartAndRuns: broker.rssMiB(),
      },
    };
  } finally {
    await broker.stop();
    await inst.drop();
  }
}
