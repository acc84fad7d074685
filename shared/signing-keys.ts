import { generateSecret, secretKey } from './signing.js';

/**
 * The secret-rotation rule, in one place for webhooks (services/dispatcher/deliver/prepare.ts) and the
 * ownership challenge (services/api/subscriptions/verify-endpoint.ts): a rotation makes a new secret the
 * current one, and the rotated-out secret keeps signing beside it for {@link ROTATION_OVERLAP_MS}, so a
 * receiver can switch over without missing a webhook.
 */

/** How long a rotated-out secret keeps signing beside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 3600_000;

/** The secrets of a webhook subscription, as stored. */
export interface SigningSecrets {
  secret: string | null;
  previousSecret?: string | null;
  previousSecretExpiresAt?: Date | null;
}

const keyCache = new Map<string, Buffer>();

/** A secret's HMAC key, decoded once per secret (a hot path signs with the same few secrets). */
function keyOf(secret: string): Buffer {
  let key = keyCache.get(secret);
  if (!key) {
    if (keyCache.size > 10_000) keyCache.clear();
    key = secretKey(secret);
    keyCache.set(secret, key);
  }
  return key;
}

/** The keys that sign now: the current secret, and during a rotation the previous one until it expires. */
export function signingKeys(s: SigningSecrets, nowMs = Date.now()): Buffer[] {
  const keys = [keyOf(s.secret as string)];
  if (s.previousSecret && s.previousSecretExpiresAt && s.previousSecretExpiresAt.getTime() > nowMs) {
    keys.push(keyOf(s.previousSecret));
  }
  return keys;
}

/** The secrets after a rotation at `nowMs`: a new current secret, the old one signing until the overlap ends. */
export function rotatedSecrets(
  current: SigningSecrets,
  nowMs = Date.now(),
): { secret: string; previousSecret: string | null; previousSecretExpiresAt: Date } {
  return {
    secret: generateSecret(),
    previousSecret: current.secret,
    previousSecretExpiresAt: new Date(nowMs + ROTATION_OVERLAP_MS),
  };
}
