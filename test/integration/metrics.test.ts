import { beforeAll, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { EventSource } from 'eventsource';
import { WebSocket } from 'ws';
import type { Receiver } from '../helpers/receiver.js';
import { withBroker } from '../helpers/kit.js';
import { waitFor } from '../helpers/wait-for.js';

let healthy: Receiver;
let failing: Receiver;
const logLines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line));
    done();
  },
});
const hl = withBroker({ LOG_LEVEL: 'debug' }, { logDestination: sink });

/** Prometheus text → {"name{labels}": value}. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

async function scrape(): Promise<Map<string, number>> {
  const res = await hl.http().get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  return parse(res.text);
}

beforeAll(async () => {
  healthy = await hl.receiver(() => ({ status: 200, delayMs: 5 }));
  failing = await hl.receiver(() => ({ status: 500 }));
  for (const [topic, url] of [
    ['m.ok', healthy.url],
    ['m.bad', failing.url],
  ]) {
    await hl.subscribe({ topic, url, retry: { maxAttempts: 20, initialDelayMs: 50, maxDelayMs: 100, multiplier: 2 } });
  }
});

describe('metrics and logs', () => {
  it('when messages are published, delivered and failed, then /metrics shows published, fanned-out, attempts by outcome, latency histograms, queue and parked gauges and circuit states', async () => {
    await hl.publishBatch('m.ok', 5);
    await hl.publishBatch('m.bad', 12);
    await waitFor(() => healthy.requests.length >= 5, 'the healthy deliveries');

    const m = await waitFor(async () => {
      const s = await scrape();
      return s.get('hookline_circuit_state{state="open"}') === 1 && s.get('hookline_deliveries_parked{reason="circuit"}') === 12
        ? s
        : undefined;
    }, 'the failing endpoint to be open with all of its deliveries parked', { timeoutMs: 20_000 });

    expect(m.get('hookline_messages_published_total{tenant="default"}')).toBe(17);
    expect(m.get('hookline_deliveries_enqueued_total')).toBe(17);
    expect(m.get('hookline_delivery_attempts_total{outcome="delivered"}')).toBe(5);
    const retries = m.get('hookline_delivery_attempts_total{outcome="retry"}')!;
    expect(retries).toBeGreaterThanOrEqual(10);
    expect(retries).toBe(failing.requests.length);
    expect(m.get('hookline_attempt_duration_seconds_count')).toBe(5 + retries);
    expect(m.get('hookline_attempt_duration_seconds_sum')).toBeGreaterThan(0);
    expect(m.get('hookline_publish_to_delivered_seconds_count')).toBe(5);
    const latency = m.get('hookline_publish_to_delivered_seconds_sum')! / 5;
    expect(latency).toBeGreaterThan(0.005); // at least the receiver's 5 ms
    expect(latency).toBeLessThan(10);
    expect(m.get('hookline_circuit_state{state="closed"}')).toBe(1);
    expect(m.get('hookline_circuit_state{state="half_open"}')).toBe(0);
    expect(m.get('hookline_circuit_transitions_total{to="open"}')).toBe(1);
    expect(m.get('hookline_deliveries_deferred_total{reason="circuit"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('hookline_deliveries_parked{reason="retry"}')).toBe(0);
    expect(m.get('hookline_dispatch_queue_jobs{state="pending"}')).toBe(0);
    expect(m.get('hookline_dispatch_queue_jobs{state="ack_pending"}')).toBe(0);
  }, 40_000);

  it('when deliveries fail and a breaker opens, then the log lines carry the message, subscription and delivery ids', async () => {
    const failed = await waitFor(() => logLines.find((l) => l.msg === 'delivery attempt failed'), 'a failed attempt logged');
    expect(failed).toMatchObject({
      component: 'dispatcher',
      messageId: expect.stringMatching(/^msg_/),
      subscriptionId: expect.stringMatching(/^sub_/),
      deliveryId: expect.stringMatching(/^dlv_/),
      attempt: expect.any(Number),
      status: 500,
    });
    const opened = logLines.find((l) => l.msg === 'endpoint circuit opened');
    expect(opened).toMatchObject({ subscriptionId: failed.subscriptionId, from: 'closed', to: 'open' });
    expect(JSON.stringify(logLines)).not.toMatch(/whsec_/);
  });

  it('when the API is called, then requests are counted and timed by route template and status, never by concrete path', async () => {
    const sub = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'm.any', url: healthy.url });
    await hl.http().get(`/v1/subscriptions/${sub.body.id}`).set(hl.auth).expect(200);
    await hl.http().get('/v1/subscriptions/sub_nope').set(hl.auth).expect(404);
    await hl.http().get('/v1/no/such/path').set(hl.auth).expect(404);
    const m = await scrape();
    expect(m.get('hookline_http_requests_total{method="GET",route="/v1/subscriptions/:id",status="200"}')).toBe(1);
    expect(m.get('hookline_http_requests_total{method="GET",route="/v1/subscriptions/:id",status="404"}')).toBe(1);
    expect(m.get('hookline_http_requests_total{method="POST",route="/v1/topics/:topic/batch",status="202"}')).toBe(2);
    expect(m.get('hookline_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(m.get('hookline_http_request_duration_seconds_count{method="GET",route="/v1/subscriptions/:id",status="200"}')).toBe(1);
    expect(m.get('hookline_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/v1/subscriptions/:id",status="200"}')).toBe(1);
    expect([...m.keys()].some((k) => k.includes(sub.body.id) || k.includes('sub_nope'))).toBe(false);
  });

  it('when another tenant publishes, then published messages are counted per tenant', async () => {
    const other = hl.token('publish:m.>', { tenant: 'acme' });
    await hl.http().post('/v1/topics/m.none/messages').set({ authorization: `Bearer ${other}` }).send({ a: 1 }).expect(202);
    const m = await scrape();
    expect(m.get('hookline_messages_published_total{tenant="acme"}')).toBe(1);
    expect(m.get('hookline_messages_published_total{tenant="default"}')).toBe(17);
  });

  it('when a poll client fetches, acks and nacks, then fetches, handed-out messages and settlements are counted', async () => {
    const poll = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'm.poll', type: 'poll' });
    expect(poll.status).toBe(201);
    await hl.http().get(`/v1/subscriptions/${poll.body.id}/messages?max=5`).set(hl.auth).expect(200);
    await hl.publishBatch('m.poll', 3);
    const got: { ackId: string }[] = [];
    await waitFor(async () => {
      const res = await hl.http().get(`/v1/subscriptions/${poll.body.id}/messages?max=5&wait=1`).set(hl.auth);
      got.push(...res.body.messages);
      return got.length >= 3;
    }, 'three polled messages');
    await hl.http().post(`/v1/subscriptions/${poll.body.id}/ack`).set(hl.auth).send({ ackIds: got.slice(0, 2).map((g) => g.ackId) }).expect(200);
    await hl.http().post(`/v1/subscriptions/${poll.body.id}/nack`).set(hl.auth).send({ ackIds: [got[2]!.ackId] }).expect(200);
    const m = await scrape();
    expect(m.get('hookline_poll_fetches_total{result="empty"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('hookline_poll_fetches_total{result="messages"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('hookline_poll_messages_total')).toBe(3);
    expect(m.get('hookline_poll_settlements_total{kind="ack"}')).toBe(2);
    expect(m.get('hookline_poll_settlements_total{kind="nack"}')).toBe(1);
  });

  it('when SSE and WebSocket clients connect and leave, then the open connections gauge follows them', async () => {
    const token = hl.token();
    const es = new EventSource(`${hl.baseUrl}/v1/topics/m.%3E/stream?access_token=${token}`);
    const ws = new WebSocket(`${hl.baseUrl.replace('http', 'ws')}/v1/ws?access_token=${token}`);
    const opened = Promise.all([
      new Promise<void>((resolve) => es.addEventListener('open', () => resolve(), { once: true })),
      new Promise<void>((resolve) => ws.once('open', () => resolve())),
    ]);
    try {
      await opened;
      const open = await scrape();
      expect(open.get('hookline_stream_connections{transport="sse"}')).toBe(1);
      expect(open.get('hookline_stream_connections{transport="websocket"}')).toBe(1);
    } finally {
      es.close();
      ws.close();
    }
    await waitFor(async () => {
      const m = await scrape();
      return m.get('hookline_stream_connections{transport="sse"}') === 0 && m.get('hookline_stream_connections{transport="websocket"}') === 0;
    }, 'the gauge to fall back to 0');
  });
});
