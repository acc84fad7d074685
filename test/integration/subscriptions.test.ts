import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { expectProblem, postSubscription, withBroker } from '../helpers/kit.js';

/**
 * Subscription CRUD through the HTTP API, checked against the rows in the broker's own Postgres database.
 * A second broker runs without HOOKLINE_ALLOW_PRIVATE_TARGETS to show loopback targets are refused by default.
 */

const TENANT = 'acme';
const HOOK = 'http://127.0.0.1:9/hook';

const t = withBroker({}, { admin: { sub: 'ops', tenant: TENANT } });
const strict = withBroker({ HOOKLINE_ALLOW_PRIVATE_TARGETS: '' });

async function row(id: string) {
  const { rows } = await t.db.query('SELECT * FROM subscriptions WHERE id = $1', [id]);
  return rows[0] as Record<string, unknown> | undefined;
}

async function rowCount(): Promise<number> {
  const { rows } = await t.db.query('SELECT count(*)::int AS n FROM subscriptions');
  return rows[0].n as number;
}

const get = (path: string, token = t.admin) => t.http().get(path).set('authorization', `Bearer ${token}`);
const patch = (id: string, body: unknown, token = t.admin) =>
  t.http().patch(`/v1/subscriptions/${id}`).set('authorization', `Bearer ${token}`).send(body as object);
const post = (path: string, token = t.admin) => t.http().post(path).set('authorization', `Bearer ${token}`);
const del = (id: string, token = t.admin) => t.http().delete(`/v1/subscriptions/${id}`).set('authorization', `Bearer ${token}`);

/** A webhook subscription to `orders.*` at HOOK, with `body` on top. */
const created = (body: Record<string, unknown> = {}, token = t.admin) => t.subscribe({ topic: 'orders.*', url: HOOK, ...body }, token);

describe('POST /v1/subscriptions', () => {
  it('when a webhook subscription is created, then 201 with a whsec_ secret of 32 random bytes, a Location and the row in Postgres', async () => {
    const res = await postSubscription(t, t.admin, { topic: 'orders.*', url: HOOK, description: 'orders feed' });
    expect(res.status).toBe(201);
    const s = res.body;
    expect(s).toMatchObject({
      id: expect.stringMatching(/^sub_[0-9A-HJKMNP-TV-Z]{26}$/),
      topic: 'orders.*',
      type: 'webhook',
      url: HOOK,
      status: 'active',
      retry: { maxAttempts: 12, initialDelayMs: 5000, maxDelayMs: 21_600_000, multiplier: 3 },
      timeoutMs: 10_000,
      ordered: false,
      description: 'orders feed',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    expect(Buffer.from(s.secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    // The secret appears once, as `secret`; nothing else in the answer is secret material.
    const { secret: _secret, ...rest } = s;
    expect(JSON.stringify(rest)).not.toContain('whsec_');
    expect(Object.keys(rest).filter((k) => /secret/i.test(k))).toEqual([]);
    expect(res.headers.location).toBe(`/v1/subscriptions/${s.id}`);

    const r = await row(s.id);
    expect(r).toMatchObject({
      id: s.id,
      tenant: TENANT,
      owner: 'ops',
      type: 'webhook',
      topic: 'orders.*',
      url: HOOK,
      secret: s.secret,
      status: 'active',
      retry: s.retry,
      timeout_ms: 10_000,
      ordered: false,
      description: 'orders feed',
      deleted_at: null,
    });
    expect((r!.created_at as Date).toISOString()).toBe(s.createdAt);
  });

  it('when two subscriptions are created, then their secrets differ', async () => {
    const [a, b] = await Promise.all([created(), created()]);
    expect(a.secret).not.toBe(b.secret);
  });

  it('when a secret is given, then it is kept as given', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const s = await created({ secret });
    expect(s.secret).toBe(secret);
    expect((await row(s.id))!.secret).toBe(secret);
  });

  it('when options are given, then they are stored', async () => {
    const retry = { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 };
    const s = await created({ retry, timeoutMs: 2500, ordered: true });
    expect(s).toMatchObject({ retry, timeoutMs: 2500, ordered: true });
    expect(await row(s.id)).toMatchObject({ retry, timeout_ms: 2500, ordered: true });
  });

  it('when only part of retry is given, then the rest comes from the defaults', async () => {
    const s = await created({ retry: { maxAttempts: 2 } });
    expect(s.retry).toEqual({ maxAttempts: 2, initialDelayMs: 5000, maxDelayMs: 21_600_000, multiplier: 3 });
  });

  it('when a loopback URL is given, then this test broker (which allows 127.0.0.0/8) accepts it', async () => {
    expect((await postSubscription(t, t.admin, { topic: 'a.b', url: 'http://127.0.0.1:1/' })).status).toBe(201);
  });

  describe('bad input changes nothing', () => {
    it.each([
      ['an unknown field', { topic: 'orders.*', url: HOOK, colour: 'red' }, 'colour'],
      ['no topic', { url: HOOK }, 'topic'],
      ['a pattern with > before the end', { topic: 'orders.>.x', url: HOOK }, 'topic'],
      ['a pattern with an empty token', { topic: 'orders..x', url: HOOK }, 'topic'],
      ['an unknown type', { topic: 'orders.*', type: 'email', url: HOOK }, 'type'],
      ['maxAttempts 0', { topic: 'orders.*', url: HOOK, retry: { maxAttempts: 0 } }, 'retry.maxAttempts'],
      ['an unknown retry field', { topic: 'orders.*', url: HOOK, retry: { tries: 3 } }, 'tries'],
      ['a timeout below 100 ms', { topic: 'orders.*', url: HOOK, timeoutMs: 50 }, 'timeoutMs'],
      ['a url that is not a string', { topic: 'orders.*', url: 42 }, 'url'],
    ])('when the body has %s, then 400 naming the field', async (_, body, field) => {
      const count = await rowCount();
      const problem = expectProblem(await postSubscription(t, t.admin, body), 400, 'subscription.invalid');
      expect(problem.detail).toContain(field);
      expect(await rowCount()).toBe(count);
    });

    it('when an unknown field is sent, then the errors list points at it', async () => {
      const problem = expectProblem(await postSubscription(t, t.admin, { topic: 'orders.*', url: HOOK, colour: 'red' }), 400);
      expect(problem.errors).toEqual([expect.objectContaining({ message: expect.stringContaining('colour') })]);
    });

    it.each([
      ['no url for a webhook', { topic: 'orders.*' }, 'subscription.url_required'],
      ['an ftp:// url', { topic: 'orders.*', url: 'ftp://example.com/x' }, 'subscription.url_invalid'],
      ['a relative url', { topic: 'orders.*', url: '/hook' }, 'subscription.url_invalid'],
      ['credentials in the url', { topic: 'orders.*', url: 'http://u:p@127.0.0.1:9/' }, 'subscription.url_invalid'],
      ['the cloud metadata address', { topic: 'orders.*', url: 'http://169.254.169.254/latest/meta-data' }, 'subscription.url_forbidden'],
      ['a private address', { topic: 'orders.*', url: 'http://10.0.0.1/' }, 'subscription.url_forbidden'],
      ['an IPv4-mapped private address', { topic: 'orders.*', url: 'http://[::ffff:10.0.0.1]/' }, 'subscription.url_forbidden'],
      ['retry.initialDelayMs above maxDelayMs', { topic: 'orders.*', url: HOOK, retry: { initialDelayMs: 10_000, maxDelayMs: 5000 } }, 'subscription.invalid_retry'],
    ])('when the body has %s, then 400 %s', async (_, body, code) => {
      const count = await rowCount();
      expectProblem(await postSubscription(t, t.admin, body), 400, code);
      expect(await rowCount()).toBe(count);
    });

    it('when the given secret is malformed, then 400 without echoing it', async () => {
      const count = await rowCount();
      const secret = 'whsec_c2hvcnQtc2VjcmV0';
      const problem = expectProblem(await postSubscription(t, t.admin, { topic: 'orders.*', url: HOOK, secret }), 400, 'subscription.invalid');
      expect(problem.detail).toContain('secret');
      expect(JSON.stringify(problem)).not.toContain('c2hvcnQtc2VjcmV0');
      expect(await rowCount()).toBe(count);
    });

    it('when the body is malformed JSON, then 400', async () => {
      const count = await rowCount();
      expectProblem(await postSubscription(t, t.admin, '{"topic": "orders.*",'), 400, 'request.malformed_json');
      expect(await rowCount()).toBe(count);
    });

    it('when the broker allows no private targets, then a loopback URL is refused as forbidden', async () => {
      const token = strict.token('admin', { sub: 'ops', tenant: TENANT });
      expectProblem(await postSubscription(strict, token, { topic: 'orders.*', url: 'http://127.0.0.1:1/' }), 400, 'subscription.url_forbidden');
      expectProblem(await postSubscription(strict, token, { topic: 'orders.*', url: 'http://localhost:1/' }), 400, 'subscription.url_forbidden');
      expectProblem(await postSubscription(strict, token, { topic: 'orders.*', url: 'http://[::1]:1/' }), 400, 'subscription.url_forbidden');
      const list = await strict.http().get('/v1/subscriptions').set('authorization', `Bearer ${token}`);
      expect(list.body.items).toEqual([]);
    });
  });
});

describe('GET /v1/subscriptions', () => {
  it('when read by id, then the subscription comes back without its secret', async () => {
    const s = await created();
    const res = await get(`/v1/subscriptions/${s.id}`);
    expect(res.status).toBe(200);
    const { secret: _secret, ...rest } = s;
    expect(res.body).toEqual(rest);
    expect(res.body).not.toHaveProperty('secret');
    expect(res.text).not.toContain(s.secret);
    expect(res.text).not.toContain(s.secret.slice('whsec_'.length));
  });

  it('when listed, then no item carries a secret', async () => {
    const s = await created();
    const res = await get('/v1/subscriptions?limit=200');
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
    expect(res.body.items.map((i: { id: string }) => i.id)).toContain(s.id);
    for (const item of res.body.items) expect(item).not.toHaveProperty('secret');
    expect(res.text).not.toContain('whsec_');
  });

  it('when five subscriptions are paged two at a time, then next leads through all five exactly once, in creation order', async () => {
    const token = t.token('subscribe:paging.>', { sub: 'pager', tenant: TENANT });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await created({ topic: `paging.t${i}` }, token)).id);

    const seen: string[] = [];
    const sizes: number[] = [];
    let path = '/v1/subscriptions?limit=2';
    for (let page = 0; page < 10; page++) {
      const res = await get(path, token);
      expect(res.status).toBe(200);
      sizes.push(res.body.items.length);
      seen.push(...res.body.items.map((i: { id: string }) => i.id));
      if (res.body.next === null) break;
      expect(typeof res.body.next).toBe('string');
      path = `/v1/subscriptions?limit=2&cursor=${encodeURIComponent(res.body.next)}`;
    }
    expect(seen).toEqual(ids);
    expect(sizes).toEqual([2, 2, 1]);
  });

  it('when exactly one page holds everything, then next is null', async () => {
    const token = t.token('subscribe:single.>', { sub: 'single', tenant: TENANT });
    await created({ topic: 'single.x' }, token);
    const res = await get('/v1/subscriptions?limit=1', token);
    expect(res.body.items).toHaveLength(1);
    expect(res.body.next).toBeNull();
  });

  it.each([
    ['not base64 JSON', 'not-a-cursor'],
    ['JSON of the wrong shape', Buffer.from('{"a":1}').toString('base64url')],
    ['a date Postgres cannot read', Buffer.from('["1","sub_x"]').toString('base64url')],
    ['a day that does not exist', Buffer.from('["2020-02-30T00:00:00.000Z","sub_x"]').toString('base64url')],
  ])('when the cursor is %s, then 400', async (_, cursor) => {
    expectProblem(await get(`/v1/subscriptions?cursor=${encodeURIComponent(cursor)}`), 400, 'request.invalid_cursor');
  });

  it.each([['0'], ['201'], ['x']])('when limit is %s, then 400', async (limit) => {
    expectProblem(await get(`/v1/subscriptions?limit=${limit}`), 400, 'request.invalid_limit');
  });

  it('when the id does not exist, then 404 problem', async () => {
    expectProblem(await get('/v1/subscriptions/sub_01HK153X000000000000000000'), 404, 'subscription.not_found');
  });
});

describe('PATCH /v1/subscriptions/:id', () => {
  it('when url, retry and description change, then the answer and the row show them and the rest of retry is kept', async () => {
    const s = await created({ description: 'before', retry: { maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 } });
    const res = await patch(s.id, { url: 'http://127.0.0.1:10/new', retry: { maxAttempts: 9 }, description: 'after' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: s.id,
      url: 'http://127.0.0.1:10/new',
      retry: { maxAttempts: 9, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 },
      description: 'after',
      topic: 'orders.*',
      status: 'active',
    });
    expect(res.body).not.toHaveProperty('secret');
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(s.updatedAt as string));
    expect(await row(s.id)).toMatchObject({
      url: 'http://127.0.0.1:10/new',
      retry: { maxAttempts: 9, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 },
      description: 'after',
      secret: s.secret,
    });
  });

  it('when description is set to null, then it is cleared', async () => {
    const s = await created({ description: 'temporary' });
    const res = await patch(s.id, { description: null });
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('description');
    expect((await row(s.id))!.description).toBeNull();
  });

  it.each([
    ['an unknown field', { colour: 'red' }, 'subscription.invalid'],
    ['a forbidden url', { url: 'http://169.254.169.254/' }, 'subscription.url_forbidden'],
    ['an ftp url', { url: 'ftp://example.com/' }, 'subscription.url_invalid'],
    ['retry.initialDelayMs above the kept maxDelayMs', { retry: { initialDelayMs: 2000 } }, 'subscription.invalid_retry'],
    ['a bad pattern', { topic: 'orders.>.x' }, 'subscription.invalid'],
    ['the secret (which only rotate changes)', { secret: `whsec_${randomBytes(32).toString('base64')}` }, 'subscription.invalid'],
  ])('when the patch has %s, then 400 and the row is unchanged', async (_, body, code) => {
    const s = await created({ retry: { maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 } });
    const before = await row(s.id);
    expectProblem(await patch(s.id, body), 400, code);
    expect(await row(s.id)).toEqual(before);
  });

  it('when the subscription does not exist, then 404', async () => {
    expectProblem(await patch('sub_01HK153X000000000000000000', { description: 'x' }), 404, 'subscription.not_found');
  });
});

describe('DELETE /v1/subscriptions/:id', () => {
  it('when deleted, then 204, then reading it is 404, the list no longer shows it and deleting again is 404', async () => {
    const s = await created();
    const res = await del(s.id);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expectProblem(await get(`/v1/subscriptions/${s.id}`), 404, 'subscription.not_found');
    const list = await get('/v1/subscriptions?limit=200');
    expect(list.body.items.map((i: { id: string }) => i.id)).not.toContain(s.id);
    expectProblem(await del(s.id), 404);
    expectProblem(await patch(s.id, { description: 'x' }), 404);
    expect((await row(s.id))!.deleted_at).toBeInstanceOf(Date);
  });
});

describe('pause, resume and rotate-secret', () => {
  it('when paused and resumed, then 200 with the status, and the row follows', async () => {
    const s = await created();
    const paused = await post(`/v1/subscriptions/${s.id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ id: s.id, status: 'paused' });
    expect((await row(s.id))!.status).toBe('paused');
    expect((await get(`/v1/subscriptions/${s.id}`)).body.status).toBe('paused');

    const resumed = await post(`/v1/subscriptions/${s.id}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ id: s.id, status: 'active' });
    expect((await row(s.id))!.status).toBe('active');
  });

  it('when the secret is rotated, then 200 with a new secret, and the old one keeps signing for 24 h', async () => {
    const s = await created();
    const res = await post(`/v1/subscriptions/${s.id}/rotate-secret`);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(s.id);
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(res.body.secret).not.toBe(s.secret);
    const expires = Date.parse(res.body.previousSecretExpiresAt);
    expect(Math.abs(expires - (Date.now() + 24 * 3600_000))).toBeLessThan(60_000);

    const r = await row(s.id);
    expect(r).toMatchObject({ secret: res.body.secret, previous_secret: s.secret });
    expect((r!.previous_secret_expires_at as Date).getTime()).toBe(expires);
    const read = await get(`/v1/subscriptions/${s.id}`);
    expect(read.text).not.toContain(res.body.secret);
    expect(read.text).not.toContain(s.secret);
  });

  it.each([['pause'], ['resume'], ['rotate-secret']])('when %s targets a missing subscription, then 404', async (action) => {
    expectProblem(await post(`/v1/subscriptions/sub_01HK153X000000000000000000/${action}`), 404, 'subscription.not_found');
  });
});
