import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { got, type Agents } from 'got';
import { newId } from '../../../shared/ids.js';
import { assertTargetAllowed, createGuardedLookup, type AddressPolicy } from '../../../shared/net/address-policy.js';
import { signatureHeader } from '../../../shared/signing.js';
import { signingKeys, type SigningSecrets } from '../../../shared/signing-keys.js';
import { USER_AGENT } from '../../../shared/version.js';

/** The event type of the ownership challenge, in the body's `type`. */
export const VERIFY_EVENT = 'hookline.verify';
/** How much of the endpoint's answer is read; a longer one fails the check. */
export const VERIFY_RESPONSE_CAP = 4096;
/** A check never waits longer than this, whatever the subscription's timeoutMs. */
export const VERIFY_MAX_TIMEOUT_MS = 10_000;

/** The endpoint to challenge and the secrets that sign the challenge. */
export interface VerifyTarget extends SigningSecrets {
  subscriptionId: string;
  topic: string;
  url: string;
  secret: string;
  timeoutMs: number;
}

/** What the check found; `error` says why it failed, in words fit for the API. */
export interface VerifyResult {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

// Control-plane calls are rare: no keep-alive, so every check dials (and passes the guarded lookup) anew.
const agents: Agents = {
  http: new http.Agent({ keepAlive: false }),
  https: new https.Agent({ keepAlive: false }),
};

function describe(err: unknown, timeoutMs: number): string {
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.code === 'ETIMEDOUT') return `no answer within ${timeoutMs} ms`;
  if (e.name === 'CancelError') return `the answer is longer than ${VERIFY_RESPONSE_CAP} bytes`;
  if (e.code === 'ERR_FORBIDDEN_TARGET' || e.cause?.code === 'ERR_FORBIDDEN_TARGET') return e.cause?.message ?? e.message ?? 'forbidden target';
  const code = e.cause?.code ?? e.code;
  const message = e.cause?.message ?? e.message ?? String(err);
  return (code && !message.includes(code) ? `${code}: ${message}` : message).slice(0, 300);
}

/**
 * Asks the endpoint to prove it wants this subscription's traffic: a Standard Webhooks-signed `POST` of
 * `{"type": "hookline.verify", "challenge": "<random>", "subscriptionId", "topic"}` that must be answered
 * with a 2xx and the JSON body `{"challenge": "<the same>"}`. Sent with got (the control plane's client;
 * undici stays on the delivery hot path) through the same SSRF rules as deliveries: IP literals are
 * checked up front, names by the guarded lookup on the connection itself. No redirects, no retries.
 * Never throws: every failure comes back as `{ok: false, error}`.
 */
export async function verifyEndpoint(target: VerifyTarget, policy: AddressPolicy, nowMs = Date.now()): Promise<VerifyResult> {
  const timeoutMs = Math.min(target.timeoutMs, VERIFY_MAX_TIMEOUT_MS);
  const challenge = randomBytes(24).toString('base64url');
  const body = JSON.stringify({ type: VERIFY_EVENT, challenge, subscriptionId: target.subscriptionId, topic: target.topic });
  const id = newId('vfy', nowMs);
  const timestamp = Math.floor(nowMs / 1000);
  const t0 = performance.now();
  const fail = (error: string, statusCode: number | null = null): VerifyResult => ({
    ok: false,
    statusCode,
    durationMs: Math.round(performance.now() - t0),
    error,
  });
  let url: URL;
  let signature: string;
  try {
    url = new URL(target.url);
    assertTargetAllowed(url, policy);
    signature = signatureHeader(signingKeys(target, nowMs), id, timestamp, body);
  } catch (err) {
    return fail(describe(err, timeoutMs));
  }
  const request = got.post(url, {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
      'hookline-event': VERIFY_EVENT,
    },
    agent: agents,
    dnsLookup: createGuardedLookup(policy),
    timeout: { request: timeoutMs },
    retry: { limit: 0 },
    followRedirect: false,
    throwHttpErrors: false,
    responseType: 'text',
  });
  request.on('downloadProgress', (p) => {
    if (p.transferred > VERIFY_RESPONSE_CAP) request.cancel();
  });
  let res;
  try {
    res = await request;
  } catch (err) {
    return fail(describe(err, timeoutMs));
  }
  const status = res.statusCode;
  if (status < 200 || status > 299) return fail(`the endpoint answered ${status}; a 2xx with {"challenge": …} is required`, status);
  let echoed: unknown;
  try {
    echoed = (JSON.parse(res.body) as { challenge?: unknown } | null)?.challenge;
  } catch {
    echoed = undefined;
  }
  if (typeof echoed !== 'string') {
    return fail('the endpoint answered 2xx but not with the JSON body {"challenge": "<the challenge sent>"}', status);
  }
  if (echoed !== challenge) return fail('the endpoint echoed a different challenge than the one sent', status);
  return { ok: true, statusCode: status, durationMs: Math.round(performance.now() - t0), error: null };
}
