/**
 * B. Publish throughput over HTTP, closed loop: `POST /v1/topics/:topic/messages` (64 connections, one
 * ~1 KiB message each) and `POST /v1/topics/:topic/batch` (16 connections, 100 such messages each), on a
 * whole broker (all roles: the router consumes what is published meanwhile, as it would). Baseline, same
 * run, loaded the same way: a bare express 5 app in its own process that parses the JSON and answers 202.
 * Reference (informational): the same app awaiting one JetStream publish per message before answering.
 */
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { RetentionPolicy, StorageType } from 'nats';
import type { BrokerProcess } from '../lib/broker.js';
import { Installation, NATS_URL } from '../lib/broker.js';
import type { Ctx, Figure } from '../lib/context.js';
import { PAD } from '../lib/latency.js';
import { closedLoop, type ClosedLoopResult } from '../lib/load.js';
import { BENCH_ROOT, nextMessage, spawnTs, stopChild } from '../lib/proc.js';
import { summarize } from '../lib/stats.js';

export const SINGLE_CONNECTIONS = 64;
export const BATCH_CONNECTIONS = 16;
export const BATCH_SIZE = 100;

async function startExpress(env: Record<string, string> = {}): Promise<{ child: ChildProcess; origin: string }> {
  const child = spawnTs(path.join(BENCH_ROOT, 'baselines/express-publish.ts'), { env });
  const ready = await nextMessage(
    child,
    (m): m is { type: 'ready'; port: number } => (m as { type?: string }).type === 'ready',
    20_000,
    'the express baseline',
  );
  return { child, origin: `http://127.0.0.1:${ready.port}` };
}

export async function figureB(ctx: Ctx, inst: Installation, broker: BrokerProcess): Promise<{ single: Figure; batch: Figure; reference: Figure }> {
  const { scale } = ctx;
  const bare = await startExpress();
  // The reference stores into a stream of its own, deleted afterwards.
  const refStream = `BENCHREF_${randomBytes(4).toString('hex').toUpperCase()}`;
  const refSubject = refStream.toLowerCase();
  const jsm = await (await Installation.nats()).jetstreamManager();
  await jsm.streams.add({ name: refStream, subjects: [`${refSubject}.>`], storage: StorageType.File, retention: RetentionPolicy.Limits, duplicate_window: 600e9 });
  const ref = await startExpress({ BASELINE_JS_PUBLISH: '1', BASELINE_JS_SUBJECT: refSubject, BASELINE_NATS_URL: NATS_URL });
  const one = `{"kind":"bench","pad":"${PAD}"}`;
  const many = `{"messages":[${Array.from({ length: BATCH_SIZE }, () => one).join(',')}]}`;
  const json = { 'content-type': 'application/json' };
  const auth = { ...json, authorization: `Bearer ${inst.token}` };
  const load = (origin: string, headers: Record<string, string>, batch: boolean): Promise<ClosedLoopResult> =>
    closedLoop({
      origin,
      path: batch ? '/v1/topics/bench.b/batch' : '/v1/topics/bench.b/messages',
      headers,
      body: batch ? () => many : () => one,
      concurrency: batch ? BATCH_CONNECTIONS : SINGLE_CONNECTIONS,
      durationMs: scale.loadSeconds * 1000,
      maxRequests: 1_000_000,
      okStatus: 202,
      warmupMs: scale.warmupSeconds * 1000,
    });
  const single: number[] = [];
  const singleBase: number[] = [];
  const batch: number[] = [];
  const batchBase: number[] = [];
  const reference: number[] = [];
  const batchReference: number[] = [];
  const failures: Record<string, number>[] = [];
  try {
    for (let r = 0; r < scale.repeats; r++) {
      // Interleaved, so drift in the machine's load hits both sides alike.
      const s = await load(broker.baseUrl, auth, false);
      const sb = await load(bare.origin, json, false);
      const b = await load(broker.baseUrl, auth, true);
      const bb = await load(bare.origin, json, true);
      const rf = await load(ref.origin, json, false);
      const rfb = await load(ref.origin, json, true);
      for (const x of [s, b]) if (x.failed) failures.push(x.statuses);
      single.push(s.rate);
      singleBase.push(sb.rate);
      batch.push(b.rate * BATCH_SIZE);
      batchBase.push(bb.rate * BATCH_SIZE);
      reference.push(rf.rate);
      batchReference.push(rfb.rate * BATCH_SIZE);
      ctx.log(
        `B run ${r + 1}: single ${Math.round(s.rate)}/s (bare ${Math.round(sb.rate)}, express+js.publish ${Math.round(rf.rate)}), ` +
          `batch ${Math.round(b.rate * BATCH_SIZE)} msgs/s (bare ${Math.round(bb.rate * BATCH_SIZE)}, express+js.publish ${Math.round(rfb.rate * BATCH_SIZE)})`,
      );
    }
  } finally {
    await stopChild(bare.child, 2000);
    await stopChild(ref.child, 2000);
    await jsm.streams.delete(refStream).catch(() => {});
  }
  const s = summarize(single);
  const sb = summarize(singleBase);
  const b = summarize(batch);
  const bb = summarize(batchBase);
  const rf = summarize(reference);
  const rfb = summarize(batchReference);
  const peak = broker.peakRssMiB();
  return {
    single: {
      title: `publish throughput, single message per request (${SINGLE_CONNECTIONS} connections)`,
      value: s.value,
      unit: 'msgs/s',
      baseline: sb.value,
      ratio: s.value / sb.value,
      min: s.min,
      max: s.max,
      runs: s.runs,
      baselineRuns: sb.runs,
      target: '≥ 60 % of bare express',
      met: s.value / sb.value >= 0.6,
      peakBrokerRssMiB: peak,
      notes: { failures, referenceExpressPlusJsPublish: rf.value, ratioToReference: s.value / rf.value },
    },
    batch: {
      title: `publish throughput, /batch of ${BATCH_SIZE} (${BATCH_CONNECTIONS} connections)`,
      value: b.value,
      unit: 'msgs/s',
      baseline: bb.value,
      ratio: b.value / bb.value,
      min: b.min,
      max: b.max,
      runs: b.runs,
      baselineRuns: bb.runs,
      target: '≥ 10,000 msgs/s',
      met: b.value >= 10_000,
      peakBrokerRssMiB: peak,
      // The same reference app's /batch: 100 pipelined, awaited JetStream publishes per request.
      notes: { referenceExpressPlusJsPublish: rfb.value, referenceRuns: rfb.runs, ratioToReference: b.value / rfb.value },
    },
    reference: {
      title: 'reference: bare express + one awaited JetStream publish (Nats-Msg-Id) per message',
      value: rf.value,
      unit: 'msgs/s',
      baseline: sb.value,
      ratio: rf.value / sb.value,
      min: rf.min,
      max: rf.max,
      runs: rf.runs,
      target: 'informational: the ceiling of any publish that stores before it answers',
      met: null,
    },
  };
}
