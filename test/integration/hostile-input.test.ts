import { request as httpRequest } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import { headers as natsHeaders, type JetStreamManager } from 'nats';
import { Writable } from 'node:stream';
import { WebSocket } from 'ws';
import { newId } from '../../shared/ids.js';
import { HEADERS } from '../../shared/nats/subjects.js';
import { bearer, postBatch, postMessage, postSubscription, withBroker } from '../helpers/kit.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Hostile input at the API's edges: payloads nested too deep (refused at publish; readers survive one that
 * is already stored), compressed bodies that do not decompress, Idempotency-Key reuse, text Postgres cannot
 * store (NUL, unpaired surrogates, bytes that are not UTF-8, days that do not exist), and requests Node's
 * HTTP parser refuses before express sees them.
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

/** Writes `raw` to the broker's port as it is and returns what came back before the server closed. */
function rawExchange(raw: string | Buffer): Promise<string> {
  const { hostname, port } = new URL(hl.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(raw));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer in 5 s')));
  });
}

/** The status and problem code of a raw HTTP answer. */
function problemOf(answer: string): { status: number; contentType?: string; code?: string } {
  const [head, body] = answer.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head ?? '')?.[1]);
  const contentType = /^content-type: (.*)$/im.exec(head ?? '')?.[1]?.trim();
  return { status, contentType, code: body ? (JSON.parse(body) as { code?: string }).code : undefined };
}

const subscriptionCount = async () => (await hl.http().get('/v1/subscriptions?limit=200').set(bearer(hl.admin))).body.items.length as number;
const cursorOf = (createdAt: string, id: string) => Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');

/** The attempts of a subscription's one delivery, once it has ended dead. */
async function attemptsOfOnlyDeadDelivery(subscriptionId: string): Promise<Record<string, unknown>[]> {
  const dead = await waitFor(async () => {
    const r = await hl.http().get(`/v1/subscriptions/${subscriptionId}/deliveries?status=dead`).set(bearer(hl.admin));
    return r.body.items?.[0] as { id: string } | undefined;
  }, 'the delivery to end dead');
  return (await hl.http().get(`/v1/deliveries/${dead.id}`).set(bearer(hl.admin))).body.attempts;
}

describe('input Postgres cannot store, and requests Node refuses before express', () => {
  it('when a WebSocket upgrade names a target that is not a URL, then it is answered 400 and the broker keeps serving', async () => {
    for (const target of ['//[', 'http://[::1']) {
      const answer = await rawExchange(`GET ${target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
      expect(problemOf(answer)).toEqual({ status: 400, contentType: 'application/problem+json', code: 'request.invalid_path' });
    }
    expect((await hl.http().get('/healthz')).status).toBe(200);
  });

  it('when a path or query holds a NUL, then 400 request.invalid_text before any query runs', async () => {
    for (const path of ['/v1/subscriptions/sub_%00', '/v1/messages/msg_%00x', '/v1/deliveries/dlv_%00', '/v1/messages?ids=a%00b']) {
      const res = await hl.http().get(path).set(bearer(hl.admin));
      expect([path, res.status, res.body.code]).toEqual([path, 400, 'request.invalid_text']);
    }
  });

  it('when a path parameter is not valid percent-encoding, then 400 request.invalid_path', async () => {
    const res = await hl.http().post('/v1/topics/%zz/messages').set(bearer(hl.admin)).send({ a: 1 });
    expect([res.status, res.body.code]).toEqual([400, 'request.invalid_path']);
    const other = await hl.http().get('/v1/subscriptions/%E0%A4%A').set(bearer(hl.admin));
    expect([other.status, other.body.code]).toEqual([400, 'request.invalid_path']);
  });

  it('when a JSON body holds a NUL or an unpaired surrogate, then 400 naming the field and nothing is created', async () => {
    const before = await subscriptionCount();
    const nul = await postSubscription(hl, hl.admin, { topic: 'nul.*', url: 'http://127.0.0.1:9/x', description: 'a\u0000b' });
    expect([nul.status, nul.body.code, nul.body.errors]).toEqual([400, 'request.invalid_text', [expect.objectContaining({ path: 'description' })]]);
    // JSON.stringify writes a lone surrogate as \ud800, which jsonb refuses.
    const surrogate = await postSubscription(hl, hl.admin, { topic: 'nul.*', url: 'http://127.0.0.1:9/x', filter: { path: 'a', eq: '\ud800' } });
    expect([surrogate.status, surrogate.body.code, surrogate.body.errors]).toEqual([400, 'request.invalid_text', [expect.objectContaining({ path: 'filter.eq' })]]);
    const inKey = await postSubscription(hl, hl.admin, { topic: 'nul.*', url: 'http://127.0.0.1:9/x', filter: { path: 'a\u0000', eq: 1 } });
    expect([inKey.status, inKey.body.code]).toEqual([400, 'request.invalid_text']);
    expect(await subscriptionCount()).toBe(before);
  });

  it('when a JSON body is not valid UTF-8, then 400 request.invalid_text instead of storing U+FFFD', async () => {
    const before = await subscriptionCount();
    const body = Buffer.concat([Buffer.from('{"topic":"utf.*","url":"http://127.0.0.1:9/x","description":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const res = await postSubscription(hl, hl.admin, body);
    expect([res.status, res.body.code]).toEqual([400, 'request.invalid_text']);
    expect(await subscriptionCount()).toBe(before);
  });

  it('when a cursor names year 0 or an id with a NUL, or a time names a day that does not exist, then 400', async () => {
    for (const cursor of [cursorOf('0000-01-01T00:00:00.000Z', 'x'), cursorOf('2026-01-01T00:00:00.000Z', 'a\u0000')]) {
      for (const path of ['/v1/subscriptions', '/v1/messages']) {
        const res = await hl.http().get(path).query({ cursor }).set(bearer(hl.admin));
        expect([path, res.status, res.body.code]).toEqual([path, 400, 'request.invalid_cursor']);
      }
    }
    const since = await hl.http().get('/v1/messages').query({ since: '2026-02-30' }).set(bearer(hl.admin));
    expect([since.status, since.body.code]).toEqual([400, 'request.invalid_time']);
    const poll = await postSubscription(hl, hl.admin, { topic: 'since.*', type: 'poll', since: '2026-02-31T00:00:00Z' });
    expect([poll.status, poll.body.errors?.[0]?.path]).toEqual([400, 'since']);
  });

  it('when headers exceed 16 KiB or the request line is malformed, then the answer is a problem document too', async () => {
    const big = problemOf(await rawExchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(big).toEqual({ status: 431, contentType: 'application/problem+json', code: 'request.headers_too_large' });
    const malformed = problemOf(await rawExchange('GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'));
    expect(malformed).toEqual({ status: 400, contentType: 'application/problem+json', code: 'request.malformed' });
  });

  it('when a receiver answers with a NUL in its body, then the attempt is on record with the excerpt readable', async () => {
    const receiver = await hl.receiver(() => ({ status: 500, body: 'bad\u0000byte' }));
    const sub = await hl.subscribe({ topic: 'nulreply.*', url: `${receiver.url}/x`, retry: { maxAttempts: 1 } });
    await hl.publish('nulreply.a', { n: 1 });
    const attempts = await attemptsOfOnlyDeadDelivery(sub.id);
    expect(attempts).toEqual([expect.objectContaining({ statusCode: 500, responseExcerpt: 'bad\ufffdbyte' })]);
  });
});

describe('receivers that do not speak HTTP', () => {
  it('when a receiver answers with status code 000, then the attempt fails with an error its owner can read', async () => {
    const server = createTcpServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 000 Nothing\r\nContent-Length: 0\r\n\r\n'));
      socket.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hl.onClose(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const sub = await hl.subscribe({ topic: 'status000.*', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`, retry: { maxAttempts: 1 } });
    await hl.publish('status000.a', { n: 1 });
    const attempts = await attemptsOfOnlyDeadDelivery(sub.id);
    expect(attempts).toEqual([expect.objectContaining({ outcome: 'failed', error: expect.stringMatching(/^invalid response: not valid HTTP\/1\.1/) })]);
  });
});
