/**
 * D. Fan-out: one message to `fanOut` (1,000) webhook subscriptions, created through the API, all on the
 * same receiver (one origin, so the dispatcher's 64 connections to it are the limit). The figure is the
 * time from just before the publish request is sent until the last of the deliveries has arrived.
 */
import { api, createSubscriptions } from '../lib/api.js';
import type { BrokerProcess, Installation } from '../lib/broker.js';
import type { Ctx, Figure } from '../lib/context.js';
import { now } from '../lib/load.js';
import { sleep } from '../lib/proc.js';
import { summarize } from '../lib/stats.js';

export async function figureD(ctx: Ctx, inst: Installation, broker: BrokerProcess): Promise<Figure> {
  const { scale, receiver } = ctx;
  const n = scale.fanOut;
  const t0 = performance.now();
  await createSubscriptions(
    broker.baseUrl,
    inst.token,
    Array.from({ length: n }, (_, i) => ({ topic: 'bench.d', url: receiver.url('t_d', String(i)) })),
    16,
  );
  const createMs = performance.now() - t0;
  const times: number[] = [];
  const firsts: number[] = [];
  let incomplete = 0;
  // Run 0 warms up (connections to the receiver, JIT) and is not counted.
  for (let r = 0; r <= scale.repeats; r++) {
    await receiver.take('t_d');
    const sent = now();
    await api(broker.baseUrl, inst.token, 'POST', '/v1/topics/bench.d/messages', { t: sent, r: 1000 + r }, 202);
    const got = await receiver.waitCount('t_d', n, 30_000, 5);
    const taken = await receiver.take('t_d');
    if (got < n) incomplete++;
    const mine = taken.arrivals.filter((_, i) => taken.runs[i] === 1000 + r);
    const all = mine.length >= n ? Math.max(...mine) - sent : Infinity;
    if (r > 0) {
      times.push(all);
      firsts.push(Math.min(...mine) - sent);
      ctx.log(`D run ${r}: ${mine.length} of ${n} in ${Math.round(all)} ms (first after ${Math.round(firsts.at(-1)!)} ms)`);
    }
    await sleep(200);
  }
  const s = summarize(times);
  return {
    title: `fan-out: one message to ${n.toLocaleString('en-US')} webhook subscriptions, until all received`,
    value: s.value,
    unit: 'ms',
    baseline: null,
    ratio: null,
    min: s.min,
    max: s.max,
    runs: s.runs,
    target: '< 1 s',
    met: s.value < 1000,
    peakBrokerRssMiB: broker.peakRssMiB(),
    notes: { firstDeliveryMs: summarize(firsts).value, subscriptionsCreatedViaApiMs: Math.round(createMs), incompleteRuns: incomplete },
  };
}
