import { beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateSecret, secretKey, signatureHeader } from '../../shared/signing.js';
import {
  REPO_ROOT,
  SYSTEM_PYTHON,
  requireDjango,
  runPython,
  startExampleReceiver,
  type ExampleReceiver,
} from '../helpers/example-receiver.js';
import { waitFor } from '../helpers/wait-for.js';
import { withBroker } from '../helpers/kit.js';

const hl = withBroker();
let tmp: string;
const running: ExampleReceiver[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'hookline-examples-'));
  hl.onClose(async () => {
    await Promise.all(running.map((r) => r.stop()));
    await rm(tmp, { recursive: true, force: true });
  });
});

interface ReceiverKind {
  name: string;
  slug: string;
  /** Runs once before the first start (Django: check it is installed, create the tables). */
  prepare?: (env: Record<string, string>) => Promise<void>;
  start: (env: Record<string, string>) => Promise<ExampleReceiver>;
}

const kinds: ReceiverKind[] = [
  {
    name: 'Express (TypeScript, tsx)',
    slug: 'express',
    start: (env) =>
      startExampleReceiver(process.execPath, () => ['--import', 'tsx', 'examples/express/receiver.ts'], {
        cwd: REPO_ROOT,
        env,
      }),
  },
  {
    name: 'Python standard library (wsgiref + verify.py)',
    slug: 'python',
    start: (env) =>
      startExampleReceiver(SYSTEM_PYTHON, () => ['receiver.py'], { cwd: path.join(REPO_ROOT, 'examples/python'), env }),
  },
  {
    name: "Django (Debian's python3-django, runserver)",
    slug: 'django',
    async prepare(env) {
      await requireDjango();
      await runPython(['manage.py', 'migrate', '-v0'], path.join(REPO_ROOT, 'examples/django'), env);
    },
    start: (env) =>
      startExampleReceiver(SYSTEM_PYTHON, (port) => ['manage.py', 'runserver', `127.0.0.1:${port}`, '--noreload'], {
        cwd: path.join(REPO_ROOT, 'examples/django'),
        env,
      }),
  },
];

const api = () => ({
  post: (p: string) => hl.http().post(p).set(hl.auth),
  get: (p: string) => hl.http().get(p).set(hl.auth),
  patch: (p: string) => hl.http().patch(p).set(hl.auth),
});

interface Delivery {
  id: string;
  subscriptionId: string;
  status: string;
  attemptCount: number;
  lastStatusCode?: number;
}

async function settledDelivery(messageId: string, subscriptionId: string, attempts: number): Promise<Delivery> {
  return waitFor(async () => {
    const res = await api().get(`/v1/messages/${messageId}`);
    const d = (res.body.deliveries as Delivery[] | undefined)?.find((x) => x.subscriptionId === subscriptionId);
    return d && d.attemptCount >= attempts && (d.status === 'succeeded' || d.status === 'dead') ? d : undefined;
  }, `delivery of ${messageId} settled after ${attempts} attempt(s)`);
}

/** A request signed as Hookline signs, with the timestamp, id, body and secret the test chooses. */
async function sendSigned(
  url: string,
  opts: { secrets: string[]; id: string; body: string; sentBody?: string; timestampSec?: number },
) {
  const ts = opts.timestampSec ?? Math.floor(Date.now() / 1000);
  const res = await fetch(`${url}/hooks`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': opts.id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signatureHeader(opts.secrets.map(secretKey), opts.id, ts, opts.body),
    },
    body: opts.sentBody ?? opts.body,
  });
  return { status: res.status, text: await res.text() };
}

const eventBody = (id: string, topic: string) =>
  JSON.stringify({ id, topic, publishedAt: new Date().toISOString(), data: { crafted: true } });

const count = (r: ExampleReceiver, event: string, id: string) => r.events.filter((e) => e.event === event && e.id === id).length;

describe.each(kinds)('the $name receiver in examples/', (kind) => {
  let receiver: ExampleReceiver;
  let secret: string;
  let sub: { id: string };
  let firstMessage: string;
  const env: Record<string, string> = {};
  const topic = (leaf: string) => `examples.${kind.slug}.${leaf}`;

  beforeAll(async () => {
    env.HOOKS_DATABASE = path.join(tmp, `${kind.slug}.sqlite3`);
    await kind.prepare?.(env);
    secret = generateSecret();
    receiver = await kind.start({ ...env, HOOKLINE_SECRET: secret });
    running.push(receiver);
    sub = await hl.subscribe({ topic: topic('orders.*'), url: `${receiver.url}/hooks`, secret, retry: { maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 200, multiplier: 2 } });
  });

  it('when Hookline delivers a message, then the receiver verifies it, answers 2xx and processes it once', async () => {
    firstMessage = (await hl.publish(topic('orders.created'), { orderId: 1 })).id;
    const d = await settledDelivery(firstMessage, sub.id, 1);
    expect(d.status).toBe('succeeded');
    expect(d.lastStatusCode).toBe(202);
    await waitFor(() => count(receiver, 'processed', firstMessage) === 1, 'the receiver to process the message');
    const processed = receiver.events.find((e) => e.event === 'processed' && e.id === firstMessage);
    expect(processed).toMatchObject({ topic: topic('orders.created'), data: { orderId: 1 } });
  });

  it('when Hookline delivers the same webhook-id again, then the receiver answers 2xx and does not process it twice', async () => {
    const first = (await api().get(`/v1/messages/${firstMessage}`)).body.deliveries[0] as Delivery;
    const retried = await api().post(`/v1/deliveries/${first.id}/retry`);
    expect(retried.status).toBe(202);
    const d = await settledDelivery(firstMessage, sub.id, 2);
    expect(d).toMatchObject({ status: 'succeeded', attemptCount: 2, lastStatusCode: 200 });
    await waitFor(() => count(receiver, 'duplicate', firstMessage) === 1, 'the receiver to report the duplicate');
    expect(count(receiver, 'processed', firstMessage)).toBe(1);
  });

  it('when Hookline signs with a secret the receiver does not hold, then every attempt is answered 401 and nothing is processed', async () => {
    const foreign = await hl.subscribe({ topic: topic('foreign.*'), url: `${receiver.url}/hooks`, retry: { maxAttempts: 1 } });
    const id = (await hl.publish(topic('foreign.created'), { orderId: 2 })).id;
    const d = await settledDelivery(id, foreign.id, 1);
    expect(d).toMatchObject({ status: 'dead', lastStatusCode: 401 });
    await waitFor(() => receiver.events.some((e) => e.event === 'rejected' && e.reason === 'no_matching_signature'), 'the rejection');
    expect(count(receiver, 'processed', id)).toBe(0);
  });

  it('when the body differs from the signed one by a byte, then 401 and nothing is processed', async () => {
    const body = eventBody('msg_altered', topic('orders.created'));
    const res = await sendSigned(receiver.url, { secrets: [secret], id: 'msg_altered', body, sentBody: body.replace('true', 'false') });
    expect(res).toEqual({ status: 401, text: 'no_matching_signature' });
    expect(count(receiver, 'processed', 'msg_altered')).toBe(0);
  });

  it.each([
    ['ten minutes old', -600],
    ['ten minutes ahead', 600],
  ])('when the timestamp is %s, then 401 though the signature is valid, and nothing is processed', async (_, skewSec) => {
    const id = `msg_skew${skewSec}`;
    const res = await sendSigned(receiver.url, {
      secrets: [secret],
      id,
      body: eventBody(id, topic('orders.created')),
      timestampSec: Math.floor(Date.now() / 1000) + skewSec,
    });
    expect(res).toEqual({ status: 401, text: 'timestamp_out_of_range' });
    expect(count(receiver, 'processed', id)).toBe(0);
  });

  it('when the secret is rotated, then the receiver with the old secret accepts the two-signature delivery, and one configured with new and old accepts both', async () => {
    const rotated = await api().post(`/v1/subscriptions/${sub.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const next = rotated.body.secret as string;

    // Hookline now signs with the new secret first and the old one second: the old receiver must look past the first.
    const during = (await hl.publish(topic('orders.created'), { orderId: 3 })).id;
    expect(await settledDelivery(during, sub.id, 1)).toMatchObject({ status: 'succeeded', lastStatusCode: 202 });
    await waitFor(() => count(receiver, 'processed', during) === 1, 'the old receiver to process the rotated delivery');
    expect((await sendSigned(receiver.url, { secrets: [next], id: 'msg_new_only', body: eventBody('msg_new_only', 'x') })).status).toBe(401);

    // The switch: the receiver gets "new old" in HOOKLINE_SECRET, so senders still on either secret verify.
    const switched = await kind.start({ ...env, HOOKLINE_SECRET: `${next} ${secret}` });
    running.push(switched);
    expect((await api().patch(`/v1/subscriptions/${sub.id}`).send({ url: `${switched.url}/hooks` })).status).toBe(200);
    const after = (await hl.publish(topic('orders.created'), { orderId: 4 })).id;
    expect(await settledDelivery(after, sub.id, 1)).toMatchObject({ status: 'succeeded', lastStatusCode: 202 });
    await waitFor(() => count(switched, 'processed', after) === 1, 'the switched receiver to process the delivery');
    const oldOnly = await sendSigned(switched.url, { secrets: [secret], id: 'msg_old_only', body: eventBody('msg_old_only', topic('orders.x')) });
    expect(oldOnly.status).toBe(202);
    await waitFor(() => count(switched, 'processed', 'msg_old_only') === 1, 'the request signed with the old secret to be processed');
  });
});

describe('the Python standard-library verifier', () => {
  it("when its unittest suite runs with the system Python, then every test passes", async () => {
    const { stderr } = await runPython(['-m', 'unittest', 'discover', '-s', '.', '-p', 'test_*.py'], path.join(REPO_ROOT, 'examples/python'));
    expect(stderr).toMatch(/Ran (\d+) tests[\s\S]*\nOK\s*$/);
    expect(Number(/Ran (\d+) tests/.exec(stderr)![1])).toBeGreaterThanOrEqual(10);
  });

  it('when the Django example vendors verify.py, then its copy is byte-identical to examples/python/verify.py', async () => {
    const [original, copy] = await Promise.all([
      readFile(path.join(REPO_ROOT, 'examples/python/verify.py')),
      readFile(path.join(REPO_ROOT, 'examples/django/hooks/verify.py')),
    ]);
    expect(copy.equals(original)).toBe(true);
  });
});

describe('the Django receiver after a crash', () => {
  it('when it starts with events it accepted but never processed, then it processes those, and only those, at start', async () => {
    await requireDjango();
    const cwd = path.join(REPO_ROOT, 'examples/django');
    const dbEnv = { HOOKS_DATABASE: path.join(tmp, 'django-crash.sqlite3') };
    await runPython(['manage.py', 'migrate', '-v0'], cwd, dbEnv);
    // What a crash between the request's commit and the worker leaves behind, beside an event already done.
    await runPython(
      [
        '-c',
        [
          'import os, sqlite3',
          'db = sqlite3.connect(os.environ["HOOKS_DATABASE"])',
          'db.execute("INSERT INTO hooks_processedwebhook VALUES (?, ?, ?, ?, ?)", ("msg_orphan", "orders.created", "{\\"n\\": 1}", "2026-11-25 12:00:00", None))',
          'db.execute("INSERT INTO hooks_processedwebhook VALUES (?, ?, ?, ?, ?)", ("msg_done", "orders.created", "{\\"n\\": 2}", "2026-11-25 12:00:00", "2026-11-25 12:00:01"))',
          'db.commit()',
        ].join('\n'),
      ],
      cwd,
      dbEnv,
    );
    const receiver = await startExampleReceiver(SYSTEM_PYTHON, (port) => ['manage.py', 'runserver', `127.0.0.1:${port}`, '--noreload'], {
      cwd,
      env: { ...dbEnv, HOOKLINE_SECRET: generateSecret() },
    });
    running.push(receiver);
    await waitFor(() => count(receiver, 'processed', 'msg_orphan') === 1, 'the orphaned event to be processed');
    expect(receiver.events.find((e) => e.id === 'msg_orphan')).toMatchObject({ topic: 'orders.created', data: { n: 1 } });
    expect(count(receiver, 'processed', 'msg_done')).toBe(0);
  });
});
