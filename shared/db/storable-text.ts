/**
 * What Postgres refuses to store: a NUL character in text or jsonb, and an unpaired surrogate in jsonb (where
 * JSON.stringify writes it as a `\ud800` escape). It refuses them when the statement runs, after everything
 * else has passed.
 */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

/** True when Postgres stores `s` as text and inside jsonb. */
export function storable(s: string): boolean {
  return !UNSTORABLE.test(s);
}

/**
 * `s` with what Postgres refuses replaced by U+FFFD, for text that arrives from elsewhere and must be kept
 * (a receiver's answer): one NUL in it failed the attempt's record, and the delivery never settled.
 */
export function storableText<T extends string | null>(s: T): T {
  return (s === null ? s : s.replace(UNSTORABLE_ALL, '\ufffd')) as T;
}
