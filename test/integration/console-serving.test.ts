import { beforeAll, describe, expect, it } from '@jest/globals';
import { buildConsole } from '../../scripts/build-console.js';
import { withBroker } from '../helpers/kit.js';

/** How the api serves the console and the portal, and how it hands out portal links. */

const FRAMER = 'https://app.example.com';

beforeAll(async () => {
  await buildConsole();
});
const t = withBroker({ HOOKLINE_PORTAL_FRAME_ANCESTORS: FRAMER });

describe('serving the pages', () => {
  it('when /console is fetched, then it answers the page under a strict CSP that allows no framing', async () => {
    expect((await t.http().get('/console')).headers.location).toBe('/console/');
    const res = await t.http().get('/console/');
    expect(res.status).toBe(200);
    expect(res.text).toContain('<script type="module" src="app.js">');
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    const js = await t.http().get('/console/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.headers['x-content-type-options']).toBe('nosniff');
  });

  it('when /portal is fetched, then only the configured origins may frame it', async () => {
    const res = await t.http().get('/portal/');
    expect(res.status).toBe(200);
    expect(res.headers['content-security-policy']).toContain(`frame-ancestors ${FRAMER}`);
    expect(res.headers['x-frame-options']).toBeUndefined();
  });

  it('when a file that does not exist is asked for, then it is a 404 problem, not the page', async () => {
    const res = await t.http().get('/console/nope.js');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('POST /v1/portal/sessions', () => {
  const admin = () => t.token('admin', { sub: 'ops', tenant: 'acme' });
  const create = (body: unknown, token = admin()) =>
    t.http().post('/v1/portal/sessions').set('authorization', `Bearer ${token}`).send(body as object);

  it('when the caller is not admin, then it is refused', async () => {
    const res = await create({ subject: 'c1', topics: ['orders.>'] }, t.token('subscribe:> publish:>', { tenant: 'acme' }));
    expect(res.status).toBe(403);
  });

  it('when the topics are not patterns or missing, then it is a 400 naming the field and no link exists', async () => {
    const bad = await create({ subject: 'c1', topics: ['orders..x'] });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toContain('topics.0');
    expect((await create({ subject: 'c1', topics: [] })).status).toBe(400);
    expect((await create({ subject: 'c1' })).status).toBe(400);
  });

  it('when an admin asks for another tenant, then it is refused', async () => {
    expect((await create({ tenant: 'other', subject: 'c1', topics: ['>'] })).status).toBe(403);
  });

  it('when a link is exchanged, then the session token subscribes only to its topics and cannot publish; a second exchange fails', async () => {
    const link = await create({ subject: 'c1', topics: ['orders.>'], sessionTtl: 120 });
    expect(link.status).toBe(201);
    expect(link.body.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/portal\/#code=[A-Za-z0-9_-]{43}$/);
    const code = link.body.url.split('#code=')[1];
    const session = await t.http().post('/v1/portal/exchange').send({ code });
    expect(session.status).toBe(200);
    expect(session.headers['cache-control']).toBe('no-store');
    expect(session.body).toMatchObject({ tenant: 'acme', subject: 'c1', topics: ['orders.>'] });
    const auth = `Bearer ${session.body.token}`;
    expect((await t.http().post('/v1/topics/orders.x/messages').set('authorization', auth).send({ a: 1 })).status).toBe(403);
    expect((await t.http().get('/v1/tenant/settings').set('authorization', auth).send()).status).not.toBe(500);
    expect((await t.http().patch('/v1/tenant/settings').set('authorization', auth).send({ verifyEndpoints: true })).status).toBe(403);
    expect((await t.http().post('/v1/portal/exchange').send({ code })).status).toBe(401);
    expect((await t.http().post('/v1/portal/exchange').send({ code: 'x'.repeat(43) })).status).toBe(401);
  });

  it("when a portal session reads a message, then it sees the deliveries of its subject's subscriptions on its topics only", async () => {
    const subject = t.token('subscribe:> publish:>', { sub: 'c2', tenant: 'acme' });
    const other = t.token('subscribe:>', { sub: 'c3', tenant: 'acme' });
    const inPortal = await t.subscribe({ topic: 'orders.*', type: 'poll' }, subject);
    await t.subscribe({ topic: '>', type: 'poll' }, subject);
    await t.subscribe({ topic: 'orders.*', type: 'poll' }, other);
    const { id } = await t.publish('orders.read', { n: 1 }, admin());
    await t.routed(id);
    const read = async (token: string) => {
      const res = await t.http().get(`/v1/messages/${id}`).set('authorization', `Bearer ${token}`);
      expect(res.status).toBe(200);
      return (res.body.deliveries as { subscriptionId: string }[]).map((d) => d.subscriptionId);
    };
    expect(await read(admin())).toHaveLength(3);
    const link = await create({ subject: 'c2', topics: ['orders.>'] });
    const session = await t.http().post('/v1/portal/exchange').send({ code: link.body.url.split('#code=')[1] });
    expect(await read(session.body.token)).toEqual([inPortal.id]);
  });
});
