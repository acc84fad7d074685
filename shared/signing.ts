import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ValidationError } from './errors.js';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): `webhook-signature` carries one
 * `v1,<base64 HMAC-SHA256>` per key over `<webhook-id>.<webhook-timestamp>.<body>`. The verifier here uses
 * only `node:crypto`, so a receiver can copy this file (and `errors.ts`) without taking on dependencies.
 */

const PREFIX = 'whsec_';
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A new signing secret: `whsec_` followed by base64 of 32 random bytes. */
export function generateSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

/**
 * The HMAC key of a secret: the base64-decoded part after `whsec_` (a secret without the prefix is
 * accepted too).
 * @throws ValidationError `secret.invalid` unless it is base64 of 24 to 64 bytes. The detail never
 * includes the secret.
 */
export function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  if (encoded.length === 0 || !BASE64.test(encoded)) {
    throw new ValidationError(
      'secret.invalid',
      `a signing secret must be '${PREFIX}' followed by standard padded base64; this one is not valid base64`,
    );
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
    throw new ValidationError(
      'secret.invalid',
      `a signing secret must decode to ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes; this one decodes to ${key.length}`,
    );
  }
  return key;
}

function sign(key: Buffer, id: string, timestampSec: number, body: string | Uint8Array): string {
  return createHmac('sha256', key).update(`${id}.${timestampSec}.`).update(body).digest('base64');
}

/**
 * The `webhook-signature` value: `v1,<signature>` for each key, in order, space-separated (several
 * during a secret rotation).
 * @param timestampSec the `webhook-timestamp` sent with it, in whole unix seconds.
 */
export function signatureHeader(keys: readonly Buffer[], id: string, timestampSec: number, body: string): string {
  if (keys.length === 0) throw new RangeError('signatureHeader needs at least one key');
  // A fractional timestamp would be signed as "1.5" while receivers parse the header as an integer.
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) {
    throw new RangeError(`webhook timestamp must be whole unix seconds, got ${timestampSec}`);
  }
  return keys.map((key) => `v1,${sign(key, id, timestampSec, body)}`).join(' ');
}

/** Why a webhook failed verification. */
export type WebhookVerificationCode =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_out_of_range'
  | 'no_matching_signature';

/** A webhook request that is not provably from the holder of the secret; answer it with a 4xx. */
export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
  constructor(
    readonly code: WebhookVerificationCode,
    message: string,
  ) {
    super(message);
  }
}

/** Options for {@link verifyWebhook}. */
export interface VerifyOptions {
  /**
   * How far `webhook-timestamp` may be from now, either way, in seconds; bounds replays of a captured request.
   * @default 300
   */
  toleranceSec?: number;
  /**
   * The current time in unix seconds.
   * @default Math.floor(Date.now() / 1000)
   */
  nowSec?: number;
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | string[] | undefined {
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) return headers[key];
  }
  return undefined;
}

/** A header that must appear once; a repeated id or timestamp is as good as none. */
function single(value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return value;
}

/**
 * Verify a Standard Webhooks request: returns when some `v1` signature in `webhook-signature` matches one
 * of `secrets` (pass the old and new secret during a rotation) and the timestamp is within tolerance.
 * Pass the raw body exactly as received: re-serialized JSON will not verify.
 * @throws WebhookVerificationError otherwise, with a `code` saying why.
 * @throws ValidationError `secret.invalid` for a malformed secret (a receiver configuration error).
 */
export function verifyWebhook(
  secrets: string | readonly string[],
  headers: Headers,
  body: string | Uint8Array,
  opts: VerifyOptions = {},
): void {
  const keys = (typeof secrets === 'string' ? [secrets] : secrets).map(secretKey);
  if (keys.length === 0) throw new TypeError('verifyWebhook needs at least one secret');
  const toleranceSec = opts.toleranceSec ?? 300;
  const nowSec = opts.nowSec ?? Math.floor(Date.now() / 1000);

  const id = single(header(headers, 'webhook-id'));
  const timestamp = single(header(headers, 'webhook-timestamp'));
  const rawSignature = header(headers, 'webhook-signature');
  const signatures = Array.isArray(rawSignature) ? rawSignature.join(' ') : rawSignature;
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError(
      'missing_headers',
      'webhook-id, webhook-timestamp and webhook-signature must each be present once',
    );
  }
  if (!/^[0-9]{1,15}$/.test(timestamp)) {
    throw new WebhookVerificationError('invalid_timestamp', 'webhook-timestamp is not whole unix seconds');
  }
  const timestampSec = Number(timestamp);
  if (Math.abs(nowSec - timestampSec) > toleranceSec) {
    throw new WebhookVerificationError(
      'timestamp_out_of_range',
      `webhook-timestamp is ${nowSec - timestampSec} s from now; at most ${toleranceSec} s is accepted`,
    );
  }

  const expected = keys.map((key) => Buffer.from(sign(key, id, timestampSec, body)));
  for (const versioned of signatures.split(/\s+/)) {
    if (!versioned.startsWith('v1,')) continue;
    const given = Buffer.from(versioned.slice(3));
    for (const candidate of expected) {
      // Compare the base64 text, not decoded bytes: Node's decoder skips junk, so decoding would accept
      // signatures that differ from the one we sent. Lengths are public, so checking them first leaks nothing.
      if (given.length === candidate.length && timingSafeEqual(given, candidate)) return;
    }
  }
  throw new WebhookVerificationError('no_matching_signature', 'no v1 signature matches the secret');
}
