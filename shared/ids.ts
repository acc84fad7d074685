import { createHash, randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The 10-character ULID time of `ms` (milliseconds since the epoch): ids sort by it as strings. */
export function encodeTime(ms: number): string {
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

const ULID_TIME = /^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{10}/;
const NO_TIME = '0000000000';

/** The ULID time characters of a prefixed id (`msg_01J…` → `01J…`, 10 characters); zeros if it has none. */
export function idTimePart(id: string): string {
  return ULID_TIME.test(id) ? id.slice(4, 14) : NO_TIME;
}

/** The time a prefixed ULID id was minted at, in milliseconds; undefined if it carries none. */
export function decodeIdTime(id: string): number | undefined {
  if (!ULID_TIME.test(id)) return undefined;
  let ms = 0;
  for (const c of id.slice(4, 14)) ms = ms * 32 + CROCKFORD.indexOf(c);
  return ms;
}

/**
 * The delivery of one message to one subscription always has the same id, so a message fanned out twice
 * (router crash before ack) maps onto the same row and the same JetStream job id. It starts with its
 * message's ULID time and goes on with 16 characters of a SHA-256 of both ids: deliveries and attempts are
 * partitioned by ranges of this id (migrations/0010_log_partitions.sql), so a lookup by id reads one
 * partition, and a message's deliveries sit in the partition of its publish time.
 */
export function deliveryId(messageId: string, subscriptionId: string): string {
  const digest = createHash('sha256').update(`${messageId}:${subscriptionId}`).digest();
  return `dlv_${idTimePart(messageId)}${encodeBytes(digest, 16)}`;
}

/**
 * The current id of a delivery named by a job enqueued before delivery ids carried their message's time
 * (`dlv_` + 26 hash characters): migration 0010 renamed those rows to `dlv_` + message time + the first 16
 * of those hash characters, which is what {@link deliveryId} makes. Current ids are returned as they are.
 */
export function currentDeliveryId(id: string, messageId: string): string {
  const time = idTimePart(messageId);
  return id.startsWith(`dlv_${time}`) || id.length !== 30 ? id : `dlv_${time}${id.slice(4, 20)}`;
}

/** A resource id (messages, subscriptions): a three-letter prefix and a ULID. */
export const ID_PATTERN = /^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Cheap shape check before an id reaches a query. */
export function isId(prefix: string, value: string): boolean {
  return value.startsWith(`${prefix}_`) && ID_PATTERN.test(value);
}
