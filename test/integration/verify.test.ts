import { describe, expect, it } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import { AddressPolicy } from '../../shared/net/address-policy.js';
import { generateSecret } from '../../shared/signing.js';
import { verifyEndpoint } from '../../services/api/subscriptions/verify-endpoint.js';
import type { Received, Receiver, Reply } from '../helpers/receiver.js';
import { sleep, waitFor } from '../helpers/wait-for.js';
import { withBroker } from '../helpers/kit.js';

const hl = withBroker({ HOOKLINE_VERIFY_ENDPOINTS: 'on' });

const isChallenge = (r: Received) => r.headers['hookline-event'] === 'hookline.verify';

/** Echoes challenges when `echo()` says so (else answers 404 to them); accepts every delivery. */
async function endpoint(echo: () => boolean = () => true): Promise<Receiver> {
  return hl.receiver((req): Reply => {
    if (!isChallenge(req)) return { status: 200 };
    if (!echo()) return { status: 404, body: 'no such hook' };
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ challenge: JSON.parse(req.body).challenge }) };
  });
}

const deliveries = (r: Receiver) => r.requests.filter((q) => !isChallenge(q));
const challenges = (r: Receiver) => r.requests.filter(isChallenge);

describe('endpoint ownership verification', () => {
  it('when the endpoint echoes the challenge, then the subscription is active and verified, and the challenge was signed', async () => {
    const r = await endpoint();
    const res = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'v.ok', url: `${r.url}/hook` });
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('active');
    expect(Date.parse(res.body.verifiedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(res.body).not.toHaveProperty('verificationError');

    const [c] = challenges(r);
    expect(challenges(r)).toHaveLength(1);
    expect(c!.path).toBe('/hook');
    expect(c!.headers['content-type']).toBe('application/json');
    const body = new Webhook(res.body.secret).verify(c!.body, {
      'webhook-id': String(c!.headers['webhook-id']),
      'webhook-timestamp': String(c!.headers['webhook-timestamp']),
      'webhook-signature': String(c!.headers['webhook-signature']),
    }) as { type: string; challenge: string; subscriptionId: string; topic: string };
    expect(body).toMatchObject({ type: 'hookline.verify', subscriptionId: res.body.id, topic: 'v.ok' });
    expect(body.challenge).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(String(c!.headers['webhook-id'])).toMatch(/^vfy_/);

    const msg = await hl.publish('v.ok', { n: 1 });
    await waitFor(() => deliveries(r).length === 1, 'the delivery');
    expect(deliveries(r)[0]!.headers['webhook-id']).toBe(msg.id);
  });

  it('when the endpoint does not echo, then nothing is delivered until POST /verify succeeds, and then the parked messages arrive', async () => {
    let echo = false;
    const r = await endpoint(() => echo);
    const res = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'v.pending', url: r.url });
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('pending_verification');
    expect(res.body.verificationError).toMatch(/answered 404/);
    expect(res.body).not.toHaveProperty('verifiedAt');

    const msg = await hl.publish('v.pending', { n: 1 });
    await waitFor(
      async () => (await hl.db.query('SELECT 1 FROM deliveries WHERE message_id = $1', [msg.id])).rowCount,
      'the delivery row',
    );
    await sleep(700);
    expect(deliveries(r)).toHaveLength(0);

    const still = await hl.http().post(`/v1/subscriptions/${res.body.id}/verify`).set(hl.auth);
    expect(still.status).toBe(200);
    expect(still.body.status).toBe('pending_verification');

    echo = true;
    const ok = await hl.http().post(`/v1/subscriptions/${res.body.id}/verify`).set(hl.auth);
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('active');
    expect(ok.body).not.toHaveProperty('verificationError');
    await waitFor(() => deliveries(r).length === 1, 'the parked message after verification');
    expect(deliveries(r)[0]!.headers['webhook-id']).toBe(msg.id);
    expect(challenges(r)).toHaveLength(3);
  });

  it('when the endpoint echoes a different challenge or answers 2xx without one, then it stays unverified with the reason', async () => {
    const wrong = await hl.receiver(() => ({ status: 200, body: JSON.stringify({ challenge: 'guess' }) }));
    const empty = await hl.receiver(() => ({ status: 204 }));
    const a = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'v.wrong', url: wrong.url });
    expect(a.body).toMatchObject({ status: 'pending_verification', verificationError: expect.stringMatching(/different challenge/) });
    const b = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'v.empty', url: empty.url });
    expect(b.body).toMatchObject({ status: 'pending_verification', verificationError: expect.stringMatching(/not with the JSON body/) });
  });

  it('when the endpoint is slower than the subscription timeout, then the check fails as a timeout', async () => {
    const slow = await hl.receiver(() => ({ status: 200, delayMs: 2000 }));
    const t0 = Date.now();
    const res = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'v.slow', url: slow.url, timeoutMs: 300 });
    expect(Date.now() - t0).toBeLessThan(1800);
    expect(res.body).toMatchObject({ status: 'pending_verification', verificationError: 'no answer within 300 ms' });
  });

  it('when the url changes, then the new endpoint must verify before it gets traffic, and the old one gets none', async () => {
    const first = await endpoint();
    let echo = false;
    const second = await endpoint(() => echo);
    const created = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'v.move', url: first.url });
    expect(created.body.status).toBe('active');

    const moved = await hl.http().patch(`/v1/subscriptions/${created.body.id}`).set(hl.auth).send({ url: second.url });
    expect(moved.status).toBe(200);
    expect(moved.body.status).toBe('pending_verification');
    expect(moved.body).not.toHaveProperty('verifiedAt');
    expect(challenges(second)).toHaveLength(1);

    const msg = await hl.publish('v.move', { n: 1 });
    await sleep(700);
    expect(deliveries(first)).toHaveLength(0);
    expect(deliveries(second)).toHaveLength(0);

    echo = true;
    expect((await hl.http().post(`/v1/subscriptions/${created.body.id}/verify`).set(hl.auth)).body.status).toBe('active');
    await waitFor(() => deliveries(second).length === 1, 'the delivery to the new endpoint');
    expect(deliveries(second)[0]!.headers['webhook-id']).toBe(msg.id);
    expect(deliveries(first)).toHaveLength(0);

    // Changing something else does not ask again.
    await hl.http().patch(`/v1/subscriptions/${created.body.id}`).set(hl.auth).send({ description: 'x' }).expect(200);
    expect(challenges(second)).toHaveLength(2);
  });

  it('when an unverified subscription is paused and resumed, then resuming does not skip the check', async () => {
    const r = await endpoint(() => false);
    const created = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'v.resume', url: r.url });
    expect(created.body.status).toBe('pending_verification');
    expect((await hl.http().post(`/v1/subscriptions/${created.body.id}/pause`).set(hl.auth)).body.status).toBe('paused');
    const resumed = await hl.http().post(`/v1/subscriptions/${created.body.id}/resume`).set(hl.auth);
    expect(resumed.body.status).toBe('pending_verification');
    expect(challenges(r)).toHaveLength(2);
  });
});

describe('tenant settings', () => {
  it('when a tenant turns verification off, then its new subscriptions are active without a challenge; null restores the default', async () => {
    const tenant = { authorization: `Bearer ${hl.token('admin', { tenant: 'relaxed' })}` };
    const before = await hl.http().get('/v1/tenant/settings').set(tenant);
    expect(before.body).toEqual({ tenant: 'relaxed', verifyEndpoints: true, verifyEndpointsSource: 'default', quotas: expect.any(Object) });

    const off = await hl.http().patch('/v1/tenant/settings').set(tenant).send({ verifyEndpoints: false });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ tenant: 'relaxed', verifyEndpoints: false, verifyEndpointsSource: 'tenant' });
    const r = await endpoint(() => false);
    const sub = await hl.http().post('/v1/subscriptions').set(tenant).send({ topic: 'v.relaxed', url: r.url });
    expect(sub.body.status).toBe('active');
    expect(r.requests).toHaveLength(0);

    // Other tenants keep the installation default.
    expect((await hl.http().get('/v1/tenant/settings').set(hl.auth)).body.verifyEndpoints).toBe(true);

    const reset = await hl.http().patch('/v1/tenant/settings').set(tenant).send({ verifyEndpoints: null });
    expect(reset.body).toMatchObject({ verifyEndpoints: true, verifyEndpointsSource: 'default' });
    const strict = await hl.http().post('/v1/subscriptions').set(tenant).send({ topic: 'v.relaxed2', url: r.url });
    expect(strict.body.status).toBe('pending_verification');
  });

  it('when a non-admin changes tenant settings, then 403; a bad value is a 400', async () => {
    const user = { authorization: `Bearer ${hl.token('subscribe:v.>')}` };
    expect((await hl.http().patch('/v1/tenant/settings').set(user).send({ verifyEndpoints: false })).status).toBe(403);
    const bad = await hl.http().patch('/v1/tenant/settings').set(hl.auth).send({ verifyEndpoints: 'no' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toEqual({ path: 'verifyEndpoints', message: expect.stringMatching(/true, false, or null/) });
  });
});

describe('verifyEndpoint (the check itself) and the SSRF rules', () => {
  const target = (url: string) => ({ subscriptionId: 'sub_x', topic: 't', url, secret: generateSecret(), timeoutMs: 2000 });

  it('when the target is a loopback IP literal and no range allows it, then it is refused without a request', async () => {
    const r = await endpoint();
    const result = await verifyEndpoint(target(r.url), new AddressPolicy());
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/refusing to connect to 127\.0\.0\.1/);
    expect(r.requests).toHaveLength(0);
  });

  it('when the target is a name that resolves to loopback, then the guarded lookup refuses the connection', async () => {
    const r = await endpoint();
    const result = await verifyEndpoint(target(`http://localhost:${r.port}/`), new AddressPolicy());
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/refusing to connect to localhost/);
    expect(r.requests).toHaveLength(0);
  });

  it('when the range is allowed and the endpoint echoes, then the check passes; a redirect is not followed', async () => {
    const r = await endpoint();
    const allowed = new AddressPolicy(['127.0.0.0/8']);
    expect(await verifyEndpoint(target(`http://localhost:${r.port}/`), allowed)).toMatchObject({ ok: true, statusCode: 200, error: null });
    const hop = await hl.receiver(() => ({ status: 307, headers: { location: r.url } }));
    const before = r.requests.length;
    const redirected = await verifyEndpoint(target(hop.url), allowed);
    expect(redirected).toMatchObject({ ok: false, statusCode: 307 });
    expect(r.requests).toHaveLength(before);
  });

  it('when the endpoint answers with a huge body, then the check fails without reading it all', async () => {
    const big = await hl.receiver(() => ({ status: 200, body: 'x'.repeat(1_000_000) }));
    const result = await verifyEndpoint(target(big.url), new AddressPolicy(['127.0.0.0/8']));
    expect(result).toMatchObject({ ok: false, error: expect.stringMatching(/longer than 4096 bytes/) });
  });
});
