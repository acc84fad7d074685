import { describe, expect, it } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import { withBroker } from '../helpers/kit.js';
import { waitFor } from '../helpers/wait-for.js';

const hl = withBroker();

async function deliveryOf(messageId: string) {
  const res = await hl.http().get(`/v1/messages/${messageId}`).set(hl.auth);
  return res.status === 200 ? res.body.deliveries[0] : undefined;
}

const fastRetry = { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 200, multiplier: 2 };

describe('webhook delivery', () => {
  it('when a message is published, then the subscriber gets a Standard Webhooks request that an independent verifier accepts', async () => {
    const r = await hl.receiver();
    const sub = await hl.subscribe({ topic: 'orders.*', url: `${r.url}/hook` });
    const msg = await hl.publish('orders.created', { order: 42, note: 'ünïcode' });

    const got = await waitFor(() => r.requests[0], 'the webhook');
    expect(got.path).toBe('/hook');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['webhook-id']).toBe(msg.id);
    expect(got.headers['hookline-topic']).toBe('orders.created');
    expect(got.headers['hookline-attempt']).toBe('1');
    expect(got.headers['user-agent']).toMatch(/^Hookline\/\d+\.\d+\.\d+/);
    expect(JSON.parse(got.body)).toEqual({
      id: msg.id,
      topic: 'orders.created',
      publishedAt: msg.publishedAt,
      data: { order: 42, note: 'ünïcode' },
    });
    const verified = new Webhook(sub.secret).verify(got.body, {
      'webhook-id': String(got.headers['webhook-id']),
      'webhook-timestamp': String(got.headers['webhook-timestamp']),
      'webhook-signature': String(got.headers['webhook-signature']),
    });
    expect(verified).toEqual(JSON.parse(got.body));
    expect(() =>
      new Webhook('whsec_' + Buffer.alloc(32, 1).toString('base64')).verify(got.body, {
        'webhook-id': String(got.headers['webhook-id']),
        'webhook-timestamp': String(got.headers['webhook-timestamp']),
        'webhook-signature': String(got.headers['webhook-signature']),
      }),
    ).toThrow();

    const delivery = await waitFor(async () => {
      const d = await deliveryOf(msg.id);
      return d?.status === 'succeeded' ? d : undefined;
    }, 'the delivery to succeed');
    const detail = await hl.http().get(`/v1/deliveries/${delivery.id}`).set(hl.auth);
    expect(detail.status).toBe(200);
    expect(detail.body.attempts).toHaveLength(1);
    expect(detail.body.attempts[0]).toMatchObject({ n: 1, statusCode: 200 });
    const { rows } = await hl.db.query('SELECT n, status_code FROM attempts WHERE delivery_id = $1', [delivery.id]);
    expect(rows).toEqual([{ n: 1, status_code: 200 }]);
  });

  it('when the endpoint fails twice, then it is retried with a growing attempt number and succeeds on the third', async () => {
    const r = await hl.receiver((req) => ({ status: req.headers['hookline-attempt'] === '3' ? 204 : 500, body: 'nope' }));
    await hl.subscribe({ topic: 'retry.one', url: r.url, retry: fastRetry });
    const msg = await hl.publish('retry.one', { x: 1 });

    const d = await waitFor(async () => {
      const x = await deliveryOf(msg.id);
      return x?.status === 'succeeded' ? x : undefined;
    }, 'the third attempt to succeed');
    expect(r.requests.map((q) => q.headers['hookline-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(r.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set([msg.id]));
    const detail = await hl.http().get(`/v1/deliveries/${d.id}`).set(hl.auth);
    expect(detail.body.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 500, 204]);
    expect(detail.body.attempts[0].responseExcerpt).toBe('nope');
    expect(detail.body.attemptCount).toBe(3);
  });

  it('when every attempt fails, then the delivery ends dead after maxAttempts and is listed as dead', async () => {
    const r = await hl.receiver(() => ({ status: 503 }));
    const sub = await hl.subscribe({ topic: 'retry.dead', url: r.url, retry: fastRetry });
    const msg = await hl.publish('retry.dead', { x: 1 });

    await waitFor(async () => (await deliveryOf(msg.id))?.status === 'dead', 'the delivery to die');
    expect(r.requests).toHaveLength(3);
    const dead = await hl
      .http()
      .get(`/v1/subscriptions/${sub.id}/deliveries?status=dead`)
      .set(hl.auth);
    expect(dead.body.items).toHaveLength(1);
    expect(dead.body.items[0]).toMatchObject({ messageId: msg.id, status: 'dead', attemptCount: 3, lastStatusCode: 503 });
    const pending = await hl
      .http()
      .get(`/v1/subscriptions/${sub.id}/deliveries?status=pending`)
      .set(hl.auth);
    expect(pending.body.items).toHaveLength(0);
  });

  it('when a 429 carries Retry-After, then the next attempt waits that long (capped at maxDelayMs)', async () => {
    const r = await hl.receiver((req) =>
      req.headers['hookline-attempt'] === '1' ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 });
    await hl.subscribe({ topic: 'retry.after', url: r.url, retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 5000, multiplier: 1 } });
    const msg = await hl.publish('retry.after', { x: 1 });
    await waitFor(async () => (await deliveryOf(msg.id))?.status === 'succeeded', 'the retry', { timeoutMs: 10_000 });
    const gap = r.requests[1]!.at - r.requests[0]!.at;
    // Without Retry-After the jittered backoff would be at most 10 ms.
    expect(gap).toBeGreaterThanOrEqual(900);
  });

  it('when the endpoint is slower than timeoutMs, then the attempt fails as a timeout', async () => {
    const r = await hl.receiver((req) => (req.headers['hookline-attempt'] === '1' ? { status: 200, delayMs: 1500 } : { status: 200 }));
    await hl.subscribe({ topic: 'slow.one', url: r.url, timeoutMs: 300, retry: fastRetry });
    const msg = await hl.publish('slow.one', { x: 1 });
    const d = await waitFor(async () => {
      const x = await deliveryOf(msg.id);
      return x?.status === 'succeeded' ? x : undefined;
    }, 'the second attempt');
    const detail = await hl.http().get(`/v1/deliveries/${d.id}`).set(hl.auth);
    expect(detail.body.attempts[0].error).toBe('timeout');
    expect(detail.body.attempts[0].durationMs).toBeLessThan(1200);
    expect(detail.body.attempts[1].statusCode).toBe(200);
  });

  it('when the endpoint redirects, then the redirect is not followed and counts as a failure', async () => {
    const target = await hl.receiver();
    const r = await hl.receiver(() => ({ status: 302, headers: { location: `${target.url}/elsewhere` } }));
    await hl.subscribe({ topic: 'redirect.one', url: r.url, retry: { ...fastRetry, maxAttempts: 1 } });
    const msg = await hl.publish('redirect.one', { x: 1 });
    await waitFor(async () => (await deliveryOf(msg.id))?.status === 'dead', 'the delivery to fail');
    expect(target.requests).toHaveLength(0);
  });

  it('when the endpoint answers with a huge body, then only a capped excerpt is kept', async () => {
    const r = await hl.receiver(() => ({ status: 200, body: 'x'.repeat(1_000_000) }));
    await hl.subscribe({ topic: 'big.response', url: r.url });
    const msg = await hl.publish('big.response', { x: 1 });
    const d = await waitFor(async () => {
      const x = await deliveryOf(msg.id);
      return x?.status === 'succeeded' ? x : undefined;
    }, 'the delivery');
    const detail = await hl.http().get(`/v1/deliveries/${d.id}`).set(hl.auth);
    expect(detail.body.attempts[0].responseExcerpt.length).toBe(1024);
  });

  it('when a message matches several subscriptions, then each gets exactly one delivery and others none', async () => {
    const a = await hl.receiver();
    const b = await hl.receiver();
    const c = await hl.receiver();
    await hl.subscribe({ topic: 'fan.>', url: a.url });
    await hl.subscribe({ topic: 'fan.*.created', url: b.url });
    await hl.subscribe({ topic: 'fan.other', url: c.url });
    const msg = await hl.publish('fan.orders.created', { x: 1 });
    await waitFor(() => a.requests.length === 1 && b.requests.length === 1, 'both deliveries');
    const res = await hl.http().get(`/v1/messages/${msg.id}`).set(hl.auth);
    await waitFor(async () => {
      const m = await hl.http().get(`/v1/messages/${msg.id}`).set(hl.auth);
      return m.body.settled;
    }, 'the message to settle');
    expect(res.body.deliveries).toHaveLength(2);
    expect(c.requests).toHaveLength(0);
  });

  it('when subscriptions are created and a message is published right after each 201, then none is missed', async () => {
    const r = await hl.receiver();
    const ids: string[] = [];
    for (let i = 0; i < 15; i++) {
      await hl.subscribe({ topic: `race.t${i}`, url: r.url });
      ids.push((await hl.publish(`race.t${i}`, { i })).id);
    }
    await waitFor(() => r.requests.length >= ids.length, `${ids.length} deliveries`);
    expect(new Set(r.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set(ids));
  });

  it('when a subscription\'s URL changes after it has had deliveries, then the next delivery goes to the new URL', async () => {
    const before = await hl.receiver();
    const after = await hl.receiver();
    const sub = await hl.subscribe({ topic: 'moved.one', url: before.url });
    await hl.publish('moved.one', { n: 1 });
    await waitFor(() => before.requests.length === 1, 'the delivery to the first URL');
    const patched = await hl.http().patch(`/v1/subscriptions/${sub.id}`).set(hl.auth).send({ url: after.url });
    expect(patched.status).toBe(200);
    const second = await hl.publish('moved.one', { n: 2 });
    await waitFor(() => after.requests.length === 1, 'the delivery to the new URL');
    expect(after.requests[0]!.headers['webhook-id']).toBe(second.id);
    expect(before.requests).toHaveLength(1);
  });

  it('when a subscription is paused, then its deliveries wait and arrive after resume', async () => {
    const r = await hl.receiver();
    const sub = await hl.subscribe({ topic: 'pause.one', url: r.url });
    expect((await hl.http().post(`/v1/subscriptions/${sub.id}/pause`).set(hl.auth)).body.status).toBe('paused');
    const msg = await hl.publish('pause.one', { x: 1 });
    await waitFor(async () => (await deliveryOf(msg.id)) !== undefined, 'the delivery row');
    await new Promise((res) => setTimeout(res, 500));
    expect(r.requests).toHaveLength(0);
    expect((await hl.http().post(`/v1/subscriptions/${sub.id}/resume`).set(hl.auth)).body.status).toBe('active');
    await waitFor(() => r.requests.length === 1, 'the delivery after resume');
    expect(r.requests[0]!.headers['webhook-id']).toBe(msg.id);
    expect(r.requests[0]!.headers['hookline-attempt']).toBe('1');
  });

  it('when a subscription is deleted while its delivery waits, then the message still settles', async () => {
    const ok = await hl.receiver();
    const paused = await hl.receiver();
    await hl.subscribe({ topic: 'settle.one', url: ok.url });
    const doomed = await hl.subscribe({ topic: 'settle.one', url: paused.url });
    await hl.http().post(`/v1/subscriptions/${doomed.id}/pause`).set(hl.auth).expect(200);
    const msg = await hl.publish('settle.one', { x: 1 });
    await waitFor(() => ok.requests.length === 1, 'the live subscription\'s delivery');
    const before = await hl.http().get(`/v1/messages/${msg.id}`).set(hl.auth);
    expect(before.body.settled).toBe(false);
    expect(before.body.deliveries).toHaveLength(2);
    await hl.http().delete(`/v1/subscriptions/${doomed.id}`).set(hl.auth).expect(204);
    const after = await hl.http().get(`/v1/messages/${msg.id}`).set(hl.auth);
    expect(after.body.deliveries).toHaveLength(1);
    expect(after.body.settled).toBe(true);
    expect(paused.requests).toHaveLength(0);
  });

  it('when the secret is rotated, then requests carry signatures for both the new and the old secret', async () => {
    const r = await hl.receiver();
    const sub = await hl.subscribe({ topic: 'rotate.one', url: r.url });
    const rotated = await hl.http().post(`/v1/subscriptions/${sub.id}/rotate-secret`).set(hl.auth);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(sub.secret);
    await hl.publish('rotate.one', { x: 1 });
    const got = await waitFor(() => r.requests[0], 'the webhook');
    const headers = {
      'webhook-id': String(got.headers['webhook-id']),
      'webhook-timestamp': String(got.headers['webhook-timestamp']),
      'webhook-signature': String(got.headers['webhook-signature']),
    };
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(rotated.body.secret).verify(got.body, headers)).not.toThrow();
    expect(() => new Webhook(sub.secret).verify(got.body, headers)).not.toThrow();
  });
});
