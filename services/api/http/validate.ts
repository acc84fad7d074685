import type { z } from 'zod';
import { fieldErrors, ValidationError } from '../../../shared/errors.js';

/** Parses `value` with a zod schema; failures become one 400 listing every offending field. */
export function parseBody<S extends z.ZodType>(schema: S, value: unknown, code = 'request.invalid'): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw fieldErrors(code, r.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message })));
}

/** Opaque keyset cursor over (createdAt, id). */
export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');
}

// What encodeCursor writes. Date.parse alone also takes "1" or "May 5", which Postgres refuses (a 500).
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
// Rejects dates Date.parse rolls over (2020-02-30) and year 0, which JavaScript has and Postgres has not.
const roundTrips = (iso: string) => realCalendarDate(iso) && !Number.isNaN(Date.parse(iso)) && new Date(iso).toISOString() === iso;
// Ids are printable ASCII: anything else (a NUL) failed only in Postgres.
const CURSOR_ID = /^[\x21-\x7e]{1,200}$/;

/**
 * True when `value` starts with a day that exists, from year 1 on: Date.parse rolls 2026-02-30 into March,
 * and Postgres has no year 0.
 */
export function realCalendarDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(0);
  probe.setUTCFullYear(y, mo - 1, d);
  return y >= 1 && probe.getUTCFullYear() === y && probe.getUTCMonth() === mo - 1 && probe.getUTCDate() === d;
}

export function decodeCursor(cursor: unknown): { createdAt: string; id: string } | undefined {
  if (cursor === undefined) return undefined;
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(String(cursor), 'base64url').toString('utf8')) as [string, string];
    if (typeof id === 'string' && CURSOR_ID.test(id) && CURSOR_TIME.test(createdAt) && roundTrips(createdAt)) {
      return { createdAt, id };
    }
  } catch {
    // fall through
  }
  throw new ValidationError('request.invalid_cursor', 'The cursor is not one this API returned.');
}

/** `limit` query parameter: 1..max, default `def`. */
export function parseLimit(value: unknown, def = 50, max = 200): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new ValidationError('request.invalid_limit', `limit must be an integer from 1 to ${max}.`);
  }
  return n;
}
