import { request as httpRequest } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { headers as natsHeaders, type JetStreamManager } from 'nats';
import { Writable } from 'node:stream';
import { WebSocket } from 'ws';
import { newId } from '../../shared/ids.js';
import { HEADERS } from '../../shared/nats/subjects.js';
import { startTestBroker, type TestBroker } from '../helpers/test-broker.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Hostile input at the API's edges: payloads nested too deep (refused at publish; readers survive one that
 * is already stored), compressed bodies that do not decompress, and Idempotency-Key reuse.
 */

const TENANT = 'hostile';
const DEPTH_LIMIT = 64;
let t: TestBroker;
let jsm: JetStreamManager;
let admin: string;
const logs: { level: number; msg: string; code?: string }[] = [];

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const bearer = () => ({ authorization: `Bearer ${admin}` });

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  t = await startTestBroker({ LOG_LEVEL: 'info' }, { logDestination: sink });
  jsm = await t.broker.nc.jetstreamManager();
  admin = t.token('admin', { sub: 'ops', tenant: TENANT });
});

afterAll(async () => {
  await t?.close();
});

const lastSeq = async () => (await jsm.streams.info(t.broker.names.messagesStream)).state.last_seq;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: Record<string, any>;
}

/** A POST with exactly these bytes (supertest would JSON-encode a Buffer sent as application/json). */
function post(path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${t.baseUrl}${path}`,
      { method: 'POST', headers: { ...bearer(), 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: text ? JSON.parse(text) : {} }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const publish = (topic: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  post(`/v1/topics/${topic}/messages`, body, headers);
const batch = (topic: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  post(`/v1/topics/${topic}/batch`, body, headers);

describe('nesting depth', () => {
  it(`when a payload nests deeper than ${DEPTH_LIMIT} levels, then publish answers 400 and stores nothing`, async () => {
    const before = await lastSeq();
    const res = await publish('deep.single', nested(5000));
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('publish.too_deep');
    const justOver = await publish('deep.single', `{"a":${nested(DEPTH_LIMIT)}}`);
    expect(justOver.status).toBe(400);
    expect(await lastSeq()).toBe(before);
    // Depth inside strings does not count, and the limit itself is allowed.
    const atLimit = await publish('deep.single', nested(DEPTH_LIMIT));
    expect(atLimit.status).toBe(202);
    const inString = await publish('deep.single', JSON.stringify({ s: nested(500) }));
    expect(inString.status).toBe(202);
  });

  it('when a batch holds a payload nested too deep, then it answers 400 naming it and stores nothing', async () => {
    const before = await lastSeq();
    const res = await batch('deep.batch', `{"messages":[{"ok":1},${nested(5000)}]}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('publish.too_deep');
    expect(res.body.detail).toMatch(/messages\[1\]/);
    expect(await lastSeq()).toBe(before);
  });

  it('when a too-deep payload is already in the stream, then the message view, poll, SSE and WebSocket render it and its neighbours', async () => {
    const topic = 'deep.stored';
    const sub = await t.http().post('/v1/subscriptions').set(bearer()).send({ topic, type: 'poll', maxAttempts: 2 });
    expect(sub.status).toBe(201);
    const startSeq = await lastSeq();
    const first = await publish(topic, '{"n":1}');
    expect(first.status).toBe(202);
    // As a broker from before the depth limit stored it: straight into the stream.
    const deepId = newId('msg');
    const h = natsHeaders();
    h.set(HEADERS.messageId, deepId);
    h.set(HEADERS.publishedAt, new Date().toISOString());
    const deepText = nested(5000);
    await t.broker.nc.jetstream().publish(t.broker.names.messageSubject(TENANT, topic), new TextEncoder().encode(deepText), { headers: h });
    const last = await publish(topic, '{"n":3}');
    expect(last.status).toBe(202);
    const ids = [first.body.id, deepId, last.body.id];

    const view = await waitFor(async () => {
      const r = await t.http().get(`/v1/messages/${deepId}`).set(bearer());
      return r.status === 404 ? undefined : r;
    }, 'the stored message to be routed');
    expect(view.status).toBe(200);
    expect(view.text).toContain(`"data":${deepText}`);

    const polled = await t.http().get(`/v1/subscriptions/${sub.body.id}/messages?max=10`).set(bearer());
    expect(polled.status).toBe(200);
    expect(polled.body.messages.map((m: { id: string }) => m.id)).toEqual(ids);
    expect(Array.isArray(polled.body.messages[1].data)).toBe(true);
    const acked = await t
      .http()
      .post(`/v1/subscriptions/${sub.body.id}/ack`)
      .set(bearer())
      .send({ ackIds: polled.body.messages.map((m: { ackId: string }) => m.ackId) });
    expect(acked.status).toBe(200);
    for (const id of ids) {
      const state = await t.http().get(`/v1/messages/${id}`).set(bearer());
      expect(state.body.deliveries).toEqual([expect.objectContaining({ subscriptionId: sub.body.id, status: 'succeeded' })]);
    }

    // SSE from just before the first message: three events, the middle one's data an array.
    const events = await new Promise<string[]>((resolve, reject) => {
      const req = httpRequest(`${t.baseUrl}/v1/topics/${topic}/stream?from=${startSeq}`, { headers: bearer() }, (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          const found = buf.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
          if (found.length >= 3) {
            req.destroy();
            resolve(found);
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
    expect(events.map((e) => JSON.parse(e).id)).toEqual(ids);
    expect(Array.isArray(JSON.parse(events[1]!).data)).toBe(true);

    const frames = await new Promise<{ id: string; data: unknown }[]>((resolve, reject) => {
      const ws = new WebSocket(`${t.baseUrl.replace('http', 'ws')}/v1/ws`, { headers: bearer() });
      const got: { id: string; data: unknown }[] = [];
      ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', pattern: topic, from: startSeq })));
      ws.on('message', (raw) => {
        const f = JSON.parse(String(raw));
        if (f.type === 'message') got.push(f);
        if (got.length >= 3) {
          ws.close();
          resolve(got);
        }
      });
      ws.on('error', reject);
    });
    expect(frames.map((f) => f.id)).toEqual(ids);
    expect(Array.isArray(frames[1]!.data)).toBe(true);
  });
});

describe('compressed bodies that do not decompress', () => {
  const notCompressed = Buffer.from('{"plain":"json, not compressed"}');
  const valid = gzipSync(Buffer.from('{"ok":true}'));
  const cases: [string, Buffer][] = [
    ['gzip', notCompressed],
    ['deflate', notCompressed],
    ['br', notCompressed],
    ['gzip', valid.subarray(0, valid.length - 6)],
  ];

  it.each(cases)('when Content-Encoding is %s and the body does not decompress, then publish, batch and subscriptions answer 400 at info', async (encoding, body) => {
    const before = await lastSeq();
    const errorsBefore = logs.filter((l) => l.level >= 50).length;
    const single = await publish('enc.x', body, { 'content-encoding': encoding });
    const many = await batch('enc.x', body, { 'content-encoding': encoding });
    const sub = await post('/v1/subscriptions', body, { 'content-encoding': encoding });
    for (const r of [single, many, sub]) {
      expect(r.status).toBe(400);
      expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(r.body.code).toBe('request.invalid_encoding');
    }
    expect(await lastSeq()).toBe(before);
    const subs = await t.http().get('/v1/subscriptions?limit=200').set(bearer());
    expect(subs.body.items.filter((s: { topic: string }) => s.topic === 'enc.x')).toHaveLength(0);
    expect(logs.filter((l) => l.level >= 50).length).toBe(errorsBefore);
    expect(logs.some((l) => l.level === 30 && l.code === 'request.invalid_encoding')).toBe(true);
  });

  it('when Content-Encoding is one Hookline does not decode, then 415 and nothing stored', async () => {
    const before = await lastSeq();
    const res = await publish('enc.x', notCompressed, { 'content-encoding': 'compress' });
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('request.unsupported_encoding');
    expect(await lastSeq()).toBe(before);
  });

  it('when the body is properly gzip, deflate or br compressed, then it is published', async () => {
    const json = Buffer.from('{"ok":true}');
    for (const [encoding, body] of [['gzip', gzipSync(json)], ['deflate', deflateSync(json)], ['br', brotliCompressSync(json)]] as const) {
      const res = await publish('enc.ok', body, { 'content-encoding': encoding });
      expect(res.status).toBe(202);
    }
  });
});

describe('Idempotency-Key', () => {
  it('when a batch used key K, then a single publish with key "K:0" is a request of its own', async () => {
    const b = await batch('idem.a', '{"messages":[{"n":0},{"n":1}]}', { 'idempotency-key': 'K1' });
    expect(b.status).toBe(202);
    const s = await publish('idem.a', '{"other":true}', { 'idempotency-key': 'K1:0' });
    expect(s.status).toBe(202);
    expect(s.headers['idempotent-replayed']).toBeUndefined();
    expect(s.body.id).not.toBe(b.body.ids[0]);
  });

  it('when a single key is reused with another body, then 409 idempotency.key_reused and nothing stored; the same body replays', async () => {
    const first = await publish('idem.b', '{"v":1}', { 'idempotency-key': 'K2' });
    expect(first.status).toBe(202);
    const before = await lastSeq();
    const other = await publish('idem.b', '{"v":2}', { 'idempotency-key': 'K2' });
    expect(other.status).toBe(409);
    expect(other.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(other.body.code).toBe('idempotency.key_reused');
    const same = await publish('idem.b', '{"v":1}', { 'idempotency-key': 'K2' });
    expect(same.status).toBe(202);
    expect(same.headers['idempotent-replayed']).toBe('true');
    expect(same.body.id).toBe(first.body.id);
    expect(await lastSeq()).toBe(before);
  });

  it('when a batch key is reused with more messages, then 409 and nothing stored; the same batch replays', async () => {
    const two = await batch('idem.c', '{"messages":[{"n":0},{"n":1}]}', { 'idempotency-key': 'K3' });
    expect(two.status).toBe(202);
    const before = await lastSeq();
    const three = await batch('idem.c', '{"messages":[{"n":0},{"n":1},{"n":2}]}', { 'idempotency-key': 'K3' });
    expect(three.status).toBe(409);
    expect(three.body.code).toBe('idempotency.key_reused');
    const fewer = await batch('idem.c', '{"messages":[{"n":0}]}', { 'idempotency-key': 'K3' });
    expect(fewer.status).toBe(409);
    const again = await batch('idem.c', '{"messages":[{"n":0},{"n":1}]}', { 'idempotency-key': 'K3' });
    expect(again.status).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.ids).toEqual(two.body.ids);
    expect(await lastSeq()).toBe(before);
  });

  it('when a key is reused on another api replica, then that replica replays the same request and refuses another', async () => {
    const replica = await startTestBroker({ HOOKLINE_ROLES: 'api' }, { reuse: t });
    try {
      const first = await publish('idem.e', '{"n":1}', { 'idempotency-key': 'K5' });
      expect(first.status).toBe(202);
      const send = (body: string) =>
        replica.http().post('/v1/topics/idem.e/messages').set(bearer()).set('content-type', 'application/json').set('idempotency-key', 'K5').send(body);
      const same = await send('{"n":1}');
      expect(same.status).toBe(202);
      expect(same.body.id).toBe(first.body.id);
      expect(same.headers['idempotent-replayed']).toBe('true');
      expect((await send('{"n":2}')).status).toBe(409);
    } finally {
      await replica.stop();
    }
  });

  it('when a key of a single publish is reused for a batch of the same payload, then 409', async () => {
    const one = await publish('idem.d', '{"n":0}', { 'idempotency-key': 'K4' });
    expect(one.status).toBe(202);
    const before = await lastSeq();
    const asBatch = await batch('idem.d', '{"messages":[{"n":0}]}', { 'idempotency-key': 'K4' });
    expect(asBatch.status).toBe(409);
    expect(asBatch.body.code).toBe('idempotency.key_reused');
    expect(await lastSeq()).toBe(before);
  });
});
