import { beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import jwt from 'jsonwebtoken';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHooklineClient, type HooklineClient } from '../../shared/client/index.js';
import { verifyWebhook } from '../../shared/signing.js';
import { withBroker } from '../helpers/kit.js';
import type { Receiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The `hookline` CLI as a real child process against a real broker: listen forwards signed deliveries and
 * reports them into the attempt log, survives a SIGKILL without losing a message and ends its session on
 * Ctrl-C; publish --batch sends a 10,000-line file; --json output parses; exit codes mean what docs/cli.md says.
 */

const BIN = fileURLToPath(new URL('../../services/cli/bin/hookline.js', import.meta.url));

/** A subscription answer that must be a poll subscription, narrowed to that variant's fields. */
function asPoll<T extends { type: string }>(s: T | undefined): Extract<T, { type: 'poll' }> {
  expect(s?.type).toBe('poll');
  return s as Extract<T, { type: 'poll' }>;
}
const TIMEOUT = { timeoutMs: 30_000 };

const hl = withBroker();
let client: HooklineClient;
let receiver: Receiver;
let configDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  client = createHooklineClient({ baseUrl: hl.baseUrl, token: hl.admin });
  receiver = await hl.receiver();
  configDir = await mkdtemp(path.join(os.tmpdir(), 'hookline-cli-'));
  hl.onClose(() => rm(configDir, { recursive: true, force: true }));
  env = { ...process.env, HOOKLINE_URL: hl.baseUrl, HOOKLINE_TOKEN: hl.admin, HOOKLINE_CONFIG_DIR: configDir, NO_COLOR: '1' };
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A long-running `hookline … --json` whose stdout lines are parsed as they come. */
interface Live {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
}

function start(args: string[]): Live {
  const child = spawn(process.execPath, [BIN, ...args, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout!.on('data', (c: Buffer) => {
    buf += c;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c));
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      if (code) process.stderr.write(`hookline exited ${code}: ${stderr}\n`);
      resolve(code);
    }),
  );
  return { child, lines, exited };
}

const ready = (l: Live) => waitFor(() => l.lines.find((x) => x.event === 'ready'), 'listen to be ready', TIMEOUT);

describe('hookline listen', () => {
  it('when a message is published, then it is forwarded signed with the printed secret, and each attempt (a 500, then a 200) is in the attempt log', async () => {
    const pattern = 'cli.listen.*';
    let failNext = true;
    receiver.respond = (r) => {
      if (r.headers['hookline-topic'] !== 'cli.listen.retry') return { status: 200 };
      const status = failNext ? 500 : 200;
      failNext = false;
      return { status };
    };
    const listen = start(['listen', pattern, '--forward-to', `${receiver.url}/hooks`]);
    try {
      const r = await ready(listen);
      const secret = r.secret as string;
      expect(secret).toMatch(/^whsec_/);
      const subId = r.subscriptionId as string;

      const first = await client.publish('cli.listen.created', { order: 1 });
      const retried = await client.publish('cli.listen.retry', { order: 2 });
      const got = await waitFor(() => receiver.requests.find((q) => q.headers['webhook-id'] === first.id), 'the forward', TIMEOUT);
      expect(() => verifyWebhook(secret, got.headers, got.body)).not.toThrow();
      expect(JSON.parse(got.body)).toMatchObject({ id: first.id, topic: 'cli.listen.created', data: { order: 1 } });
      expect(got.headers['hookline-attempt']).toBe('1');

      await waitFor(() => receiver.requests.filter((q) => q.headers['webhook-id'] === retried.id).length >= 2, 'the retry', TIMEOUT);
      const lines = await waitFor(() => {
        const d = listen.lines.filter((x) => x.event === 'delivery' && x.id === retried.id);
        return d.length >= 2 ? d : undefined;
      }, 'two delivery lines', TIMEOUT);
      expect(lines.map((l) => l.status)).toEqual([500, 200]);
      expect(lines[0]).toMatchObject({ topic: 'cli.listen.retry', ok: false });
      expect(typeof lines[0]!.ms).toBe('number');

      const attempts = await waitFor(async () => {
        const { data } = await client.api.GET('/v1/subscriptions/{id}/deliveries', { params: { path: { id: subId } } });
        const dlv = data?.items.find((d) => d.messageId === retried.id);
        if (!dlv || dlv.status !== 'succeeded') return undefined;
        const { data: full } = await client.api.GET('/v1/deliveries/{id}', { params: { path: { id: dlv.id } } });
        return full && full.attempts.length === 2 ? full.attempts : undefined;
      }, 'both attempts in the attempt log', TIMEOUT);
      expect(attempts.map((a) => [a.n, a.statusCode])).toEqual([[1, 500], [2, 200]]);
      expect(attempts[0]!.durationMs).toBeGreaterThanOrEqual(0);
    } finally {
      listen.child.kill('SIGKILL');
      await listen.exited;
    }
  }, 120_000);

  it('when the CLI is killed with SIGKILL, then the same command resumes the session and gets every message published meanwhile; Ctrl-C then ends the session', async () => {
    receiver.respond = () => ({ status: 204 });
    const args = ['listen', 'cli.resume.>', '--forward-to', `${receiver.url}/resume`];
    const before = start(args);
    const r1 = await ready(before);
    const a = await client.publish('cli.resume.a', { n: 0 });
    await waitFor(() => before.lines.find((x) => x.event === 'delivery' && x.id === a.id), 'the first delivery', TIMEOUT);
    before.child.kill('SIGKILL');
    await before.exited;

    const whileDead: string[] = [];
    for (let n = 1; n <= 5; n++) whileDead.push((await client.publish(`cli.resume.m${n}`, { n })).id);

    const after = start(args);
    try {
      const r2 = await ready(after);
      expect(r2.subscriptionId).toBe(r1.subscriptionId);
      expect(r2.secret).toBe(r1.secret);
      expect(r2.resumed).toBe(true);
      await waitFor(() => whileDead.every((id) => receiver.requests.some((q) => q.path === '/resume' && q.headers['webhook-id'] === id)), 'every message published while the CLI was dead', TIMEOUT);
      for (const id of whileDead) {
        const got = receiver.requests.find((q) => q.headers['webhook-id'] === id)!;
        expect(() => verifyWebhook(r1.secret as string, got.headers, got.body)).not.toThrow();
      }
    } finally {
      after.child.kill('SIGINT');
    }
    expect(await after.exited).toBe(0);
    expect(after.lines.at(-1)).toMatchObject({ event: 'stopped', subscriptionId: r1.subscriptionId });
    const gone = await client.api.GET('/v1/subscriptions/{id}', { params: { path: { id: r1.subscriptionId as string } } });
    expect(gone.response.status).toBe(404);
    const sessions = JSON.parse(await readFile(path.join(configDir, 'sessions.json'), 'utf8')) as Record<string, { subscriptionId: string }>;
    expect(Object.values(sessions).map((s) => s.subscriptionId)).not.toContain(r1.subscriptionId);
  }, 120_000);

  it('when --since names a time before messages were published, then a fresh session forwards them first', async () => {
    receiver.respond = () => ({ status: 200 });
    const since = new Date(Date.now() - 1000).toISOString();
    const earlier = [(await client.publish('cli.since.a', { n: 1 })).id, (await client.publish('cli.since.b', { n: 2 })).id];
    const listen = start(['listen', 'cli.since.*', '--forward-to', `${receiver.url}/since`, '--since', since]);
    try {
      await ready(listen);
      await waitFor(() => earlier.every((id) => listen.lines.some((x) => x.event === 'delivery' && x.id === id && x.ok)), 'the earlier messages', TIMEOUT);
    } finally {
      listen.child.kill('SIGINT');
    }
    expect(await listen.exited).toBe(0);
  }, 120_000);

  it('when the forward target is not loopback, then listen refuses with exit 2 and creates nothing', async () => {
    const res = await run(['listen', 'cli.ext.*', '--forward-to', 'http://192.0.2.1/hooks', '--json']);
    expect(res.code).toBe(2);
    expect(JSON.parse(res.stdout).error.code).toBe('listen.external_target');
  }, 60_000);
});

describe('broker side of sessions', () => {
  it('when an attempt report names an ack id that is not being settled, then the ack is refused whole with 400', async () => {
    const { data: sub } = await client.api.POST('/v1/subscriptions', { body: { topic: 'cli.report.*', type: 'poll' } });
    await client.publish('cli.report.x', {});
    const { data: polled } = await client.api.GET('/v1/subscriptions/{id}/messages', { params: { path: { id: sub!.id }, query: { wait: 5 } } });
    const ackId = polled!.messages[0]!.ackId;
    const bad = await client.api.POST('/v1/subscriptions/{id}/ack', {
      params: { path: { id: sub!.id } },
      body: { ackIds: [ackId], attempts: [{ ackId: 'someone-else', durationMs: 3, statusCode: 200 }] },
    });
    expect(bad.response.status).toBe(400);
    const good = await client.api.POST('/v1/subscriptions/{id}/ack', {
      params: { path: { id: sub!.id } },
      body: { ackIds: [ackId], attempts: [{ ackId, durationMs: 3, statusCode: 202 }] },
    });
    expect(good.response.status).toBe(200);
    const dlv = await waitFor(async () => {
      const { data } = await client.api.GET('/v1/subscriptions/{id}/deliveries', { params: { path: { id: sub!.id } } });
      const d = data?.items[0];
      if (!d) return undefined;
      const { data: full } = await client.api.GET('/v1/deliveries/{id}', { params: { path: { id: d.id } } });
      return full?.attempts.length ? full : undefined;
    }, 'the reported attempt');
    expect(dlv.status).toBe('succeeded');
    expect(dlv.attempts.map((a) => [a.n, a.statusCode, a.durationMs])).toEqual([[1, 202, 3]]);
  }, 60_000);


  it('when a session subscription is not polled for expireAfterIdleMs, then the broker deletes it', async () => {
    const sub = asPoll((await client.api.POST('/v1/subscriptions', { body: { topic: 'cli.expire.*', type: 'poll', expireAfterIdleMs: 5_000 } })).data);
    expect(sub.expiresAt).toBeDefined();
    // A poll moves the expiry.
    await client.api.GET('/v1/subscriptions/{id}/messages', { params: { path: { id: sub.id }, query: { max: 1 } } });
    const polled = asPoll((await client.api.GET('/v1/subscriptions/{id}', { params: { path: { id: sub.id } } })).data);
    expect(Date.parse(polled.expiresAt!)).toBeGreaterThan(Date.parse(sub.expiresAt!));
    await waitFor(async () => {
      const r = await client.api.GET('/v1/subscriptions/{id}', { params: { path: { id: sub!.id } } });
      return r.response.status === 404;
    }, 'the idle subscription to expire', { timeoutMs: 20_000, intervalMs: 500 });
  }, 60_000);
});

describe('hookline publish', () => {
  it('when --batch is given a 10,000-line NDJSON file, then every line is published once', async () => {
    const file = path.join(configDir, 'batch.ndjson');
    await writeFile(file, Array.from({ length: 10_000 }, (_, i) => JSON.stringify({ i })).join('\n') + '\n');
    const started = Date.now();
    const res = await run(['publish', 'cli.batch', '--batch', file, '--json']);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as { published: number; ids: string[] };
    expect(out.published).toBe(10_000);
    expect(new Set(out.ids).size).toBe(10_000);
    const jsm = await hl.broker.nc.jetstreamManager();
    const filter = hl.broker.names.messageFilter('default', 'cli.batch');
    const info = await jsm.streams.info(hl.broker.names.messagesStream, { subjects_filter: filter });
    expect(info.state.subjects?.[filter]).toBe(10_000);
    process.stderr.write(`publish --batch of 10,000 lines: ${Date.now() - started} ms including CLI start-up\n`);
  }, 120_000);

  it('when --batch lines together exceed the /batch body cap (4 × HOOKLINE_MAX_PAYLOAD), then they are split by bytes and all published, not refused with 413', async () => {
    // 300 lines of 10 KB: about 3 MB, three times the default cap, in fewer lines than one 1000-message chunk.
    const file = path.join(configDir, 'big.ndjson');
    await writeFile(file, Array.from({ length: 300 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(10_000) })).join('\n') + '\n');
    const res = await run(['publish', 'cli.bigbatch', '--batch', file, '--json']);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as { published: number; ids: string[] };
    expect([out.published, new Set(out.ids).size]).toEqual([300, 300]);
  }, 60_000);
});

describe('hookline token', () => {
  it('when HOOKLINE_JWT_AUDIENCE / HOOKLINE_JWT_ISSUER are set, then the minted token carries them as aud / iss, and --aud / --iss win over them', async () => {
    // A broker with an audience or issuer configured answers 401 to a token without them.
    const secret = 'cli-token-test-secret-0123456789abcdef';
    const fromEnv = { HOOKLINE_JWT_SECRET: secret, HOOKLINE_JWT_AUDIENCE: 'hookline-test', HOOKLINE_JWT_ISSUER: 'https://issuer.test' };
    const [envMinted, flagMinted] = await Promise.all([
      run(['token', '--scope', 'publish:cli.>', '--sub', 'alice'], fromEnv),
      run(['token', '--aud', 'other-aud', '--iss', 'other-iss'], fromEnv),
    ]);
    expect([envMinted.code, flagMinted.code]).toEqual([0, 0]);
    expect(jwt.verify(envMinted.stdout.trim(), secret)).toMatchObject({
      sub: 'alice',
      scope: 'publish:cli.>',
      aud: 'hookline-test',
      iss: 'https://issuer.test',
    });
    expect(jwt.verify(flagMinted.stdout.trim(), secret)).toMatchObject({ aud: 'other-aud', iss: 'other-iss' });
  });
});

describe('--json and exit codes', () => {
  it('when commands succeed or fail, then --json output parses and the exit code names the failure', async () => {
    const [created, missing, badToken, badJson, unreachable, usage, stats] = await Promise.all([
      run(['subscriptions', 'create', '--topic', 'cli.json.*', '--endpoint', `${receiver.url}/json`, '--max-attempts', '3', '--json']),
      run(['subscriptions', 'get', 'sub_01JAAAAAAAAAAAAAAAAAAAAAAA', '--json']),
      run(['subscriptions', 'ls', '--json'], { HOOKLINE_TOKEN: 'not-a-token' }),
      run(['publish', 'cli.json.x', '{nope', '--json']),
      run(['--url', 'http://127.0.0.1:1', 'publish', 'cli.json.x', '{}', '--json']),
      run(['deliveries', 'ls', '--json']),
      run(['stats', '--json']),
    ]);
    expect(created.code).toBe(0);
    const sub = JSON.parse(created.stdout);
    expect(sub).toMatchObject({ topic: 'cli.json.*', retry: { maxAttempts: 3 } });
    expect(sub.secret).toMatch(/^whsec_/);
    expect([missing.code, JSON.parse(missing.stdout).error.status]).toEqual([4, 404]);
    expect([badToken.code, JSON.parse(badToken.stdout).error.status]).toEqual([3, 401]);
    expect([badJson.code, JSON.parse(badJson.stdout).error.code]).toEqual([2, 'usage.invalid_json']);
    expect([unreachable.code, JSON.parse(unreachable.stdout).error.code]).toEqual([6, 'network']);
    expect([usage.code, JSON.parse(usage.stdout).error.code]).toEqual([2, 'usage']);
    // /v1/stats may not exist on this broker: then a clear 404 and exit 4.
    if (stats.code === 4) expect(JSON.parse(stats.stdout).error.code).toBe('stats.unsupported');
    else expect([stats.code, typeof JSON.parse(stats.stdout)]).toEqual([0, 'object']);

    const [ls, paused, rm] = await Promise.all([
      run(['subscriptions', 'ls', '--json']),
      run(['subscriptions', 'pause', sub.id, '--json']),
      run(['deliveries', 'ls', '--subscription', sub.id, '--status', 'dead', '--json']),
    ]);
    expect(JSON.parse(ls.stdout).items.map((s: { id: string }) => s.id)).toContain(sub.id);
    expect(JSON.parse(paused.stdout).status).toBe('paused');
    expect(JSON.parse(rm.stdout)).toEqual({ items: [] });
  }, 120_000);

  it('when login is given a working token, then it writes a 0600 profile that later commands use without HOOKLINE_TOKEN', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hookline-login-'));
    try {
      const login = await run(['login', '--url', hl.baseUrl, '--token', hl.admin, '--json'], { HOOKLINE_CONFIG_DIR: dir, HOOKLINE_URL: '', HOOKLINE_TOKEN: '' });
      expect(login.code).toBe(0);
      const file = JSON.parse(login.stdout).file as string;
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const ls = await run(['subscriptions', 'ls', '--json'], { HOOKLINE_CONFIG_DIR: dir, HOOKLINE_URL: '', HOOKLINE_TOKEN: '' });
      expect(ls.code).toBe(0);
      expect(Array.isArray(JSON.parse(ls.stdout).items)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
