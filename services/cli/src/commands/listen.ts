import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import pc from 'picocolors';
import type { PolledMessage as Polled } from '../../../../shared/client/index.js';
import { compileFilter, parseFilter, type CompiledFilter } from '../../../../shared/filter.js';
import { generateSecret, secretKey, signatureHeader } from '../../../../shared/signing.js';
import { loadSession, saveSession, type ListenSession } from '../config.js';
import { action, intOption, parseDuration, parseJsonOption, unwrap, type Context } from '../context.js';
import { CliError, EXIT } from '../output.js';

// `hookline listen` in one file (≈ 310 lines): the session, the poll loop, signing and forwarding are one
// command's flow; its helpers that others need live in ../context.ts and ../output.ts.

interface ListenOptions {
  forwardTo: string;
  filter?: string;
  allowExternal?: boolean;
  concurrency: number;
  timeout: string;
  sessionTtl: string;
  newSession?: boolean;
  since?: string;
}

/** `--since`: a stream sequence (resume after it), an ISO time, or a duration back from now (`2h`). */
function parseSince(value: string): number | string {
  if (/^\d+$/.test(value)) return Number(value);
  if (/^\d+(ms|s|m|h|d)$/.test(value)) return new Date(Date.now() - parseDuration(value)).toISOString();
  const t = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t.getTime())) {
    throw new CliError('usage.invalid_since', `--since "${value}" is neither a stream sequence, an ISO time nor a duration like 2h.`, EXIT.usage);
  }
  return t.toISOString();
}

const USER_AGENT = 'Hookline/0.1.0 (hookline listen)';
/** Long-poll wait: short enough that Ctrl-C is answered quickly, long enough to cost nothing when idle. */
const POLL_WAIT_S = 5;
const EXCERPT = 200;

function isLoopback(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  const a = address.toLowerCase();
  return a === '::1' || a.startsWith('::ffff:127.');
}

/** The local target: http(s), and loopback only unless `--allow-external` (a webhook secret stays on this machine). */
async function checkTarget(raw: string, allowExternal: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError('usage.invalid_url', `--forward-to "${raw}" is not a URL.`, EXIT.usage);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError('usage.invalid_url', '--forward-to must be an http or https URL.', EXIT.usage);
  }
  if (allowExternal) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
  if (!addresses.length || !addresses.every(isLoopback)) {
    throw new CliError(
      'listen.external_target',
      `${url.host} is not a loopback address; hookline listen forwards to this machine only. Pass --allow-external to forward elsewhere.`,
      EXIT.usage,
    );
  }
  return url;
}

/** One forwarded delivery's outcome, as printed and reported to the broker's attempt log. */
interface Forwarded {
  statusCode?: number;
  error?: string;
  responseExcerpt?: string;
  durationMs: number;
  ok: boolean;
}

/** POSTs one message to the local target exactly as a webhook subscription would. */
async function forward(target: URL, secret: Buffer, m: Polled, timeoutMs: number): Promise<Forwarded> {
  const body = JSON.stringify({ id: m.id, topic: m.topic, publishedAt: m.publishedAt, data: m.data });
  const timestamp = Math.floor(Date.now() / 1000);
  const started = performance.now();
  try {
    const res = await fetch(target, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'webhook-id': m.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader([secret], m.id, timestamp, body),
        'hookline-topic': m.topic,
        'hookline-attempt': String(m.attempt),
      },
      body,
    });
    const text = await res.text().catch(() => '');
    return {
      statusCode: res.status,
      responseExcerpt: text.slice(0, EXCERPT) || undefined,
      durationMs: Math.round(performance.now() - started),
      ok: res.status >= 200 && res.status < 300,
    };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const error = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : (e.cause?.code ?? e.message);
    return { error, durationMs: Math.round(performance.now() - started), ok: false };
  }
}

/** A session is one pattern forwarded to one target from one broker: the same command resumes it. */
function sessionKey(baseUrl: string, pattern: string, target: URL, filter: string | undefined): string {
  return createHash('sha256').update(JSON.stringify([baseUrl, pattern, target.href, filter ?? null])).digest('hex').slice(0, 24);
}

/** The saved session if its subscription still exists, else a new poll subscription that expires when idle. */
async function openSession(ctx: Context, key: string, pattern: string, target: URL, opts: ListenOptions) {
  const since = opts.since === undefined ? undefined : parseSince(opts.since);
  const saved = await loadSession(key);
  if (saved && (opts.newSession || since !== undefined)) {
    // A fresh start replaces the saved session: its subscription would otherwise linger until it expires.
    const r = await ctx.client.api.DELETE('/v1/subscriptions/{id}', { params: { path: { id: saved.subscriptionId } } });
    if (!r.response.ok && r.response.status !== 404) unwrap(r);
  } else if (saved) {
    const r = await ctx.client.api.GET('/v1/subscriptions/{id}', { params: { path: { id: saved.subscriptionId } } });
    if (r.response.ok) return { session: saved, resumed: true };
    if (r.response.status !== 404) unwrap(r);
  }
  const ttl = parseDuration(opts.sessionTtl);
  const sub = unwrap(
    await ctx.client.api.POST('/v1/subscriptions', {
      body: {
        topic: pattern,
        type: 'poll',
        description: `hookline listen → ${target.href}`.slice(0, 500),
        // Past the local timeout, so a slow forward is settled before the broker hands the message out again.
        ackTimeoutMs: parseDuration(opts.timeout) + 5_000,
        maxAttempts: 100,
        expireAfterIdleMs: ttl,
        ...(since !== undefined ? { since } : {}),
      },
    }),
  );
  const session: ListenSession = { subscriptionId: sub.id, secret: generateSecret(), createdAt: new Date().toISOString() };
  await saveSession(key, session);
  return { session, resumed: false };
}

async function listen(ctx: Context, pattern: string, opts: ListenOptions): Promise<void> {
  const target = await checkTarget(opts.forwardTo, !!opts.allowExternal);
  const filterJson = parseJsonOption(opts.filter, '--filter');
  let matches: CompiledFilter | undefined;
  if (filterJson !== undefined) {
    try {
      matches = compileFilter(parseFilter(filterJson, '--filter'));
    } catch (err) {
      throw new CliError('usage.invalid_filter', (err as Error).message, EXIT.usage);
    }
  }
  const timeoutMs = parseDuration(opts.timeout);
  const concurrency = Math.max(1, opts.concurrency);
  const key = sessionKey(ctx.conn.url, pattern, target, opts.filter);
  const { session, resumed } = await openSession(ctx, key, pattern, target, opts);
  const subId = session.subscriptionId;
  const signingKey = secretKey(session.secret);

  ctx.out.line(
    { event: 'ready', subscriptionId: subId, secret: session.secret, pattern, forwardTo: target.href, resumed },
    () =>
      [
        `${pc.green('Ready.')} ${resumed ? 'Resuming' : 'Forwarding'} ${pc.cyan(pattern)} → ${target.href}  ${pc.dim(`(session ${subId})`)}`,
        `Signing secret: ${pc.bold(session.secret)}`,
        pc.dim('Ctrl-C drains what is in flight and ends the session.'),
      ].join('\n'),
  );

  const stop = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      ctx.out.note(pc.dim('\ndraining… (Ctrl-C again to quit at once; the session then resumes on the next run)'));
      stop.abort();
    } else {
      process.exit(EXIT.interrupted);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const inFlight = new Set<Promise<void>>();
  let slotFreed: () => void = () => {};

  const settle = async (m: Polled, f: Forwarded | undefined) => {
    const attempts = f
      ? [{ ackId: m.ackId, durationMs: f.durationMs, statusCode: f.statusCode, error: f.error, responseExcerpt: f.responseExcerpt }]
      : undefined;
    const path = !f || f.ok ? '/v1/subscriptions/{id}/ack' : '/v1/subscriptions/{id}/nack';
    const body = !f || f.ok ? { ackIds: [m.ackId], attempts } : { ackIds: [m.ackId], attempts, delayMs: Math.min(1000 * 2 ** (m.attempt - 1), 60_000) };
    const r = await ctx.client.api.POST(path, { params: { path: { id: subId } }, body });
    // An expired ack id means the broker already handed the message out again: it is not lost.
    if (!r.response.ok && r.response.status !== 409) unwrap(r);
  };

  const handle = async (m: Polled) => {
    if (matches && !matches(m.data)) {
      await settle(m, undefined);
      return;
    }
    const f = await forward(target, signingKey, m, timeoutMs);
    const at = new Date().toISOString().slice(11, 23);
    const status = f.statusCode !== undefined ? String(f.statusCode) : 'ERR';
    ctx.out.line(
      { event: 'delivery', at: new Date().toISOString(), topic: m.topic, id: m.id, attempt: m.attempt, status: f.statusCode ?? null, error: f.error ?? null, ms: f.durationMs, ok: f.ok },
      () =>
        `${pc.dim(at)}  ${pc.cyan(m.topic)}  ${m.id}  ${f.ok ? pc.green(status) : pc.red(status)}  ${pc.dim(`${f.durationMs} ms`)}` +
        `${m.attempt > 1 ? pc.dim(`  attempt ${m.attempt}`) : ''}${f.error ? pc.red(`  ${f.error}`) : ''}`,
    );
    await settle(m, f);
  };

  let failures = 0;
  while (!stop.signal.aborted) {
    if (inFlight.size >= concurrency) {
      await new Promise<void>((r) => (slotFreed = r));
      continue;
    }
    let messages: Polled[];
    try {
      const r = await ctx.client.api.GET('/v1/subscriptions/{id}/messages', {
        params: { path: { id: subId }, query: { max: concurrency - inFlight.size, wait: POLL_WAIT_S } },
        signal: stop.signal,
      });
      if (r.response.status === 404) {
        throw new CliError('listen.session_gone', `The session's subscription ${subId} is gone (deleted, or expired while idle).`, EXIT.notFound, 404);
      }
      messages = unwrap(r).messages;
      failures = 0;
    } catch (err) {
      if (stop.signal.aborted) break;
      if ((err as Error).name === 'CliError') throw err;
      const status = (err as { status?: number }).status;
      if (status !== undefined && status < 500) throw err;
      failures++;
      ctx.out.note(pc.yellow(`poll failed (${(err as Error).message}); retrying`));
      await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** failures, 10_000)));
      continue;
    }
    for (const m of messages) {
      const p: Promise<void> = handle(m)
        .catch((err: Error) => ctx.out.note(pc.red(`could not settle ${m.id}: ${err.message} (it will be handed out again)`)))
        .finally(() => {
          inFlight.delete(p);
          slotFreed();
        });
      inFlight.add(p);
    }
  }

  await Promise.all(inFlight);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  const del = await ctx.client.api.DELETE('/v1/subscriptions/{id}', { params: { path: { id: subId } } });
  if (!del.response.ok && del.response.status !== 404) unwrap(del);
  await saveSession(key, undefined);
  ctx.out.line({ event: 'stopped', subscriptionId: subId }, () => pc.dim(`session ${subId} ended`));
}

export function listenCommand(program: Command): void {
  program
    .command('listen')
    .argument('<pattern>', 'topic pattern, e.g. orders.* or orders.>')
    .description('Forward every matching message to a local URL, signed exactly as a webhook, until Ctrl-C')
    .requiredOption('--forward-to <url>', 'where to POST each message (loopback unless --allow-external)')
    .option('--filter <json>', 'forward only payloads matching this filter (the subscription filter language)')
    .option('--allow-external', 'allow a --forward-to that is not on this machine')
    .option('--concurrency <n>', 'deliveries in flight at once', intOption('--concurrency'), 8)
    .option('--timeout <duration>', 'how long the local endpoint may take', '10s')
    .option('--session-ttl <duration>', 'a session nobody polls (the CLI was killed) is deleted after this', '15m')
    .option('--since <seq|time>', 'start a fresh session with the retained messages after a stream sequence, or since a time (ISO, or 2h back)')
    .option('--new-session', 'start a fresh session instead of resuming this command\'s last one')
    .addHelpText(
      'after',
      `
Each message is POSTed with Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature),
signed with the session's secret, printed at start. One line per delivery: time, topic, id, status, ms.
A 2xx acks it; anything else hands it back for another attempt (exponential backoff). Every attempt is in
Hookline's attempt log (hookline deliveries get dlv_…).

The session is a poll subscription: a killed CLI resumes it (same command) without losing a message; Ctrl-C
drains and deletes it; one nobody polls expires after --session-ttl.

Examples:
  $ hookline listen 'orders.*' --forward-to http://127.0.0.1:3000/hooks
  $ hookline listen 'orders.*' --forward-to http://127.0.0.1:3000/hooks --since 1h     # replay the last hour first
  $ hookline listen 'orders.>' --forward-to http://localhost:3000/hooks --filter '{"path":"total","gt":100}'
  $ hookline listen 'orders.>' --forward-to http://127.0.0.1:3000/hooks --json | jq 'select(.ok == false)'`,
    )
    .action(action(async (ctx, pattern: string, opts: ListenOptions) => listen(ctx, pattern, opts)));
}
