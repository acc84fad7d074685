import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'puppeteer-core';
import { buildConsole } from '../../scripts/build-console.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { withBroker } from '../helpers/kit.js';
import type { Receiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The console and the portal in a real headless Chromium against a real broker, NATS and Postgres.
 * HOOKLINE_SCREENSHOTS=<dir> (npm run screenshots) also saves the pictures the README shows.
 */

const TENANT = 'acme';
const SHOTS = process.env.HOOKLINE_SCREENSHOTS;
const XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';

let tb: TestBrowser;
let ok: Receiver;
let flaky: Receiver;
let page: Page;
// Two pages that want to frame the portal: one on the allowed origin, one not.
let allowedHost: Server;
let otherHost: Server;

function framingHost(): Promise<Server> {
  const s = createServer((req, res) => {
    const src = decodeURIComponent((req.url ?? '/').slice(1));
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><iframe id="portal" src="${src}" width="800" height="400"></iframe>`);
  });
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r(s)));
}
const origin = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

// The framing hosts start first: the broker's allowed frame ancestor is one of them.
beforeAll(async () => {
  [allowedHost, otherHost] = await Promise.all([framingHost(), framingHost()]);
});
const t = withBroker(() => ({ HOOKLINE_PORTAL_FRAME_ANCESTORS: origin(allowedHost) }), { admin: { sub: 'ops', tenant: TENANT } });

async function api(method: string, path: string, body?: unknown, token = t.admin) {
  const res = await fetch(`${t.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

async function shot(name: string) {
  if (!SHOTS) return;
  await mkdir(resolve(SHOTS), { recursive: true });
  await new Promise((r) => setTimeout(r, 150));
  await page.screenshot({ path: resolve(SHOTS, `console-${name}.png`) as `${string}.png` });
}

const text = (p: Page = page) => p.evaluate(() => document.body.innerText);
const until = (what: string, p: Page = page, timeout = 15_000) =>
  p.waitForFunction((s: string) => document.body.innerText.includes(s), { timeout }, what);

async function click(selector: string, label: string, p: Page = page) {
  const el = await p.waitForSelector(`${selector}::-p-text(${label})`, { timeout: 10_000 });
  await el!.click();
}

async function fill(name: string, value: string, p: Page = page) {
  const el = await p.waitForSelector(`[name="${name}"]`);
  await el!.click({ count: 3 });
  await p.evaluate((n: string) => {
    const e = document.querySelector(`[name="${n}"]`) as HTMLInputElement;
    e.select?.();
  }, name);
  await p.keyboard.press('Backspace');
  await el!.type(value);
}

beforeAll(async () => {
  t.onClose(() => {
    allowedHost.close();
    otherHost.close();
  });
  await buildConsole();
  [tb, ok, flaky] = await Promise.all([launchBrowser(), t.receiver(), t.receiver(() => ({ status: 500, body: XSS }))]);
  t.onClose(() => tb.close());
  page = await tb.newPage({
    // The API's own 4xx answers (shown on the page as problem details) are expected; anything else is not.
    ignore: (msg, url) => /Failed to load resource: the server responded with a status of 4\d\d/.test(msg) && url.startsWith(`${t.baseUrl}/v1/`),
  });
}, 60_000);

describe('console', () => {
  it('when an operator pastes a token, then the page shows who is signed in and keeps the token out of the URL', async () => {
    await page.goto(`${t.baseUrl}/console`);
    await fill('token', 'not-a-token');
    await click('button', 'Sign in');
    await until('That is not a JWT');
    await fill('token', t.admin);
    await click('button', 'Sign in');
    const who = await page.waitForSelector('[data-testid="who"]');
    expect(await who!.evaluate((e) => (e as HTMLElement).innerText)).toMatch(/ops[\s\S]*acme[\s\S]*admin/);
    expect(await page.evaluate(() => sessionStorage.getItem('hookline.token'))).toBe(t.admin);
    expect(page.url()).not.toContain(t.admin.slice(0, 20));
  });

  it('when the address changes while the signed-in page is still starting, then the view follows it', async () => {
    // The new address is set the moment the shell is in the DOM, before its effects have run (Preact runs them
    // after the next frame): a view that only listened for later changes stayed on the overview.
    const p = await tb.newPage({ isolated: true });
    await p.evaluateOnNewDocument((token: string) => {
      sessionStorage.setItem('hookline.token', token);
      new MutationObserver((_, observer) => {
        if (!document.querySelector('[data-testid="who"]')) return;
        observer.disconnect();
        location.hash = '#/subscriptions/new';
      }).observe(document, { childList: true, subtree: true });
    }, t.admin);
    await p.goto(`${t.baseUrl}/console/#/overview`);
    await p.waitForSelector('[name="topic"]', { timeout: 5000 });
    await p.close();
  });

  it('when the operator creates a webhook subscription in the form, then it is listed and its secret shown once', async () => {
    await page.goto(`${t.baseUrl}/console/#/subscriptions/new`);
    await fill('topic', 'orders.*');
    await fill('url', 'not a url');
    await click('button', 'Create');
    await until('Must be an absolute http(s) URL');
    expect(await api('GET', '/v1/subscriptions').then((r) => r.body.items.length)).toBe(0);
    await fill('url', `${ok.url}/hooks`);
    await fill('description', 'Order events');
    await click('button', 'Create');
    await until('Subscription created');
    const secret = await page.$eval('[data-testid="secret"]', (e) => e.textContent);
    expect(secret).toMatch(/^whsec_/);
    const listed = await api('GET', '/v1/subscriptions');
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0]).toMatchObject({ topic: 'orders.*', url: `${ok.url}/hooks`, description: 'Order events' });
    await page.goto(`${t.baseUrl}/console/#/subscriptions`);
    await until('Order events');
    await shot('subscriptions');
  });

  it('when the operator publishes a test message, then its delivery is seen to succeed', async () => {
    await page.goto(`${t.baseUrl}/console/#/messages`);
    await fill('topic', 'orders.created');
    await fill('payload', '{"orderId": 7, "total": 12.5');
    await until('Not valid JSON');
    await fill('payload', '{"orderId": 7, "total": 12.5}');
    await click('button', 'Publish');
    await page.waitForFunction(() => location.hash.startsWith('#/messages/msg_'));
    await page.waitForSelector('td .status-succeeded', { timeout: 20_000 });
    await until('settled');
    await waitFor(() => ok.requests.some((r) => (JSON.parse(r.body) as { data: { orderId?: number } }).data.orderId === 7), 'the receiver got the message');
    await shot('message');
  });

  it('when a delivery fails, then its attempts show the error as text and a retry sends it again', async () => {
    const sub = await t.subscribe({ topic: 'billing.>', url: `${flaky.url}/x`, retry: { maxAttempts: 1 } });
    const pub = await api('POST', '/v1/topics/billing.invoice/messages', { invoice: 1 });
    const deadOne = await waitFor(async () => {
      const r = await api('GET', `/v1/subscriptions/${sub.id}/deliveries?status=dead`);
      return r.body.items?.[0] as { id: string } | undefined;
    }, 'a dead delivery');
    await page.goto(`${t.baseUrl}/console/#/subscriptions/${sub.id}/dead`);
    await click('a', deadOne.id);
    await until('HTTP 500');
    // The receiver's answer holds markup: it must be shown, not run.
    expect(await text()).toContain('<script>window.__pwned = 1</script>');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await shot('delivery');
    flaky.respond = () => ({ status: 200 });
    await click('button', 'Retry now');
    await waitFor(async () => (await api('GET', `/v1/deliveries/${deadOne.id}`)).body.status === 'succeeded', 'the retried delivery to succeed');
    await page.reload();
    await until('#2');
    expect(pub.status).toBe(202);
  });

  it('when another client publishes, then the live tail shows the message as it arrives', async () => {
    await page.goto(`${t.baseUrl}/console/#/tail`);
    await fill('tailPattern', 'orders.>');
    await click('button', 'Start');
    await page.waitForSelector('.live-open');
    await api('POST', '/v1/topics/orders.shipped/messages', { orderId: 99, note: XSS });
    await until('orders.shipped');
    expect(await text()).toContain('"orderId":99');
    expect(await text()).toContain('<script>window.__pwned = 1</script>');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await shot('tail');
    await click('button', 'Pause view');
    await api('POST', '/v1/topics/orders.paused/messages', { orderId: 100 });
    await until('1 waiting');
    expect(await text()).not.toContain('orders.paused');
    await click('button', 'Resume view');
    await until('orders.paused');
  });

  it('when a message payload holds a script, then the message page shows it as text', async () => {
    const pub = await api('POST', '/v1/topics/orders.created/messages', { comment: XSS });
    await page.goto(`${t.baseUrl}/console/#/messages/${pub.body.id}`);
    await until('window.__pwned = 2');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.$$eval('img[src="x"]', (els) => els.length)).toBe(0);
  });

  it('when the overview opens, then it shows deliveries by state, traffic per minute and failing subscriptions', async () => {
    await page.goto(`${t.baseUrl}/console/#/overview`);
    await until('Failing subscriptions');
    const shown = Number((await page.$eval('.stat:has(.status-succeeded) .stat-value', (e) => e.textContent))!.replace(/,/g, ''));
    const stats = await api('GET', '/v1/stats');
    // Deliveries may still succeed between the page's call and this one, never un-succeed.
    expect(shown).toBeGreaterThanOrEqual(3);
    expect(shown).toBeLessThanOrEqual(stats.body.counts.succeeded);
    expect(await page.$$eval('.chart rect', (r) => r.length)).toBeGreaterThan(0);
    await shot('overview');
  });
});

describe('portal', () => {
  let alicesOrders: string;
  let alicesPayments: string;
  let bobsOrders: string;

  beforeAll(async () => {
    const as = (sub: string) => t.token('subscribe:>', { sub, tenant: TENANT });
    alicesOrders = (await api('POST', '/v1/subscriptions', { topic: 'orders.>', url: `${ok.url}/alice`, description: 'alice orders' }, as('alice'))).body.id;
    alicesPayments = (await api('POST', '/v1/subscriptions', { topic: 'payments.>', url: `${ok.url}/alice-pay`, description: 'alice payments' }, as('alice'))).body.id;
    bobsOrders = (await api('POST', '/v1/subscriptions', { topic: 'orders.>', url: `${ok.url}/bob`, description: 'bob orders' }, as('bob'))).body.id;
    expect([alicesOrders, alicesPayments, bobsOrders].every(Boolean)).toBe(true);
  });

  async function portalLink(): Promise<string> {
    const r = await api('POST', '/v1/portal/sessions', { subject: 'alice', topics: ['orders.>'] });
    expect(r.status).toBe(201);
    return r.body.url as string;
  }

  it('when a customer opens a portal link, then it sees only its own endpoints on its patterns, and never another subject\'s', async () => {
    const url = await portalLink();
    const p = await tb.newPage({ isolated: true, ignore: (msg, u) => /status of 4\d\d/.test(msg) && u.startsWith(`${t.baseUrl}/v1/`) });
    await p.goto(url);
    await until('alice orders', p);
    // The one-time code is gone from the address bar once exchanged.
    expect(p.url()).not.toContain('code=');
    const body = await text(p);
    expect(body).not.toContain('bob orders');
    expect(body).not.toContain('alice payments');
    expect(body).not.toMatch(/Messages|Live tail|Overview/);
    page = p;
    await shot('portal');
    page = (await tb.browser.defaultBrowserContext().pages()).find((x) => x.url().includes('/console'))!;

    // Editing the URL to another subject's subscription finds nothing.
    await p.goto(`${t.baseUrl}/portal/#/subscriptions/${bobsOrders}`);
    await until('does not exist', p);
    await p.goto(`${t.baseUrl}/portal/#/subscriptions/${alicesPayments}`);
    await until('does not exist', p);

    // Neither does the API, called directly with the session's token.
    const session = (await p.evaluate(() => sessionStorage.getItem('hookline.token')))!;
    expect(session).toBeTruthy();
    const listed = await api('GET', '/v1/subscriptions', undefined, session);
    expect(listed.body.items.map((s: { id: string }) => s.id)).toEqual([alicesOrders]);
    expect((await api('GET', `/v1/subscriptions/${bobsOrders}`, undefined, session)).status).toBe(404);
    expect((await api('GET', `/v1/subscriptions/${alicesPayments}`, undefined, session)).status).toBe(404);
    expect((await api('GET', `/v1/subscriptions/${bobsOrders}/deliveries`, undefined, session)).status).toBe(404);
    expect((await api('DELETE', `/v1/subscriptions/${bobsOrders}`, undefined, session)).status).toBe(404);
    expect((await api('POST', '/v1/topics/orders.created/messages', { x: 1 }, session)).status).toBe(403);
    expect((await api('POST', '/v1/portal/sessions', { subject: 'bob', topics: ['>'] }, session)).status).toBe(403);
    expect((await api('POST', '/v1/subscriptions', { topic: 'payments.>', url: `${ok.url}/p` }, session)).status).toBe(403);
    // A message fanned out to both subjects shows the session its own delivery only.
    const pub = await api('POST', '/v1/topics/orders.created/messages', { orderId: 5 });
    const seen = await waitFor(async () => {
      const r = await api('GET', `/v1/messages/${pub.body.id}`, undefined, session);
      return r.status === 200 && r.body.deliveries.length > 0 ? r.body : undefined;
    }, 'the message with deliveries');
    expect(seen.deliveries.map((d: { subscriptionId: string }) => d.subscriptionId)).toEqual([alicesOrders]);
    await p.close();
  });

  it('when a portal link is opened a second time, then it is refused', async () => {
    const url = await portalLink();
    const code = url.split('#code=')[1];
    const first = await fetch(`${t.baseUrl}/v1/portal/exchange`, { method: 'POST', body: JSON.stringify({ code }) });
    expect(first.status).toBe(200);
    const p = await tb.newPage({ isolated: true, ignore: (msg, u) => /status of 401/.test(msg) && u.startsWith(`${t.baseUrl}/v1/`) });
    await p.goto(url);
    await until('already used', p);
    expect(await p.evaluate(() => sessionStorage.getItem('hookline.token'))).toBeNull();
    await p.close();
  });

  it('when a page on an allowed origin frames the portal, then it loads; elsewhere the browser refuses it', async () => {
    const framed = async (host: Server) => {
      const p = await tb.newPage({ isolated: true, ignore: (msg) => /frame-ancestors|Refused to display/.test(msg) });
      await p.goto(`${origin(host)}/${encodeURIComponent(`${t.baseUrl}/portal/`)}`);
      const frame = await waitFor(() => p.frames().find((f) => f !== p.mainFrame()), 'the iframe');
      const loaded = await frame
        .waitForFunction(() => document.body?.innerText.includes('Webhook endpoints'), { timeout: 2000 })
        .then(() => true, () => false);
      await p.close();
      return loaded;
    };
    expect(await framed(allowedHost)).toBe(true);
    expect(await framed(otherHost)).toBe(false);
  });
});

describe('the whole run', () => {
  it('when every page above has been used, then none logged an error or a CSP violation', () => {
    expect(tb.errors).toEqual([]);
  });
});
