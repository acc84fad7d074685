import { request as httpRequest } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import { headers as natsHeaders, type JetStreamManager } from 'nats';
import { Writable } from 'node:stream';
import { WebSocket } from 'ws';
import { newId } from '../../shared/ids.js';
import { HEADERS } from '../../shared/nats/subjects.js';
import { postBatch, postMessage, postSubscription, withBroker } from '../helpers/kit.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Hostile input at the API's edges: payloads nested too deep (refused at publish; readers survive one that
 * is already stored), compressed bodies that do not decompress, and Idempotency-Key reuse.
 */

const TENANT = 'hostile';
const DEPTH_LIMIT = 64;
const logs: { level: number; msg: string; code?: string }[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
    done();
  },
});
const hl = withBroker({ LOG_LEVEL: 'info' }, { logDestination: sink, admin: { sub: 'ops', tenant: TENANT } });

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

let jsm: JetStreamManager | undefined;
const lastSeq = async () => {
  jsm ??= await hl.broker.nc.jetstreamManager();
  return (await jsm.streams.info(hl.broker.names.messagesStream)).state.last_seq;
};

/** Unchecked posts of exactly these bytes, as the admin, with `headers` added. */
const publish = (topic: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  postMessage(hl, hl.admin, topic, body).set(headers);
const batch = (topic: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  postBatch(hl, hl.admin, topic, body).set(headers);

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
    const sub = await hl.subscribe({ topic, type: 'poll', maxAttempts: 2 });
    const startSeq = await lastSeq();
    const first = await publish(topic, '{"n":1}');
    expect(first.status).toBe(202);
    // As a broker from before the depth limit stored it: straight into the stream.
    const deepId = newId('msg');
    const h = natsHeaders();
    h.set(HEADERS.messageId, deepId);
    h.set(HEADERS.publishedAt, new Date().toISOString());
    const deepText = nested(5000);
    await hl.broker.nc.jetstream().publish(hl.broker.names.messageSubject(TENANT, topic), new TextEncoder().encode(deepText), { headers: h });
    const last = await publish(topic, '{"n":3}');
    expect(last.status).toBe(202);
    const ids = [first.body.id, deepId, last.body.id];

    const view = await waitFor(async () => {
      const r = await hl.http().get(`/v1/messages/${deepId}`).set(hl.auth);
      return r.status === 404 ? undefined : r;
    }, 'the stored message to be routed');
    expect(view.status).toBe(200);
    expect(view.text).toContain(`"data":${deepText}`);

    const polled = await hl.http().get(`/v1/subscriptions/${sub.id}/messages?max=10`).set(hl.auth);
    expect(polled.status).toBe(200);
    expect(polled.body.messages.map((m: { id: string }) => m.id)).toEqual(ids);
    expect(Array.isArray(polled.body.messages[1].data)).toBe(true);
    const acked = await hl
      .http()
      .post(`/v1/subscriptions/${sub.id}/ack`)
      .set(hl.auth)
      .send({ ackIds: polled.body.messages.map((m: { ackId: string }) => m.ackId) });
    expect(acked.status).toBe(200);
    for (const id of ids) {
      const state = await hl.http().get(`/v1/messages/${id}`).set(hl.auth);
      expect(state.body.deliveries).toEqual([expect.objectContaining({ subscriptionId: sub.id, status: 'succeeded' })]);
    }

    // SSE from just before the first message: three events, the middle one's data an array.
    const events = await new Promise<string[]>((resolve, reject) => {
      const req = httpRequest(`${hl.baseUrl}/v1/topics/${topic}/stream?from=${startSeq}`, { headers: hl.auth }, (res) => {
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
      const ws = new WebSocket(`${hl.baseUrl.replace('http', 'ws')}/v1/ws`, { headers: hl.auth });
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
    const sub = await postSubscription(hl, hl.admin, body).set({ 'content-encoding': encoding });
    for (const r of [single, many, sub]) {
      expect(r.status).toBe(400);
      expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(r.body.code).toBe('request.invalid_encoding');
    }
    expect(await lastSeq()).toBe(before);
    const subs = await hl.http().get('/v1/subscriptions?limit=200').set(hl.auth);
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
    const replica = await hl.replica({ HOOKLINE_ROLES: 'api' });
    const first = await publish('idem.e', '{"n":1}', { 'idempotency-key': 'K5' });
    expect(first.status).toBe(202);
    const send = (body: string) => postMessage(replica, hl.admin, 'idem.e', body).set('idempotency-key', 'K5');
    const same = await send('{"n":1}');
    expect(same.status).toBe(202);
    expect(same.body.id).toBe(first.body.id);
    expect(same.headers['idempotent-replayed']).toBe('true');
    expect((await send('{"n":2}')).status).toBe(409);
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
