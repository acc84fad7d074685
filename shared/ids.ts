import { createHash, randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function encodeBytes(bytes: Uint8Array, chars: number): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      bits -= 5;
      out += CROCKFORD[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

// Random bytes drawn 4 KiB at a time (as node's randomUUID does): one randomBytes call per id was ~2 % of a
// broker's CPU under publish load. Ids are unique, not secret.
const RANDOM_POOL_BYTES = 4096;
let randomPool = Buffer.alloc(0);
let randomOffset = 0;

function random10(): Uint8Array {
  if (randomOffset + 10 > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES);
    randomOffset = 0;
  }
  randomOffset += 10;
  return randomPool.subarray(randomOffset - 10, randomOffset);
}

/** A ULID-shaped id (time-sortable, 26 chars) behind a type prefix: `msg_01J…`, `sub_01J…`. */
export function newId(prefix: string, now = Date.now()): string {
  return `${prefix}_${encodeTime(now)}${encodeBytes(random10(), 16)}`;
}

/**
 * The delivery of one message to one subscription always has the same id, so a message fanned out twice
 * (router crash before ack) maps onto the same row and the same JetStream job id.
 */
export function deliveryId(messageId: string, subscriptionId: string): string {
  const digest = createHash('sha256').update(`${messageId}:${subscriptionId}`).digest();
  return `dlv_${encodeBytes(digest, 26)}`;
}

const ID = /^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Cheap shape check before an id reaches a query. */
export function isId(prefix: string, value: string): boolean {
  return value.startsWith(`${prefix}_`) && ID.test(value);
}
