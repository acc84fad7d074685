/**
 * Baseline of figure C: the fewest steps any broker with Hookline's durability contract takes per message,
 * written plainly in one process, on the same NATS, Postgres and machine. Its end-to-end latency at C's rate
 * is the floor this machine puts under figure C.
 *
 *   publish:  express.json() → one awaited JetStream publish (file storage, Nats-Msg-Id) → 202
 *   route:    consume → INSERT the delivery (committed) → publish the job to a work queue → ack
 *   dispatch: consume → SELECT the delivery → HMAC-sign → undici POST → INSERT the attempt (committed) → ack
 *
 * No batching, no filters, no breaker, no retries, no metrics, no logs: every message is handled on its own
 * as soon as it arrives (up to 256 at once per stage), and the job carries the payload so nothing is read
 * back from the stream. The streams and tables are named by the orchestrator and dropped with its
 * installation. IPC: → {type:'ready', port}.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { connect, headers as natsHeaders, RetentionPolicy, StorageType, type JsMsg } from 'nats';
import pg from 'pg';
import { Agent, request } from 'undici';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const prefix = env('BASELINE_STREAM_PREFIX');
const target = new URL(env('BASELINE_TARGET'));
const messagesStream = `${prefix}_MSG`;
const jobsStream = `${prefix}_JOB`;
const subject = prefix.toLowerCase();

const nc = await connect({ servers: env('BASELINE_NATS_URL') });
const jsm = await nc.jetstreamManager();
await jsm.streams.add({ name: messagesStream, subjects: [`${subject}.msg.>`], storage: StorageType.File, retention: RetentionPolicy.Limits });
await jsm.streams.add({ name: jobsStream, subjects: [`${subject}.job`], storage: StorageType.File, retention: RetentionPolicy.Workqueue });
for (const stream of [messagesStream, jobsStream]) {
  await jsm.consumers.add(stream, { durable_name: 'bare', ack_policy: 'explicit' as never, max_ack_pending: 1024 });
}
const js = nc.jetstream();
const db = new pg.Pool({ connectionString: env('BASELINE_DATABASE_URL'), max: 10 });
await db.query(`CREATE TABLE IF NOT EXISTS bare_deliveries (id text PRIMARY KEY, seq bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE IF NOT EXISTS bare_attempts (delivery_id text NOT NULL, status_code int, at timestamptz NOT NULL DEFAULT now())`);
const http = new Agent({ connections: 64 });
const key = Buffer.from('bare-pipeline-secret');
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Runs `handle` for every message of a durable consumer, up to 256 at once. */
async function consume(stream: string, handle: (m: JsMsg) => Promise<void>): Promise<void> {
  const consumer = await js.consumers.get(stream, 'bare');
  const messages = await consumer.consume({ max_messages: 256 });
  for await (const m of messages) {
    handle(m).then(
      () => m.ack(),
      () => m.nak(),
    );
  }
}

void consume(messagesStream, async (m) => {
  const id = m.headers!.get('Hookline-Id');
  await db.query('INSERT INTO bare_deliveries (id, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING', [id, m.seq]);
  const job = `${JSON.stringify({ d: id, t: m.subject.slice(subject.length + 5), p: m.headers!.get('Published-At') })}\n`;
  await js.publish(`${subject}.job`, Buffer.concat([Buffer.from(job), Buffer.from(m.data)]), { msgID: id });
});

void consume(jobsStream, async (m) => {
  const nl = m.data.indexOf(10);
  const job = JSON.parse(decoder.decode(m.data.subarray(0, nl))) as { d: string; t: string; p: string };
  const { rows } = await db.query('SELECT id, seq FROM bare_deliveries WHERE id = $1', [job.d]);
  if (!rows.length) return;
  const body = `{"id":${JSON.stringify(job.d)},"topic":${JSON.stringify(job.t)},"publishedAt":${JSON.stringify(job.p)},"data":${decoder.decode(m.data.subarray(nl + 1))}}`;
  const ts = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', key).update(`${job.d}.${ts}.${body}`).digest('base64');
  const res = await request(target, {
    dispatcher: http,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'webhook-id': job.d, 'webhook-timestamp': String(ts), 'webhook-signature': `v1,${signature}` },
  });
  await res.body.dump();
  await db.query('INSERT INTO bare_attempts (delivery_id, status_code) VALUES ($1, $2)', [job.d, res.statusCode]);
});

const app = express();
app.disable('x-powered-by');
app.post('/v1/topics/:topic/messages', express.json({ limit: '256kb' }), async (req, res) => {
  const id = randomUUID();
  const publishedAt = new Date().toISOString();
  const h = natsHeaders();
  h.set('Hookline-Id', id);
  h.set('Published-At', publishedAt);
  await js.publish(`${subject}.msg.${req.params.topic}`, encoder.encode(JSON.stringify(req.body)), { msgID: id, headers: h });
  res.status(202).json({ id, topic: req.params.topic, publishedAt });
});
const server = app.listen(0, '127.0.0.1', () => {
  process.send!({ type: 'ready', port: (server.address() as AddressInfo).port });
});
server.keepAliveTimeout = 65_000;
process.on('disconnect', () => process.exit(0));
