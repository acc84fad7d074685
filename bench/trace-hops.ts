/**
 * Where the milliseconds of figure C go: publishes single messages at a steady rate to one webhook
 * subscription of a whole broker that traces every message (OTLP/JSON into a sink here), then lines up, per
 * message, the publisher's send time, the spans of the api, router and dispatcher, and the arrival at the
 * receiver, and prints the median (and p90) time of each mark after the send and of each hop between marks.
 *
 *   npx tsx bench/trace-hops.ts --rate 100 --seconds 5 [--tree DIR]
 *
 * Tracing costs CPU (docs/observability.md), so the total here runs a little above figure C's; the split is
 * what this is for. Span times are the broker's wall clock, the send and arrival times the bench's
 * (`performance.timeOrigin + performance.now()`), comparable on one machine.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { createSubscriptions } from './lib/api.js';
import { BrokerProcess, Installation } from './lib/broker.js';
import { now } from './lib/load.js';
import { PAD } from './lib/latency.js';
import { killChildren } from './lib/proc.js';
import { ReceiverProcess } from './lib/receiver.js';
import { percentile } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '5' },
    tree: { type: 'string' },
    'log-level': { type: 'string', default: 'warn' },
  },
});

interface OtlpSpan {
  traceId: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: { key: string; value: { stringValue?: string } }[];
}

/** An OTLP/HTTP JSON endpoint that keeps every span it is sent. */
async function spanSink(): Promise<{ url: string; spans: OtlpSpan[]; close: () => void }> {
  const spans: OtlpSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
        };
        for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
      } catch {
        // not JSON: ignored
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, close: () => server.close() };
}

const ms = (nanos: string) => Number(BigInt(nanos) / 1000n) / 1000;

/** The marks of one message, in path order: [label, time]. */
function marksOf(sentAt: number, answeredAt: number, arrivedAt: number, spans: OtlpSpan[]): [string, number][] | undefined {
  const first = (name: string) => spans.filter((s) => s.name === name).sort((a, b) => ms(a.startTimeUnixNano) - ms(b.startTimeUnixNano))[0];
  const api = spans.find((s) => s.name.startsWith('POST /v1/topics'));
  const publish = spans.find((s) => s.name.startsWith('send ') && s.name.endsWith('MESSAGES'));
  const route = spans.find((s) => s.name.startsWith('process ') && s.name.endsWith('MESSAGES'));
  const record = first('record deliveries');
  const job = first('send delivery job');
  const dispatch = spans.find((s) => s.name.startsWith('process ') && s.name.endsWith('DELIVERIES'));
  const load = first('load delivery');
  const sign = first('sign webhook');
  const post = spans.find((s) => s.name === 'POST');
  const recordAttempt = first('record attempt');
  if (!api || !publish || !route || !record || !job || !dispatch || !load || !sign || !post || !recordAttempt) return undefined;
  return [
    ['publisher sends', sentAt],
    ['api: request span starts', ms(api.startTimeUnixNano)],
    ['api: JetStream publish starts', ms(publish.startTimeUnixNano)],
    ['api: JetStream publish acked', ms(publish.endTimeUnixNano)],
    ['publisher has its 202', answeredAt],
    ['router: batch taken', ms(route.startTimeUnixNano)],
    ['router: deliveries recorded (Postgres)', ms(record.endTimeUnixNano)],
    ['router: job publish starts', ms(job.startTimeUnixNano)],
    ['router: job publish acked', ms(job.endTimeUnixNano)],
    ['dispatcher: job taken', ms(dispatch.startTimeUnixNano)],
    ['dispatcher: delivery loaded (Postgres)', ms(load.endTimeUnixNano)],
    ['dispatcher: signed', ms(sign.endTimeUnixNano)],
    ['dispatcher: POST starts', ms(post.startTimeUnixNano)],
    ['receiver: request arrived', arrivedAt],
    ['dispatcher: POST answered', ms(post.endTimeUnixNano)],
    ['dispatcher: attempt recorded (Postgres)', ms(recordAttempt.endTimeUnixNano)],
  ];
}

async function main(): Promise<void> {
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const sink = await spanSink();
  const receiver = await ReceiverProcess.start();
  const inst = new Installation('HOPS');
  const broker = await BrokerProcess.start(inst, {
    root: values.tree ? path.resolve(values.tree) : undefined,
    logLevel: values['log-level'],
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_TRACES_SAMPLER: 'always_on',
      OTEL_BSP_SCHEDULE_DELAY: '500',
      OTEL_BSP_MAX_QUEUE_SIZE: '100000',
    },
  });
  try {
    await createSubscriptions(broker.baseUrl, inst.token, [{ topic: 'bench.hops', url: receiver.url('t_hops') }]);
    const pool = new Pool(broker.baseUrl, { connections: 16 });
    const published = new Map<number, { id: string; answeredAt: number }>();
    const publishAt = async (i: number, run: number) => {
      const t = now();
      const res = await pool.request({
        method: 'POST',
        path: '/v1/topics/bench.hops/messages',
        headers: { authorization: `Bearer ${inst.token}`, 'content-type': 'application/json' },
        body: `{"t":${t},"r":${run},"i":${i},"pad":"${PAD}"}`,
      });
      const body = (await res.body.json()) as { id: string };
      if (run === 1) published.set(t, { id: body.id, answeredAt: now() });
    };
    // Warm-up (connections, JIT), then the measured run.
    for (const [run, total] of [[0, rate], [1, Math.round(rate * seconds)]] as const) {
      const start = performance.now();
      const sends: Promise<void>[] = [];
      for (let i = 0; i < total; i++) {
        const wait = start + (i * 1000) / rate - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        sends.push(publishAt(i, run));
      }
      await Promise.all(sends);
      await receiver.waitCount('t_hops', total, 15_000);
      const taken = await receiver.take('t_hops');
      if (run === 0) continue;
      await new Promise((r) => setTimeout(r, 1500)); // the last spans' export
      const byTrace = new Map<string, OtlpSpan[]>();
      for (const s of sink.spans) {
        const list = byTrace.get(s.traceId) ?? [];
        list.push(s);
        byTrace.set(s.traceId, list);
      }
      const traceOfMessage = new Map<string, OtlpSpan[]>();
      for (const list of byTrace.values()) {
        const send = list.find((s) => s.name.startsWith('send ') && s.name.endsWith('MESSAGES'));
        const id = send?.attributes?.find((a) => a.key === 'messaging.message.id')?.value.stringValue;
        if (id) traceOfMessage.set(id, list);
      }
      const rows: [string, number][][] = [];
      for (let i = 0; i < taken.sent.length; i++) {
        const p = published.get(taken.sent[i]!);
        const spans = p && traceOfMessage.get(p.id);
        const marks = spans && marksOf(taken.sent[i]!, p.answeredAt, taken.arrivals[i]!, spans);
        if (marks) rows.push(marks);
      }
      const labels = rows[0]?.map(([l]) => l) ?? [];
      const out = [
        `${rows.length} of ${total} messages traced end to end at ${rate} msg/s`,
        '',
        '| mark | since the send: p50 | p90 | hop from the mark before: p50 | p90 |',
        '|---|---|---|---|---|',
      ];
      labels.forEach((label, k) => {
        const since = rows.map((r) => r[k]![1] - r[0]![1]);
        const hop = k ? rows.map((r) => r[k]![1] - r[k - 1]![1]) : [];
        const f = (xs: number[], p: number) => (xs.length ? percentile(xs, p).toFixed(2) : '');
        out.push(`| ${label} | ${f(since, 50)} | ${f(since, 90)} | ${f(hop, 50)} | ${f(hop, 90)} |`);
      });
      process.stdout.write(`${out.join('\n')}\n`);
    }
    await pool.close();
  } finally {
    await broker.stop();
    await inst.drop();
    await receiver.close();
    sink.close();
    await Installation.closeNats();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    killChildren();
    process.exit(1);
  },
);
