/**
 * The shared test kit: one broker per test file (`withBroker`) and the requests every suite makes
 * (publish, subscribe, receivers that close themselves, problem documents), so a suite states only
 * what it checks.
 */
import { afterAll, beforeAll, expect } from '@jest/globals';
import pg from 'pg';
import type { DestinationStream } from 'pino';
import type { Config } from '../../shared/config.js';
import type { Response } from 'supertest';
import { startReceiver, type Received, type Receiver, type Reply } from './receiver.js';
import { startTestBroker, type TestBroker } from './test-broker.js';
import { waitFor } from './wait-for.js';

export { freePort } from './broker-process.js';

/** The authorization header for `token`. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** What a 202 from the publish route carries. */
export interface Published {
  id: string;
  publishedAt: string;
}

/** A created subscription as the API returns it (the secret only on creation of a webhook). */
export type CreatedSubscription = Record<string, unknown> & { id: string; secret: string };

/** What the request helpers need of a broker: a kit broker, a `TestBroker` or a replica. */
export type Api = Pick<TestBroker, 'http'>;

/**
 * Sends `body` as JSON (a string or a Buffer is sent as it is): the raw request, for tests of what is refused.
 */
function sendJson(req: ReturnType<ReturnType<TestBroker['http']>['post']>, body: unknown, contentType = 'application/json') {
  req.set('content-type', contentType);
  // Under a JSON content type superagent would JSON-encode a Buffer; its bytes (a compressed body) go as they are.
  if (Buffer.isBuffer(body)) return req.serialize((bytes: Buffer) => bytes as unknown as string).send(body);
  return req.send(typeof body === 'string' ? body : JSON.stringify(body));
}

/** POST /v1/topics/{topic}/messages as `token`, unchecked. */
export function postMessage(broker: Api, token: string, topic: string, body: unknown, contentType?: string) {
  return sendJson(broker.http().post(`/v1/topics/${encodeURIComponent(topic)}/messages`).set(bearer(token)), body, contentType);
}

/** POST /v1/topics/{topic}/batch as `token`, unchecked. */
export function postBatch(broker: Api, token: string, topic: string, body: unknown, contentType?: string) {
  return sendJson(broker.http().post(`/v1/topics/${encodeURIComponent(topic)}/batch`).set(bearer(token)), body, contentType);
}

/** POST /v1/subscriptions as `token`, unchecked. */
export function postSubscription(broker: Api, token: string, body: unknown) {
  return sendJson(broker.http().post('/v1/subscriptions').set(bearer(token)), body);
}

/** Publishes `data` (any JSON value, a string too) as one message and expects the 202. */
export async function publish(broker: Api, token: string, topic: string, data: unknown): Promise<Published> {
  const res = await postMessage(broker, token, topic, JSON.stringify(data));
  expect(res.status).toBe(202);
  return res.body as Published;
}

/** Publishes a batch (`count` messages `{i}`, or the messages given) and expects the 202; the ids in order. */
export async function publishBatch(broker: Api, token: string, topic: string, messages: number | unknown[]): Promise<string[]> {
  const list = typeof messages === 'number' ? Array.from({ length: messages }, (_, i) => ({ i })) : messages;
  const res = await postBatch(broker, token, topic, { messages: list });
  expect(res.status).toBe(202);
  return res.body.ids as string[];
}

/** Creates a subscription and expects the 201. */
export async function subscribe(broker: Api, token: string, body: Record<string, unknown>): Promise<CreatedSubscription> {
  const res = await postSubscription(broker, token, body);
  expect(res.status).toBe(201);
  return res.body as CreatedSubscription;
}

/** An RFC 9457 problem document with this status (and code): the body, parsed. */
export function expectProblem(res: Response, status: number, code?: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(body).toMatchObject({
    type: expect.stringMatching(/^https:\/\/\S+$/),
    title: expect.any(String),
    status,
    detail: expect.any(String),
  });
  expect((body.detail as string).length).toBeGreaterThan(0);
  if (code) expect(body.code).toBe(code);
  return body as Record<string, unknown> & { detail: string; code: string; errors?: Record<string, unknown>[] };
}

/**
 * Receivers started through `receiver()` close after the file: for suites that start no broker of their own
 * through `withBroker` (those get `hl.receiver`).
 */
export function withReceivers(): (respond?: (r: Received) => Reply) => Promise<Receiver> {
  const started: Receiver[] = [];
  afterAll(async () => {
    await Promise.all(started.map((r) => r.close()));
  });
  return async (respond) => {
    const r = await startReceiver(respond);
    started.push(r);
    return r;
  };
}

/** A receiver and the most requests it was answering at once. */
export interface TrackingReceiver {
  r: Receiver;
  stats: { maxActive: number };
}

/** Answers `answer(request)` after `delayMs`, counting how many requests it holds at once. */
export async function startTrackingReceiver(
  answer: (r: Received) => number = () => 200,
  delayMs = 0,
  start: (respond: (r: Received) => Reply) => Promise<Receiver> = startReceiver,
): Promise<TrackingReceiver> {
  let active = 0;
  const stats = { maxActive: 0 };
  const r = await start((req) => {
    active++;
    stats.maxActive = Math.max(stats.maxActive, active);
    setTimeout(() => active--, delayMs);
    return { status: answer(req), delayMs };
  });
  return { r, stats };
}

/**
 * Another broker on the kit broker's database, stream prefix and secret: a replica. It has no `close`, as
 * dropping the database and streams is the kit broker's to do; the kit stops it before closing that broker.
 */
export type Replica = Omit<TestBroker, 'close'>;

/** Options of `withBroker`. */
export interface BrokerKitOptions {
  /** Receives the broker's log lines (set LOG_LEVEL in `env` to see them). */
  logDestination?: DestinationStream;
  /** Settings applied after validation (see `startTestBroker`). */
  config?: Partial<Config>;
  /** Claims of the kit's admin token. @default { sub: 'tester' }, no tenant (the default one) */
  admin?: { sub?: string; tenant?: string };
}

/**
 * The broker of one test file, usable like a `TestBroker` once `beforeAll` has run, plus what most suites
 * need of it: an admin token, a pool on its database, receivers, replicas, checked publish and subscribe.
 */
export interface BrokerKit extends TestBroker {
  /** An admin token (claims as `options.admin` says). */
  readonly admin: string;
  /** `{ authorization: 'Bearer <admin>' }` */
  readonly auth: { authorization: string };
  /** A small pool on the broker's database, opened on first use and closed after the file. */
  readonly db: pg.Pool;
  /** A webhook target on 127.0.0.1 answering as `respond` says; closed after the file. */
  receiver(respond?: (r: Received) => Reply): Promise<Receiver>;
  /** A receiver that counts the requests it holds at once; closed after the file. */
  trackingReceiver(answer?: (r: Received) => number, delayMs?: number): Promise<TrackingReceiver>;
  /** Publishes as the admin (or `token`) and expects the 202. */
  publish(topic: string, data: unknown, token?: string): Promise<Published>;
  /** Publishes a batch as the admin (or `token`) and expects the 202; the ids in order. */
  publishBatch(topic: string, messages: number | unknown[], token?: string): Promise<string[]>;
  /** Creates a subscription as the admin (or `token`) and expects the 201. */
  subscribe(body: Record<string, unknown>, token?: string): Promise<CreatedSubscription>;
  /** Resolves once the router has recorded the message (it fans out in the same statement). */
  routed(messageId: string): Promise<void>;
  /**
   * Starts a replica with `env` as its only overrides (the kit broker's `env` is not inherited: repeat what must
   * match, such as quotas), e.g. `{ HOOKLINE_ROLES: 'api' }`, for what must hold across replicas. After `stop()`
   * it is a restart: the broker's database and streams outlive the stop, and what this returns serves them (the
   * kit's own requests still go to the stopped broker). Stopped after the file (or block), before the broker.
   */
  replica(env?: Record<string, string>): Promise<Replica>;
  /** Runs `close` after the file, before the broker stops (last registered, first run). */
  onClose(close: () => Promise<unknown> | unknown): void;
}

/**
 * Starts a broker for this test file (or `describe` block) in `beforeAll` and, in `afterAll`, closes what was
 * opened through the kit, then the broker (dropping its database and streams). `env` overrides configuration;
 * as a function it is read in `beforeAll`, for values an earlier hook sets up (a collector's URL, say).
 */
export function withBroker(env: Record<string, string> | (() => Record<string, string>) = {}, options: BrokerKitOptions = {}): BrokerKit {
  let current: TestBroker | undefined;
  let admin = '';
  let pool: pg.Pool | undefined;
  const receivers: Receiver[] = [];
  const closers: (() => Promise<unknown> | unknown)[] = [];

  beforeAll(async () => {
    current = await startTestBroker(typeof env === 'function' ? env() : env, { logDestination: options.logDestination, config: options.config });
    admin = current.token('admin', options.admin ?? {});
  });

  afterAll(async () => {
    // Every step runs even when one before it fails, so a failed clean-up never leaves the broker running or
    // its database and streams behind; the first failure is reported once all is closed.
    const failures: unknown[] = [];
    const attempt = async (step: () => Promise<unknown> | unknown) => {
      try {
        await step();
      } catch (err) {
        failures.push(err);
      }
    };
    await Promise.all(receivers.map((r) => attempt(() => r.close())));
    for (const close of closers.reverse()) await attempt(close);
    await attempt(() => pool?.end());
    await attempt(() => current?.close());
    if (failures.length) throw failures[0];
  });

  const hl = (): TestBroker => {
    if (!current) throw new Error('the broker starts in beforeAll: use it inside a hook or test');
    return current;
  };
  const db = () => (pool ??= new pg.Pool({ connectionString: hl().databaseUrl, max: 2 }));
  const receiver = async (respond?: (r: Received) => Reply) => {
    const r = await startReceiver(respond);
    receivers.push(r);
    return r;
  };

  return {
    get broker() {
      return hl().broker;
    },
    get baseUrl() {
      return hl().baseUrl;
    },
    get database() {
      return hl().database;
    },
    get databaseUrl() {
      return hl().databaseUrl;
    },
    get prefix() {
      return hl().prefix;
    },
    get secret() {
      return hl().secret;
    },
    http: () => hl().http(),
    token: (scope, claims) => hl().token(scope, claims),
    stop: () => hl().stop(),
    close: () => hl().close(),
    get admin() {
      hl();
      return admin;
    },
    get auth() {
      hl();
      return bearer(admin);
    },
    get db() {
      return db();
    },
    receiver,
    trackingReceiver: (answer, delayMs) => startTrackingReceiver(answer, delayMs, receiver),
    publish: (topic, data, token = admin) => publish(hl(), token, topic, data),
    publishBatch: (topic, messages, token = admin) => publishBatch(hl(), token, topic, messages),
    subscribe: (body, token = admin) => subscribe(hl(), token, body),
    async replica(replicaEnv = {}) {
      const started = await startTestBroker(replicaEnv, { reuse: hl() });
      closers.push(() => started.stop());
      return started;
    },
    async routed(messageId) {
      await waitFor(async () => (await db().query('SELECT 1 FROM messages WHERE id = $1', [messageId])).rowCount, 'the message to be routed');
    },
    onClose: (close) => {
      closers.push(close);
    },
  };
}
