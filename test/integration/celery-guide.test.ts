import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { backoffDelayMs, type RetryPolicy } from '../../shared/backoff.js';
import { verifyWebhook } from '../../shared/signing.js';
import { REPO_ROOT, SYSTEM_PYTHON } from '../helpers/example-receiver.js';
import { waitFor } from '../helpers/wait-for.js';
import { withBroker } from '../helpers/kit.js';

const hl = withBroker();

const exec = promisify(execFile);
const GUIDE = 'docs/coming-from-celery.md';
const SNIPPETS = path.join(REPO_ROOT, 'examples/coming-from-celery');

/** Each snippet the guide includes, and the test that runs it. */
const RUN_BY = {
  'examples/coming-from-celery/webhook_subscription.sh': 'this file',
  'examples/coming-from-celery/publish.py': 'this file',
  'examples/coming-from-celery/poll_subscription.sh': 'this file',
  'examples/coming-from-celery/poll_worker.py': 'this file',
  'examples/coming-from-celery/retry_policy.py': 'this file',
  'examples/coming-from-celery/message_state.py': 'this file',
  'examples/coming-from-celery/stream_group.py': 'this file',
  'examples/django/hooks/views.py': 'test/integration/examples-receivers.test.ts',
} as const;

let env: Record<string, string>;
beforeAll(async () => {
  env = { ...process.env, HOOKLINE_URL: hl.baseUrl, HOOKLINE_TOKEN: hl.admin } as Record<string, string>;
});

const python = (script: string, args: string[] = [], extra: Record<string, string> = {}) =>
  exec(SYSTEM_PYTHON, [script, ...args], { cwd: SNIPPETS, env: { ...env, ...extra }, timeout: 60_000 });
const shell = (script: string, extra: Record<string, string> = {}) =>
  exec('/bin/sh', [script], { cwd: SNIPPETS, env: { ...env, ...extra }, timeout: 30_000 });

async function messageOf(id: string) {
  const res = await hl.http().get(`/v1/messages/${id}`).set('authorization', `Bearer ${env.HOOKLINE_TOKEN}`);
  expect(res.status).toBe(200);
  return res.body as { settled: boolean; deliveries: { subscriptionId: string; status: string }[] };
}

describe('the guide docs/coming-from-celery.md', () => {
  it('when it is read, then every code block is a snippet file, byte for byte, and every snippet is run by a test', async () => {
    const doc = await readFile(path.join(REPO_ROOT, GUIDE), 'utf8');
    const marker = /<!-- snippet: (\S+) -->\n```[a-z]*\n([\s\S]*?)```\n<!-- \/snippet -->/g;
    const included: string[] = [];
    for (const m of doc.matchAll(marker)) {
      included.push(m[1]!);
      const file = await readFile(path.join(REPO_ROOT, m[1]!), 'utf8');
      expect({ snippet: m[1], text: m[2] }).toEqual({ snippet: m[1], text: file });
    }
    // No code block outside a marker: each fence pair belongs to one snippet.
    expect(doc.match(/^```/gm)?.length).toBe(included.length * 2);
    expect(included.sort()).toEqual(Object.keys(RUN_BY).sort());
  });
});

describe('the retry mapping (retry_policy.py)', () => {
  it("when Celery's defaults are mapped, then each retry's bound equals Hookline's backoffDelayMs bound and Celery's", async () => {
    const { stdout } = await python('retry_policy.py');
    const out = JSON.parse(stdout) as {
      retry: RetryPolicy;
      delays: { retry: number; celery_max_s: number; hookline_max_ms: number }[];
    };
    expect(out.retry).toEqual({ maxAttempts: 4, initialDelayMs: 1000, maxDelayMs: 600_000, multiplier: 2 });
    expect(out.delays.map((d) => d.retry)).toEqual([1, 2, 3]);
    for (const d of out.delays) {
      // random() = 1 gives the top of Hookline's jitter range: the bound itself.
      expect(backoffDelayMs(out.retry, d.retry, () => 1)).toBe(d.hookline_max_ms);
      expect(d.celery_max_s * 1000).toBe(d.hookline_max_ms);
    }
  });

  it('when retry_backoff=5, retry_backoff_max=60, max_retries=6, then the bounds match up to and past the cap, and Hookline accepts the policy', async () => {
    const { stdout } = await python('-c', [
      [
        'import json',
        'from retry_policy import celery_countdown_bound, hookline_retry',
        'r = hookline_retry(retry_backoff=5, retry_backoff_max=60, max_retries=6)',
        'print(json.dumps({"retry": r, "celery": [celery_countdown_bound(k, 5, 60) for k in range(6)]}))',
      ].join('\n'),
    ]);
    const { retry, celery } = JSON.parse(stdout) as { retry: RetryPolicy; celery: number[] };
    expect(celery).toEqual([5, 10, 20, 40, 60, 60]);
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(retry, n, () => 1))).toEqual(celery.map((s) => s * 1000));
    const r = await hl.receiver();
    const res = await hl
      .http()
      .post('/v1/subscriptions')
      .set('authorization', `Bearer ${env.HOOKLINE_TOKEN}`)
      .send({ topic: 'celery.retry', url: r.url, retry });
    expect(res.status).toBe(201);
    expect(res.body.retry).toEqual({ maxAttempts: 7, initialDelayMs: 5000, maxDelayMs: 60_000, multiplier: 2 });
  });
});

describe('webhook callback, publish and task state (webhook_subscription.sh, publish.py, message_state.py)', () => {
  it('when the subscription is created and a message published, then the partner gets a verifiable request and the state reads SUCCESS and FAILURE', async () => {
    const partner = await hl.receiver();
    const broken = await hl.receiver(() => ({ status: 500 }));

    const { stdout: created } = await shell('webhook_subscription.sh', { PARTNER_URL: `${partner.url}/hooks` });
    const sub = JSON.parse(created) as { id: string; secret: string; retry: RetryPolicy; timeoutMs: number; url: string };
    expect(sub).toMatchObject({
      url: `${partner.url}/hooks`,
      timeoutMs: 10_000,
      retry: { maxAttempts: 6, initialDelayMs: 1000, maxDelayMs: 600_000, multiplier: 2 },
    });
    const dead = await hl
      .http()
      .post('/v1/subscriptions')
      .set('authorization', `Bearer ${env.HOOKLINE_TOKEN}`)
      .send({ topic: 'orders.*', url: broken.url, retry: { maxAttempts: 1 } });
    expect(dead.status).toBe(201);

    const { stdout: published } = await python('publish.py', ['orders.created', '{"orderId": 1001}'], { IDEMPOTENCY_KEY: 'order-1001' });
    const id = published.trim();
    expect(id).toMatch(/^msg_/);
    const { stdout: again } = await python('publish.py', ['orders.created', '{"orderId": 1001}'], { IDEMPOTENCY_KEY: 'order-1001' });
    expect(again.trim()).toBe(id);

    const got = await waitFor(() => partner.requests.find((q) => q.headers['webhook-id'] === id), 'the partner request');
    expect(() => verifyWebhook(sub.secret, got.headers, got.body)).not.toThrow();
    expect(JSON.parse(got.body).data).toEqual({ orderId: 1001 });

    const { stdout: state } = await python('message_state.py', [id, '20']);
    expect(JSON.parse(state)).toEqual({ settled: true, states: { [sub.id]: 'SUCCESS', [dead.body.id]: 'FAILURE' } });
    expect(partner.requests.filter((q) => q.headers['webhook-id'] === id)).toHaveLength(1);
  });
});

describe('polling (poll_subscription.sh, poll_worker.py)', () => {
  it('when a worker pulls one batch, then it processes the message and acks it, and the delivery is succeeded', async () => {
    const { stdout: created } = await shell('poll_subscription.sh');
    const sub = JSON.parse(created) as { id: string; type: string; ackTimeoutMs: number; maxAttempts: number };
    expect(sub).toMatchObject({ type: 'poll', ackTimeoutMs: 60_000, maxAttempts: 4 });
    const { stdout: published } = await python('publish.py', ['reports.daily', '{"day": "2026-11-25"}']);
    const id = published.trim();

    const { stdout } = await python('poll_worker.py', [sub.id, '1']);
    expect(stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([{ processed: id, topic: 'reports.daily', attempt: 1 }]);
    const message = await messageOf(id);
    expect(message.deliveries.find((d) => d.subscriptionId === sub.id)?.status).toBe('succeeded');
  });
});

describe('Channels groups as streams (stream_group.py)', () => {
  function listen(args: string[]) {
    const child = spawn(SYSTEM_PYTHON, ['stream_group.py', ...args], { cwd: SNIPPETS, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const timer = setTimeout(() => child.kill('SIGTERM'), 30_000);
    exited.finally(() => clearTimeout(timer));
    return { child, exited, out: () => out, err: () => err };
  }

  it('when two messages go to the group, then the listener gets both, and a listener resuming after the first gets the second', async () => {
    const first = listen(['chat.room1.>', '2']);
    await waitFor(() => first.err().includes('joined chat.room1.>'), 'the listener to join');
    await python('publish.py', ['chat.room1.message', '{"text": "hello"}']);
    await python('publish.py', ['chat.room1.message', '{"text": "again"}']);
    expect(await first.exited).toBe(0);
    const events = first.out().trim().split('\n').map((l) => JSON.parse(l) as { seq: string; topic: string; data: unknown });
    expect(events.map((e) => e.data)).toEqual([{ text: 'hello' }, { text: 'again' }]);

    const resumed = listen(['chat.room1.>', '1', events[0]!.seq]);
    expect(await resumed.exited).toBe(0);
    expect(JSON.parse(resumed.out())).toEqual(events[1]);
  });
});
