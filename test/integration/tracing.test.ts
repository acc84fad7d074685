import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { mintToken } from '../../shared/auth/tokens.js';
import { brokerProcessEnv, freePort, spawnBroker, waitReady, type BrokerProcess } from '../helpers/broker-process.js';
import { dropIsolated, isolatedNames } from '../helpers/isolated.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { withBroker, withReceivers } from '../helpers/kit.js';
import { waitFor } from '../helpers/wait-for.js';

const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

/** Export quickly: the SDK's default batch delay is 5 s. */
process.env.OTEL_BSP_SCHEDULE_DELAY = '100';

let otlp: OtlpReceiver;
const receiver = withReceivers();
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  otlp = await startOtlpReceiver();
});

afterAll(async () => {
  await otlp?.close();
});

function parseTraceparent(header: string | string[] | undefined) {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(String(header));
  if (!m) throw new Error(`not a W3C traceparent: ${String(header)}`);
  return { traceId: m[1]!, spanId: m[2]! };
}

const spansOf = (traceId: string) => otlp.spans.filter((s) => s.traceId === traceId);

/** Waits until the trace holds a span for each name (the exporters batch, and three scopes flush apart). */
function waitForSpans(traceId: string, names: string[]): Promise<ReceivedSpan[]> {
  return waitFor(() => {
    const spans = spansOf(traceId);
    return names.every((n) => spans.some((s) => s.name === n)) ? spans : undefined;
  }, `spans ${names.join(', ')} in trace ${traceId}`);
}

/** The span's ancestors up to the trace's root (within what was exported). */
function ancestry(spans: ReceivedSpan[], span: ReceivedSpan): ReceivedSpan[] {
  const chain: ReceivedSpan[] = [];
  let at: ReceivedSpan | undefined = span;
  while (at) {
    chain.push(at);
    const parent: string = at.parentSpanId;
    at = spans.find((s) => s.spanId === parent);
  }
  return chain;
}

describe('tracing, every role in one process', () => {
  const logs = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  // The default sampler (parent-based ratio): the publishers' sampled traceparent decides below.
  const hl = withBroker(() => ({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, LOG_LEVEL: 'debug' }), { logDestination: logs });

  it('when a publish carries a sampled traceparent, then one trace holds the api, router and dispatcher spans and the receiver continues it', async () => {
    const r = await receiver();
    await hl.subscribe({ topic: 'traced.created', url: `${r.url}/hook` });
    const traceId = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const res = await hl
      .http()
      .post('/v1/topics/traced.created/messages')
      .set(hl.auth)
      .set('traceparent', `00-${traceId}-${callerSpan}-01`)
      .send({ order: 1 });
    expect(res.status).toBe(202);

    const got = await waitFor(() => r.requests[0], 'the webhook');
    const seen = parseTraceparent(got.headers.traceparent);
    expect(seen.traceId).toBe(traceId);

    const spans = await waitForSpans(traceId, [
      'POST /v1/topics/:topic/messages',
      `send ${hl.broker.names.messagesStream}`,
      `process ${hl.broker.names.messagesStream}`,
      'match subscriptions',
      'record deliveries',
      'send delivery job',
      `process ${hl.broker.names.deliveriesStream}`,
      'load delivery',
      'sign webhook',
      'POST',
      'record attempt',
    ]);
    const byName = (n: string) => spans.find((s) => s.name === n)!;

    const server = byName('POST /v1/topics/:topic/messages');
    expect(server).toMatchObject({ kind: SERVER, scope: 'hookline.api', parentSpanId: callerSpan });
    expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/v1/topics/:topic/messages', 'http.response.status_code': 202 });
    expect(byName(`send ${hl.broker.names.messagesStream}`)).toMatchObject({ kind: PRODUCER, scope: 'hookline.api' });
    expect(byName(`process ${hl.broker.names.messagesStream}`)).toMatchObject({ kind: CONSUMER, scope: 'hookline.router' });
    expect(byName(`process ${hl.broker.names.deliveriesStream}`)).toMatchObject({ kind: CONSUMER, scope: 'hookline.dispatcher' });
    expect(byName(`process ${hl.broker.names.deliveriesStream}`).attributes).toMatchObject({ 'messaging.message.id': res.body.id, 'hookline.delivery.attempt': 1 });

    const post = byName('POST');
    expect(post).toMatchObject({ kind: CLIENT, scope: 'hookline.dispatcher' });
    expect(post.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200, 'url.full': `${r.url}/hook` });
    // The receiver's parent is the client span, whose ancestors run back through router and api to the caller.
    expect(seen.spanId).toBe(post.spanId);
    const chain = (await waitFor(() => {
      const names = ancestry(spansOf(traceId), post).map((s) => s.name);
      return names.length === 6 ? names : undefined;
    }, 'the chain of parents')) as string[];
    expect(chain).toEqual([
      'POST',
      `process ${hl.broker.names.deliveriesStream}`,
      'send delivery job',
      `process ${hl.broker.names.messagesStream}`,
      `send ${hl.broker.names.messagesStream}`,
      'POST /v1/topics/:topic/messages',
    ]);
    expect(otlp.contentTypes.every((t) => t === 'application/x-protobuf')).toBe(true);
  });

  it('when an attempt fails and is retried, then the retry is a new trace linked to the publish, and its log lines carry its trace and span ids', async () => {
    const r = await receiver((req) => ({ status: req.headers['hookline-attempt'] === '1' ? 503 : 200 }));
    await hl.subscribe({ topic: 'traced.retry', url: r.url, retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 200, multiplier: 2 } });
    const traceId = randomBytes(16).toString('hex');
    const res = await hl
      .http()
      .post('/v1/topics/traced.retry/messages')
      .set(hl.auth)
      .set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-01`)
      .send({ order: 2 });
    expect(res.status).toBe(202);

    await waitFor(() => r.requests.length >= 2, 'the retry');
    const first = parseTraceparent(r.requests[0]!.headers.traceparent);
    const second = parseTraceparent(r.requests[1]!.headers.traceparent);
    expect(first.traceId).toBe(traceId);
    expect(second.traceId).not.toBe(traceId);

    const failed = (await waitForSpans(traceId, ['POST'])).find((s) => s.name === 'POST')!;
    expect(failed.attributes['http.response.status_code']).toBe(503);
    expect(failed.status).toBe(2);

    const retry = await waitForSpans(second.traceId, [`process ${hl.broker.names.deliveriesStream}`, 'POST']);
    const process = retry.find((s) => s.name === `process ${hl.broker.names.deliveriesStream}`)!;
    expect(process.parentSpanId).toBe('');
    expect(process.attributes['hookline.delivery.attempt']).toBe(2);
    const publish = spansOf(traceId).find((s) => s.name === `send ${hl.broker.names.messagesStream}`)!;
    expect(process.links).toContainEqual({ traceId, spanId: publish.spanId });

    // The dispatcher's debug line for the failed first attempt was written inside that attempt's span.
    const line = await waitFor(
      () => logLines.find((l) => l.msg === 'delivery attempt failed' && l.messageId === res.body.id),
      'the failed attempt log line',
    );
    const firstProcess = spansOf(traceId).find((s) => s.name === `process ${hl.broker.names.deliveriesStream}`)!;
    expect(line).toMatchObject({ trace_id: traceId, span_id: firstProcess.spanId });
  });

  it('when a publish carries an unsampled traceparent, then no span is exported but the receiver still gets the trace id', async () => {
    const r = await receiver();
    await hl.subscribe({ topic: 'traced.unsampled', url: r.url });
    const traceId = randomBytes(16).toString('hex');
    const res = await hl
      .http()
      .post('/v1/topics/traced.unsampled/messages')
      .set(hl.auth)
      .set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-00`)
      .send({ order: 3 });
    expect(res.status).toBe(202);
    const got = await waitFor(() => r.requests[0], 'the webhook');
    expect(got.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    // Later publishes' spans arrive: the exporter has flushed past this one.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(spansOf(traceId)).toEqual([]);
  });
});

describe('tracing, api, router and dispatcher as separate processes', () => {
  const iso = isolatedNames();
  const secret = randomBytes(32).toString('hex');
  const token = mintToken(secret, { sub: 'trace-test', scope: 'admin', expiresIn: '1h' });
  const procs: BrokerProcess[] = [];

  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    await dropIsolated(iso.database, iso.prefix);
  });

  async function spawnRole(role: string): Promise<string> {
    const port = await freePort();
    const proc = spawnBroker(
      brokerProcessEnv(port, iso, secret, {
        HOOKLINE_ROLES: role,
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_TRACES_SAMPLER: 'always_on',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      }),
    );
    procs.push(proc);
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitReady(baseUrl, proc, 60_000);
    return baseUrl;
  }

  it('when a message is published without a traceparent, then the api starts one trace that the router, the dispatcher and the receiver continue', async () => {
    // One at a time: the first migrates and creates the streams.
    const api = await spawnRole('api');
    await Promise.all([spawnRole('router'), spawnRole('dispatcher')]);
    const r = await receiver();
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const sub = await fetch(`${api}/v1/subscriptions`, { method: 'POST', headers, body: JSON.stringify({ topic: 'split.*', url: r.url }) });
    expect(sub.status).toBe(201);
    const pub = await fetch(`${api}/v1/topics/split.created/messages`, { method: 'POST', headers, body: JSON.stringify({ n: 1 }) });
    expect(pub.status).toBe(202);

    const got = await waitFor(() => r.requests[0], 'the webhook', { timeoutMs: 30_000 });
    const seen = parseTraceparent(got.headers.traceparent);
    // The router's span ends after its jobs' spans, so it may come in a later export.
    const spans = await waitFor(() => {
      const all = spansOf(seen.traceId);
      const post = all.find((s) => s.name === 'POST');
      return post && ancestry(all, post).at(-1)?.name === 'POST /v1/topics/:topic/messages' ? all : undefined;
    }, 'the whole chain from the receiver back to the publish request');
    const services = new Set(spans.map((s) => s.service));
    expect(services).toEqual(new Set(['hookline-api', 'hookline-router', 'hookline-dispatcher']));
    const server = spans.find((s) => s.name === 'POST /v1/topics/:topic/messages')!;
    expect(server).toMatchObject({ service: 'hookline-api', parentSpanId: '' });
    const post = spans.find((s) => s.name === 'POST')!;
    expect(post).toMatchObject({ service: 'hookline-dispatcher', spanId: seen.spanId });
    expect(ancestry(spans, post).at(-1)).toBe(server);
    expect(otlp.contentTypes).toContain('application/json');
  }, 90_000);
});
