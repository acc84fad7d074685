/**
 * Baseline of figure B: a bare express 5 app that parses the JSON body and answers 202, loaded exactly as
 * the broker's publish endpoints are. With BASELINE_JS_PUBLISH set it also awaits one JetStream publish
 * per message (file storage, a Nats-Msg-Id) before answering: the reference "express + awaited JetStream
 * publish" that shows the ceiling any broker that stores before it answers can reach on this machine.
 * IPC: → {type:'ready', port}.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { connect, headers as natsHeaders, type JetStreamClient } from 'nats';

const subjectBase = process.env.BASELINE_JS_SUBJECT;
let js: JetStreamClient | undefined;
if (process.env.BASELINE_JS_PUBLISH && subjectBase) {
  const nc = await connect({ servers: process.env.BASELINE_NATS_URL ?? 'nats://127.0.0.1:4222' });
  js = nc.jetstream();
}
const encoder = new TextEncoder();

async function store(topic: string, payload: unknown): Promise<string> {
  const id = randomUUID();
  if (js) {
    const h = natsHeaders();
    h.set('Hookline-Id', id);
    await js.publish(`${subjectBase}.${topic}`, encoder.encode(JSON.stringify(payload)), { msgID: id, headers: h });
  }
  return id;
}

const app = express();
app.disable('x-powered-by');
app.post('/v1/topics/:topic/messages', express.json({ limit: '256kb' }), async (req, res) => {
  const id = await store(String(req.params.topic), req.body);
  res.status(202).json({ id, topic: req.params.topic, publishedAt: new Date().toISOString() });
});
app.post('/v1/topics/:topic/batch', express.json({ limit: '1mb' }), async (req, res) => {
  const messages = (req.body as { messages: unknown[] }).messages;
  const ids = await Promise.all(messages.map((m) => store(String(req.params.topic), m)));
  res.status(202).json({ ids, topic: req.params.topic, publishedAt: new Date().toISOString() });
});
const server = app.listen(0, '127.0.0.1', () => {
  process.send!({ type: 'ready', port: (server.address() as AddressInfo).port });
});
server.keepAliveTimeout = 65_000;
process.on('disconnect', () => process.exit(0));
