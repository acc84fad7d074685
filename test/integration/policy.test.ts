import { describe, expect, it } from '@jest/globals';
import { withBroker } from '../helpers/kit.js';

const hl = withBroker({ HOOKLINE_ROLES: 'api' });

const url = 'http://127.0.0.1:9/hook';

async function options(id: string) {
  const { rows } = await hl.db.query('SELECT options FROM subscriptions WHERE id = $1', [id]);
  return rows[0].options as Record<string, unknown>;
}

describe('per-subscription delivery policy', () => {
  it('when no policy is given, then the view shows the defaults and nothing is stored', async () => {
    const res = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'p.defaults', url });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ maxInFlight: 100, permanentFailureStatuses: [410] });
    expect(res.body).not.toHaveProperty('rateLimit');
    expect(await options(res.body.id)).toEqual({});
  });

  it('when policy fields are given, then they are stored in options under their API names and shown', async () => {
    const res = await hl
      .http()
      .post('/v1/subscriptions')
      .set(hl.auth)
      .send({ topic: 'p.set', url, maxInFlight: 5, rateLimit: 2.5, permanentFailureStatuses: [503, 410, 410, 404] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ maxInFlight: 5, rateLimit: 2.5, permanentFailureStatuses: [404, 410, 503] });
    expect(await options(res.body.id)).toEqual({ maxInFlight: 5, rateLimit: 2.5, permanentFailureStatuses: [404, 410, 503] });
    const read = await hl.http().get(`/v1/subscriptions/${res.body.id}`).set(hl.auth);
    expect(read.body).toMatchObject({ maxInFlight: 5, rateLimit: 2.5, permanentFailureStatuses: [404, 410, 503] });
  });

  it('when PATCH changes, empties and resets policy fields, then each takes effect and other fields stay', async () => {
    const created = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'p.patch', url, rateLimit: 10, maxInFlight: 7 });
    const id = created.body.id;
    let res = await hl.http().patch(`/v1/subscriptions/${id}`).set(hl.auth).send({ maxInFlight: 1, permanentFailureStatuses: [] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ maxInFlight: 1, rateLimit: 10, permanentFailureStatuses: [] });
    res = await hl.http().patch(`/v1/subscriptions/${id}`).set(hl.auth).send({ rateLimit: null, permanentFailureStatuses: null });
    expect(res.body).toMatchObject({ maxInFlight: 1, permanentFailureStatuses: [410] });
    expect(res.body).not.toHaveProperty('rateLimit');
    expect(await options(id)).toEqual({ maxInFlight: 1 });
    res = await hl.http().patch(`/v1/subscriptions/${id}`).set(hl.auth).send({ description: 'only this' });
    expect(await options(id)).toEqual({ maxInFlight: 1 });
  });

  it.each([
    [{ maxInFlight: 0 }, 'maxInFlight', /integer from 1 to 1000/],
    [{ maxInFlight: 1001 }, 'maxInFlight', /integer from 1 to 1000/],
    [{ maxInFlight: 2.5 }, 'maxInFlight', /integer from 1 to 1000/],
    [{ maxInFlight: '10' }, 'maxInFlight', /integer from 1 to 1000/],
    [{ rateLimit: 0 }, 'rateLimit', /from 0.01 to 10000 deliveries per second/],
    [{ rateLimit: 20000 }, 'rateLimit', /from 0.01 to 10000 deliveries per second/],
    [{ rateLimit: 'fast' }, 'rateLimit', /deliveries per second/],
    [{ permanentFailureStatuses: [200] }, 'permanentFailureStatuses.0', /from 300 to 599 \(2xx is success\)/],
    [{ permanentFailureStatuses: [410, 'gone'] }, 'permanentFailureStatuses.1', /HTTP status code/],
    [{ permanentFailureStatuses: 410 }, 'permanentFailureStatuses', /list of HTTP status codes/],
    [{ permanentFailureStatuses: Array.from({ length: 51 }, (_, i) => 400 + i) }, 'permanentFailureStatuses', /at most 50/],
  ] as [Record<string, unknown>, string, RegExp][])('when the policy is out of bounds (%#: %s), then 400 names the field and the rule', async (fields, path, message) => {
    const res = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'p.bad', url, ...fields });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path, message: expect.stringMatching(message) }]);
    const patchTarget = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'p.badpatch', url });
    const patched = await hl.http().patch(`/v1/subscriptions/${patchTarget.body.id}`).set(hl.auth).send(fields);
    expect(patched.status).toBe(400);
    expect(patched.body.errors[0].path).toBe(path);
  });

  it('when policy fields are given for a poll subscription, then they are refused as webhook-only', async () => {
    const res = await hl.http().post('/v1/subscriptions').set(hl.auth).send({ topic: 'p.poll', type: 'poll', maxInFlight: 3 });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/maxInFlight apply to webhook subscriptions only/);
  });
});
