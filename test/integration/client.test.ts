import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHooklineClient, HooklineError } from '../../shared/client/index.js';
import { createWebhookReceiver, type ReceiveOutcome } from '../../shared/client/receiver.js';
import { CLIENT_TYPES_PATH, renderClientTypes } from '../../shared/client/render-types.js';
import { waitFor } from '../helpers/wait-for.js';
import { withBroker } from '../helpers/kit.js';

const t = withBroker();

/**
 * The typed client against a real broker: its checked-in types match the live OpenAPI document, publish
 * retries keep their Idempotency-Key through 503s and lost responses, and the receiver helper verifies and
 * dedupes real deliveries.
 */

/**
 * A real HTTP hop in front of the broker that fails the first requests as told: `503` answers without
 * forwarding; `drop` forwards to the broker, then cuts the connection before the answer reaches the client
 * (the case an Idempotency-Key exists for).
 */
async function startFlakyFront(target: string, faults: ('503' | 'drop')[]) {
  const seen: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    const fault = faults.shift();
    if (fault === '503') {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '0' }).end('{"code":"unavailable","status":503,"title":"Unavailable","detail":"x","type":"about:blank"}');
      return;
    }
    const url = new URL(req.url!, target);
    const upstream = httpRequest(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (up) => {
      if (fault === 'drop') {
        up.resume();
        up.on('end', () => res.socket?.destroy());
        return;
      }
      res.writeHead(up.statusCode!, up.headers);
      up.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('generated types', () => {
  it('when the live /openapi.json is rendered, then it equals the checked-in shared/client/openapi.d.ts', async () => {
    const live = await (await fetch(`${t.baseUrl}/openapi.json`)).json();
    const rendered = await renderClientTypes(live as Record<string, unknown>);
    const checkedIn = await readFile(CLIENT_TYPES_PATH, 'utf8');
    // On failure: `npm run client:generate` and commit shared/client/openapi.d.ts.
    expect(checkedIn).toBe(rendered);
  });
});

describe('publish', () => {
  it('when the broker answers 503 and then a response is lost, then the retries carry one Idempotency-Key and store one message', async () => {
    const front = await startFlakyFront(t.baseUrl, ['503', 'drop']);
    try {
      const client = createHooklineClient({ baseUrl: front.url, token: t.admin, publishRetryDelayMs: 10 });
      const published = await client.publish('client.retry', { n: 1 });
      expect(front.seen).toHaveLength(3);
      const keys = new Set(front.seen.map((h) => h['idempotency-key']));
      expect(keys.size).toBe(1);
      expect([...keys][0]).toMatch(/[0-9a-f-]{36}/);
      // The dropped request was stored; the third answered with the same message.
      expect(published.replayed).toBe(true);
      const direct = createHooklineClient({ baseUrl: t.baseUrl, token: t.admin });
      const again = await direct.publish('client.retry', { n: 1 }, { idempotencyKey: [...keys][0] as string });
      expect(again.id).toBe(published.id);
    } finally {
      await front.close();
    }
  });

  it('when the retries are spent, then the last 503 is thrown as a HooklineError', async () => {
    const front = await startFlakyFront(t.baseUrl, ['503', '503', '503']);
    try {
      const client = createHooklineClient({ baseUrl: front.url, token: t.admin, publishRetries: 2, publishRetryDelayMs: 1 });
      const err = await client.publish('client.spent', {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HooklineError);
      expect((err as HooklineError).status).toBe(503);
      expect(front.seen).toHaveLength(3);
    } finally {
      await front.close();
    }
  });

  it('when the answer is a 4xx, then it is not retried and its problem code is on the error', async () => {
    const front = await startFlakyFront(t.baseUrl, []);
    try {
      const client = createHooklineClient({ baseUrl: front.url, token: t.token('publish:other.>') });
      const err = (await client.publish('client.denied', {}).catch((e: unknown) => e)) as HooklineError;
      expect(err.status).toBe(403);
      expect(err.code).toMatch(/forbidden/);
      expect(front.seen).toHaveLength(1);
    } finally {
      await front.close();
    }
  });

  it('when a batch is published, then every id comes back typed', async () => {
    const client = createHooklineClient({ baseUrl: t.baseUrl, token: t.admin });
    const res = await client.publishBatch('client.batch', [{ a: 1 }, { a: 2 }, { a: 3 }]);
    expect(res.ids).toHaveLength(3);
    // A message is readable once routed, moments after its 202.
    const data = await waitFor(async () => (await client.api.GET('/v1/messages/{id}', { params: { path: { id: res.ids[0]! } } })).data, 'the first message routed');
    expect(data.topic).toBe('client.batch');
  });
});

describe('receiver helper', () => {
  it('when a real delivery arrives twice and a forged one once, then it is processed once, deduped once and rejected once', async () => {
    const client = createHooklineClient({ baseUrl: t.baseUrl, token: t.admin });
    const outcomes: ReceiveOutcome[] = [];
    const handled: unknown[] = [];
    const server = createServer((req, res) => listener(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    let listener: ReturnType<ReturnType<typeof createWebhookReceiver>['listener']> = (_q, s) => s.writeHead(503).end();
    try {
      const { data: sub } = await client.api.POST('/v1/subscriptions', { body: { topic: 'client.recv', url, retry: { maxAttempts: 3, initialDelayMs: 50 } } });
      if (sub?.type !== 'webhook') throw new Error('expected a webhook subscription');
      listener = createWebhookReceiver({ secret: sub.secret! }).listener((e) => handled.push(e.payload.data), (o) => outcomes.push(o));
      const { id } = await client.publish('client.recv', { order: 7 });
      await waitFor(() => outcomes.length >= 1, 'the first delivery');
      // The receiver sees the request before its attempt is on record: retry only a settled delivery.
      const delivery = await waitFor(async () => {
        const { data: page } = await client.api.GET('/v1/subscriptions/{id}/deliveries', { params: { path: { id: sub!.id } } });
        const first = page?.items[0];
        return first?.status === 'succeeded' ? first : undefined;
      }, 'the first attempt on record');
      const retried = await client.api.POST('/v1/deliveries/{id}/retry', { params: { path: { id: delivery.id } } });
      expect(retried.response.status).toBe(202);
      await waitFor(() => outcomes.length >= 2, 'the retried delivery');
      const forged = await fetch(url, {
        method: 'POST',
        headers: { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
        body: '{}',
      });
      expect(forged.status).toBe(401);
      expect(outcomes.map((o) => o.result)).toEqual(['processed', 'duplicate', 'rejected']);
      expect(handled).toEqual([{ order: 7 }]);
      // As above: the second attempt is on record moments after the receiver answered it.
      const after = await waitFor(async () => {
        const { data } = await client.api.GET('/v1/deliveries/{id}', { params: { path: { id: delivery.id } } });
        return data && data.attempts.length >= 2 ? data : undefined;
      }, 'the retried attempt on record');
      expect(after.attempts.map((a) => a.statusCode)).toEqual([204, 204]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
