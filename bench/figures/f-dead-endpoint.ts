/**
 * F. A dead endpoint: a subscription whose URL refuses connections (a closed port on 127.0.0.1), with a
 * long retry delay (full jitter up to 1 h, 12 attempts), gets `deadDeliveries` (50,000) messages published
 * through /batch. Once every one of them has been attempted or parked, C's measurement is repeated on the
 * healthy subscription of C (same broker, same topic). Baseline: C's own runs, made on this broker just
 * before. Also noted: C's p99 during the first wave (while the 50,000 are first attempted and parked).
 */
import { createSubscriptions, publishBacklog } from '../lib/api.js';
import type { BrokerProcess, Installation } from '../lib/broker.js';
import type { Ctx, Figure } from '../lib/context.js';
import { measureLatency, type LatencyRun } from '../lib/latency.js';
import { freePort, sleep } from '../lib/proc.js';
import { againstBaseline, summarize } from '../lib/stats.js';
import { latencyRuns } from './c-latency.js';

export async function figureF(ctx: Ctx, inst: Installation, broker: BrokerProcess, baseline: LatencyRun[]): Promise<Figure> {
  const n = ctx.scale.deadDeliveries;
  const deadPort = await freePort(); // nothing listens there: every attempt is refused
  const [deadId] = await createSubscriptions(broker.baseUrl, inst.token, [
    {
      topic: 'bench.f',
      url: `http://127.0.0.1:${deadPort}/dead`,
      retry: { maxAttempts: 12, initialDelayMs: 3_600_000, maxDelayMs: 3_600_000, multiplier: 1 },
    },
  ]);
  const healthy = {
    base: broker.baseUrl,
    token: inst.token,
    topic: 'bench.c',
    label: 't_c',
    perMessage: 1,
    cpuSeconds: () => broker.cpuSeconds(),
  };
  const t0 = performance.now();
  const publishing = publishBacklog(broker.baseUrl, inst.token, 'bench.f', n, (i) => ({ i }), { batchSize: 1000, concurrency: 2 });
  // Healthy traffic while the first wave is published, attempted and parked.
  const storm = await measureLatency(ctx, { ...healthy, seconds: ctx.scale.latencySeconds });
  await publishing;
  ctx.log(`F: ${n} dead deliveries published; during the wave p50 ${storm.p50.toFixed(1)} ms, p99 ${storm.p99.toFixed(1)} ms`);
  let settled = 0;
  const deadline = Date.now() + 600_000;
  for (;;) {
    const { rows } = await inst.db.query(
      `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND (attempt_count > 0 OR next_attempt_at IS NOT NULL)`,
      [deadId],
    );
    settled = rows[0].n;
    if (settled >= n || Date.now() > deadline) break;
    await sleep(250);
  }
  const parkedAfterMs = performance.now() - t0;
  ctx.log(`F: ${settled} of ${n} dead deliveries attempted or parked after ${Math.round(parkedAfterMs)} ms`);
  const attemptsBefore = await deadAttempts(inst, deadId!);
  const m0 = performance.now();
  const runs = await latencyRuns(ctx, 'F', healthy);
  const measuredS = (performance.now() - m0) / 1000;
  const attemptsDuring = (await deadAttempts(inst, deadId!)) - attemptsBefore;
  const { rows: states } = await inst.db.query(
    `SELECT status, count(*)::int AS n, count(*) FILTER (WHERE attempt_count = 0)::int AS never_attempted
     FROM deliveries WHERE subscription_id = $1 GROUP BY status ORDER BY status`,
    [deadId],
  );
  const s = summarize(runs.map((r) => r.p99));
  const b = summarize(baseline.map((r) => r.p99));
  return {
    title: `healthy subscription's C p99 beside a dead endpoint with ${n.toLocaleString('en-US')} deliveries retrying`,
    ...againstBaseline(s, b),
    unit: 'ms',
    target: '≤ 2× C p99 without the dead endpoint',
    met: s.value / b.value <= 2,
    peakBrokerRssMiB: broker.peakRssMiB(),
    notes: {
      p50: summarize(runs.map((r) => r.p50)).value,
      lost: runs.reduce((a, r) => a + r.lost, 0),
      brokerCpuCores: summarize(runs.map((r) => r.brokerCores)).value,
      baselineBrokerCpuCores: summarize(baseline.map((r) => r.brokerCores)).value,
      firstWaveP50Ms: storm.p50,
      firstWaveP99Ms: storm.p99,
      allAttemptedOrParkedAfterMs: Math.round(parkedAfterMs),
      deadEndpointAttemptsPerSecondWhileMeasuring: attemptsDuring / measuredS,
      deadDeliveryStates: states,
    },
  };
}

async function deadAttempts(inst: Installation, subscriptionId: string): Promise<number> {
  const { rows } = await inst.db.query(
    `SELECT count(*)::int AS n FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.subscription_id = $1`,
    [subscriptionId],
  );
  return rows[0].n;
}
