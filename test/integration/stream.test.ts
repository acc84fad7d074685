import { request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { EventSource } from 'eventsource';
import type { JetStreamManager } from 'nats';
import { Registry } from 'prom-client';
import { WebSocket } from 'ws';
import { buildApp } from '../../services/api/app.js';
import { ACK_KEY_NAME } from '../../services/api/poll/ack-id.js';
import { LiveStreams } from '../../services/api/stream/live-streams.js';
import { attachWebSockets, type WebSocketEndpoint } from '../../services/api/stream/ws.js';
import { loadServerKey } from '../../shared/db/server-keys.js';
import { createLogger } from '../../shared/logger.js';
import { MessageStore } from '../../shared/nats/message-store.js';
import { AddressPolicy } from '../../shared/net/address-policy.js';
import { bearer, withBroker } from '../helpers/kit.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

/**
 * Live streams against the real NATS: SSE through a real EventSource client, and the WebSocket twin.
 * Besides the test broker, a second api server ("tuned") shares its NATS connection and database with
 * short heartbeats and small buffer bounds, to see heartbeats, reconnects and slow clients in moments.
 */

const TENANT = 'acme';
const t = withBroker({}, { admin: { sub: 'ops', tenant: TENANT } });
let jsm: JetStreamManager;
interface Tuned {
  server: Server;
  url: string;
  live: LiveStreams;
  sockets: WebSocketEndpoint;
  close(): Promise<void>;
}
let tuned: Tuned;
let area = 0;
const fresh = () => `s${++area}`;

/** An api server beside the test broker's, on its NATS connection and database, with its own stream limits. */
async function startTuned(options: ConstructorParameters<typeof LiveStreams>[0]): Promise<Tuned> {
  const { nc, pool, names } = t.broker;
  const live = new LiveStreams(options);
  const deps = {
    pool,
    js: nc.jetstream(),
    names,
    messages: new MessageStore(jsm, names),
    tokens: { secret: t.secret },
    addressPolicy: new AddressPolicy([]),
    logger: createLogger('silent'),
    registry: new Registry(),
    readiness: { check: async () => ({ ready: true, checks: {} }) },
    maxPayloadBytes: 256 * 1024,
    nc,
    jsm,
    pollAckKey: await loadServerKey(pool, ACK_KEY_NAME),
    live,
  };
  const server = await new Promise<Server>((resolve) => {
    const s = buildApp(deps).listen(0, '127.0.0.1', () => resolve(s));
  });
  const sockets = attachWebSockets(server, deps);
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    live,
    sockets,
    async close() {
      await sockets.close();
      await live.closeAll();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

beforeAll(async () => {
  jsm = await t.broker.nc.jetstreamManager();
  tuned = await startTuned({ heartbeatMs: 200, maxBufferedBytes: 64 * 1024, slowClientGraceMs: 300, retryMs: 200 });
  // It serves on the broker's NATS connection and pool: closed before them.
  t.onClose(() => tuned.close());
});

async function liveConsumers(): Promise<number> {
  const list = await jsm.consumers.list(t.broker.names.messagesStream).next();
  return list.filter((c) => c.name.startsWith(t.broker.names.liveConsumerPrefix)).length;
}

interface Received {
  type: string;
  lastEventId: string;
  data: { id: string; topic: string; publishedAt: string; data: unknown };
}

function openEventSource(url: string, types: string[], init?: ConstructorParameters<typeof EventSource>[1]) {
  const es = new EventSource(url, init);
  const events: Received[] = [];
  for (const type of types) {
    es.addEventListener(type, (e) => events.push({ type: e.type, lastEventId: e.lastEventId, data: JSON.parse(e.data) }));
  }
  const opened = new Promise<void>((resolve, reject) => {
    es.addEventListener('open', () => resolve(), { once: true });
    es.addEventListener('error', (e) => reject(new Error(`EventSource failed: ${(e as { message?: string }).message}`)), { once: true });
  });
  return { es, events, opened };
}

const streamUrl = (base: string, pattern: string, query: Record<string, string> = {}) =>
  `${base}/v1/topics/${encodeURIComponent(pattern)}/stream?${new URLSearchParams({ access_token: t.admin, ...query })}`;

describe('SSE streams', () => {
  it('when an EventSource subscribes to a wildcard pattern, then onmessage fires for each new matching message of any topic, with its sequence as id', async () => {
    const area = fresh();
    const es = new EventSource(streamUrl(t.baseUrl, `${area}.orders.*`));
    const events: Received[] = [];
    // onmessage only: the client names no topic in advance.
    es.onmessage = (e) => events.push({ type: e.type, lastEventId: e.lastEventId, data: JSON.parse(e.data) });
    const opened = new Promise<void>((resolve) => es.addEventListener('open', () => resolve(), { once: true }));
    try {
      await opened;
      const a = (await t.publish(`${area}.orders.created`, { n: 1, nested: { ok: true } })).id;
      await t.publish(`${area}.users.joined`, { n: 2 });
      const b = (await t.publish(`${area}.orders.paid`, { n: 3 })).id;
      await waitFor(() => events.length >= 2, 'two events');
      await sleep(200);
      expect(events.map((e) => [e.type, e.data.id])).toEqual([
        ['message', a],
        ['message', b],
      ]);
      expect(events[0]!.data).toMatchObject({ topic: `${area}.orders.created`, data: { n: 1, nested: { ok: true } } });
      expect(events[1]!.data.topic).toBe(`${area}.orders.paid`);
      expect(Date.parse(events[0]!.data.publishedAt)).not.toBeNaN();
      const [s1, s2] = events.map((e) => Number(e.lastEventId));
      expect(Number.isInteger(s1)).toBe(true);
      expect(s2).toBeGreaterThan(s1!);
      expect(await liveConsumers()).toBe(1);
    } finally {
      es.close();
    }
    await waitFor(async () => (await liveConsumers()) === 0, 'the stream consumer to be deleted after the client left');
  });

  it('when ?events=topic is asked for, then each event is named by its topic and onmessage stays silent', async () => {
    const area = fresh();
    const { es, events, opened } = openEventSource(streamUrl(t.baseUrl, `${area}.orders.*`, { events: 'topic' }), [
      `${area}.orders.created`,
      `${area}.orders.paid`,
      'message',
    ]);
    try {
      await opened;
      const a = (await t.publish(`${area}.orders.created`, { n: 1 })).id;
      const b = (await t.publish(`${area}.orders.paid`, { n: 2 })).id;
      await waitFor(() => events.length >= 2, 'two events');
      await sleep(200);
      expect(events.map((e) => [e.type, e.data.id])).toEqual([
        [`${area}.orders.created`, a],
        [`${area}.orders.paid`, b],
      ]);
    } finally {
      es.close();
    }
    const bad = await t.http().get(`/v1/topics/${area}.*/stream?events=bogus`).set(t.auth);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('stream.invalid_events');
  });

  it('when the connection drops, then EventSource reconnects with Last-Event-ID and gets what was published meanwhile, nothing twice', async () => {
    const area = fresh();
    const { es, events, opened } = openEventSource(streamUrl(tuned.url, `${area}.*`), ['message']);
    try {
      await opened;
      const ids = [(await t.publish(`${area}.x`, { n: 1 })).id, (await t.publish(`${area}.x`, { n: 2 })).id];
      await waitFor(() => events.length === 2, 'the first two events');
      let reopened = false;
      es.addEventListener('open', () => (reopened = true));
      tuned.server.closeAllConnections();
      // Published while the browser is away; a resume from the last event id must still deliver them.
      ids.push((await t.publish(`${area}.x`, { n: 3 })).id, (await t.publish(`${area}.x`, { n: 4 })).id);
      await waitFor(() => events.length >= 4, 'the events published while disconnected');
      await sleep(300);
      expect(reopened).toBe(true);
      expect(events.map((e) => e.data.id)).toEqual(ids);
    } finally {
      es.close();
    }
  });

  it('when ?from= or a Last-Event-ID header names a sequence, then the stream replays the retained messages after it', async () => {
    const area = fresh();
    const first = openEventSource(streamUrl(t.baseUrl, `${area}.*`), ['message']);
    const ids: string[] = [];
    try {
      await first.opened;
      for (let i = 0; i < 3; i++) ids.push((await t.publish(`${area}.x`, { i })).id);
      await waitFor(() => first.events.length === 3, 'three events');
    } finally {
      first.es.close();
    }
    const seq1 = first.events[0]!.lastEventId;

    const fromQuery = openEventSource(streamUrl(t.baseUrl, `${area}.*`, { from: seq1 }), ['message']);
    const fromHeader = openEventSource(streamUrl(t.baseUrl, `${area}.*`), ['message'], {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), 'Last-Event-ID': seq1 } }),
    });
    try {
      await Promise.all([fromQuery.opened, fromHeader.opened]);
      await waitFor(() => fromQuery.events.length >= 2 && fromHeader.events.length >= 2, 'the replay');
      await sleep(200);
      expect(fromQuery.events.map((e) => e.data.id)).toEqual(ids.slice(1));
      expect(fromHeader.events.map((e) => e.data.id)).toEqual(ids.slice(1));
    } finally {
      fromQuery.es.close();
      fromHeader.es.close();
    }
    const bad = await t.http().get(`/v1/topics/${area}.*/stream?from=abc`).set(t.auth);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('stream.invalid_position');
  });

  it('when the token may not subscribe to the pattern, then the stream answers 403; without a token, 401', async () => {
    const area = fresh();
    const narrow = t.token(`subscribe:${area}.public.>`, { tenant: TENANT });
    const forbidden = await t.http().get(`/v1/topics/${area}.secret.*/stream`).set(bearer(narrow));
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await t.http().get(`/v1/topics/${area}.*/stream`)).status).toBe(401);
    expect((await t.http().get(`/v1/topics/${area}..x/stream`).set(t.auth)).status).toBe(400);

    const { es, opened } = openEventSource(streamUrl(t.baseUrl, `${area}.public.*`).replace(t.admin, narrow), []);
    await opened;
    es.close();
  });

  it('when nothing is published, then heartbeat comments keep arriving every heartbeat interval', async () => {
    const chunks: string[] = [];
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(streamUrl(tuned.url, `${fresh()}.*`), resolve);
      req.on('error', reject);
      req.end();
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    res.setEncoding('utf8');
    res.on('data', (c: string) => chunks.push(c));
    await sleep(750);
    res.destroy();
    const text = chunks.join('');
    expect(text.startsWith('retry: 200\n')).toBe(true);
    expect(text.match(/^: heartbeat$/gm)?.length ?? 0).toBeGreaterThanOrEqual(2);
  });

  it('when a client stops reading, then the stream is cut off with a final error event instead of buffering without bound', async () => {
    const area = fresh();
    const socket = netConnect((tuned.server.address() as AddressInfo).port, '127.0.0.1');
    const url = new URL(streamUrl(tuned.url, `${area}.*`));
    socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    socket.pause();
    await waitFor(async () => (await liveConsumers()) === 1, 'the stream to open');
    // Far more than the kernel's socket buffers hold: the server's own buffer must pass its bound.
    const big = 'x'.repeat(200 * 1024);
    for (let i = 0; i < 24; i++) {
      const res = await t.http().post(`/v1/topics/${area}.x/batch`).set(t.auth).send({ messages: [big, big, big, big] });
      expect(res.status).toBe(202);
    }
    await waitFor(async () => (await liveConsumers()) === 0, 'the server to cut the slow client off', { timeoutMs: 20_000 });
    let tail = '';
    let total = 0;
    socket.on('data', (c: Buffer) => {
      total += c.length;
      tail = (tail + c.toString('latin1')).slice(-4096);
    });
    socket.resume();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(total).toBeLessThan(96 * 200 * 1024);
    expect(tail).toMatch(/event: error\ndata: \{"reason":"slow_consumer"/);
  });
});

interface Frame {
  type: string;
  [k: string]: unknown;
}

async function openSocket(url: string, options?: ConstructorParameters<typeof WebSocket>[2]) {
  const ws = new WebSocket(url, options);
  const frames: Frame[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Frame));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const next = (type: string, from = 0) => waitFor(() => frames.slice(from).find((f) => f.type === type), `a ${type} frame`);
  return { ws, frames, next };
}

const wsUrl = (base: string, query = '') => `${base.replace(/^http/, 'ws')}/v1/ws${query}`;

describe('WebSocket streams', () => {
  it('when a socket subscribes, then it gets the pattern\'s messages with their sequence, and none after it unsubscribes', async () => {
    const area = fresh();
    const { ws, frames, next } = await openSocket(wsUrl(t.baseUrl), { headers: t.auth });
    try {
      ws.send(JSON.stringify({ type: 'ping' }));
      await next('pong');
      ws.send(JSON.stringify({ type: 'subscribe', pattern: `${area}.orders.*` }));
      expect(await next('subscribed')).toEqual({ type: 'subscribed', pattern: `${area}.orders.*` });
      const a = (await t.publish(`${area}.orders.created`, { n: 1 })).id;
      await t.publish(`${area}.users.joined`, { n: 2 });
      const b = (await t.publish(`${area}.orders.paid`, { n: 3 })).id;
      await waitFor(() => frames.filter((f) => f.type === 'message').length >= 2, 'two message frames');
      await sleep(200);
      const messages = frames.filter((f) => f.type === 'message');
      expect(messages.map((m) => m.id)).toEqual([a, b]);
      expect(messages[0]).toMatchObject({ pattern: `${area}.orders.*`, topic: `${area}.orders.created`, data: { n: 1 } });
      expect(messages[1]!.seq as number).toBeGreaterThan(messages[0]!.seq as number);
      expect(await liveConsumers()).toBe(1);

      ws.send(JSON.stringify({ type: 'unsubscribe', pattern: `${area}.orders.*` }));
      await next('unsubscribed');
      expect(await liveConsumers()).toBe(0);
      await t.publish(`${area}.orders.created`, { n: 4 });
      await sleep(300);
      expect(frames.filter((f) => f.type === 'message')).toHaveLength(2);
      ws.send(JSON.stringify({ type: 'unsubscribe', pattern: `${area}.orders.*` }));
      expect(await next('error', frames.length)).toMatchObject({ code: 'subscription.not_found' });
    } finally {
      ws.close();
    }
  });

  it('when a socket subscribes to a pattern its token may not, then it gets an error frame and the socket stays usable', async () => {
    const area = fresh();
    const narrow = t.token(`subscribe:${area}.public.>`, { tenant: TENANT });
    const { ws, frames, next } = await openSocket(wsUrl(t.baseUrl, `?access_token=${narrow}`));
    try {
      ws.send(JSON.stringify({ type: 'subscribe', pattern: `${area}.secret.*` }));
      expect(await next('error')).toMatchObject({ code: 'auth.forbidden', pattern: `${area}.secret.*` });
      ws.send('not json');
      expect(await next('error', 1)).toMatchObject({ code: 'frame.invalid' });
      ws.send(JSON.stringify({ type: 'subscribe', pattern: `${area}..bad` }));
      expect(await next('error', 2)).toMatchObject({ code: 'pattern.invalid' });
      ws.send(JSON.stringify({ type: 'subscribe', pattern: `${area}.public.*` }));
      await next('subscribed');
      const id = (await t.publish(`${area}.public.news`, { hello: 'world' })).id;
      expect(await next('message')).toMatchObject({ id, data: { hello: 'world' } });
      expect(ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      ws.close();
    }
  });

  it('when a socket connects without a valid token, then the upgrade is refused with 401', async () => {
    for (const url of [wsUrl(t.baseUrl), wsUrl(t.baseUrl, '?access_token=nope')]) {
      const ws = new WebSocket(url);
      const status = await new Promise<number>((resolve, reject) => {
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => reject(new Error('opened without a token')));
        ws.once('error', () => {});
      });
      expect(status).toBe(401);
    }
  });

  it('when a socket subscribes with from, then it first gets the retained messages after that sequence', async () => {
    const area = fresh();
    const { ws, frames, next } = await openSocket(wsUrl(t.baseUrl), { headers: t.auth });
    try {
      ws.send(JSON.stringify({ type: 'subscribe', pattern: `${area}.*` }));
      await next('subscribed');
      const ids = [(await t.publish(`${area}.x`, { i: 0 })).id, (await t.publish(`${area}.x`, { i: 1 })).id, (await t.publish(`${area}.x`, { i: 2 })).id];
      await waitFor(() => frames.filter((f) => f.type === 'message').length === 3, 'three messages');
      const seq0 = frames.find((f) => f.type === 'message')!.seq as number;
      ws.send(JSON.stringify({ type: 'unsubscribe', pattern: `${area}.*` }));
      await next('unsubscribed');
      const mark = frames.length;
      ws.send(JSON.stringify({ type: 'subscribe', pattern: `${area}.*`, from: seq0 }));
      await waitFor(() => frames.slice(mark).filter((f) => f.type === 'message').length === 2, 'the replay');
      expect(frames.slice(mark).filter((f) => f.type === 'message').map((f) => f.id)).toEqual(ids.slice(1));
    } finally {
      ws.close();
    }
  });

  it('when a peer stops answering protocol pings, then the server terminates its socket', async () => {
    const { ws } = await openSocket(wsUrl(tuned.url), { headers: t.auth, autoPong: false });
    let pings = 0;
    ws.on('ping', () => pings++);
    const closed = await new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(closed).toBe(1006);

    const answering = await openSocket(wsUrl(tuned.url), { headers: t.auth });
    let answered = 0;
    answering.ws.on('ping', () => answered++);
    await sleep(700);
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
    expect(answered).toBeGreaterThanOrEqual(2);
    answering.ws.close();
  });

  it('when a socket stops reading, then the server closes it with 1013 and a reason instead of buffering without bound', async () => {
    const area = fresh();
    // Protocol pings would end a socket that reads nothing first: here they are rare.
    const quiet = await startTuned({ heartbeatMs: 60_000, maxBufferedBytes: 64 * 1024, slowClientGraceMs: 300 });
    const { ws, next } = await openSocket(wsUrl(quiet.url), { headers: t.auth });
    ws.send(JSON.stringify({ type: 'subscribe', pattern: `${area}.*` }));
    await next('subscribed');
    const raw = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    const big = 'x'.repeat(200 * 1024);
    for (let i = 0; i < 24; i++) {
      const res = await t.http().post(`/v1/topics/${area}.x/batch`).set(t.auth).send({ messages: [big, big, big, big] });
      expect(res.status).toBe(202);
    }
    await waitFor(async () => (await liveConsumers()) === 0, 'the server to cut the slow socket off', { timeoutMs: 20_000 });
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    raw.resume();
    const { code, reason } = await closed;
    await quiet.close();
    expect(code).toBe(1013);
    expect(reason).toMatch(/slow consumer/);
  });
});

describe('live streams at shutdown', () => {
  const b = withBroker();

  it('when the broker shuts down, then SSE streams end with a shutting_down event and sockets close with 1001', async () => {
    const token = b.admin;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${b.baseUrl}/v1/topics/x.*/stream?access_token=${token}`, resolve);
      req.on('error', reject);
      req.end();
    });
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (text += c));
    const ended = new Promise((resolve) => res.once('end', resolve));
    const { ws, next } = await openSocket(wsUrl(b.baseUrl), { headers: bearer(token) });
    ws.send(JSON.stringify({ type: 'subscribe', pattern: 'x.*' }));
    await next('subscribed');
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

    const started = Date.now();
    await b.stop();
    await ended;
    expect(text).toMatch(/event: error\ndata: \{"reason":"shutting_down"/);
    expect(await closed).toBe(1001);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
