import { fieldErrors } from './errors.js';

/**
 * Subscription filters: a small JSON language over a message's payload, validated when a subscription is
 * saved, compiled once, and evaluated by the router for every message that matches the topic pattern.
 *
 * ```
 * filter     = condition | {"and": [filter, …]} | {"or": [filter, …]} | {"not": filter}
 * condition  = {"path": "<dotted.path>", <one operator>}
 * operator   = "eq": scalar            the value at path is exactly this scalar (no type coercion)
 *            | "in": [scalar, …]       … is one of these scalars
 *            | "gt" | "gte" | "lt" | "lte": number
 *                                      the value at path is a number and compares so
 *            | "exists": true | false  the path is present (even with the value null) / is absent
 * scalar     = string | number | boolean | null
 * ```
 * A path is dot-separated keys of the payload (`order.customer.country`); a segment that is a decimal
 * index (`items.0.sku`) also steps into an array. Keys containing a dot cannot be addressed. A condition
 * on a path that is absent is false (so `{"not": {"path": "a", "eq": 1}}` is true when `a` is absent).
 *
 * Parser, validator and compiler stay in one file (≈ 330 lines): they share the grammar above, and a
 * change to it touches all three.
 */

/** A value a condition compares with. */
export type Scalar = string | number | boolean | null;

/** One comparison on one path. */
export type Condition =
  | { path: string; eq: Scalar }
  | { path: string; in: Scalar[] }
  | { path: string; gt: number }
  | { path: string; gte: number }
  | { path: string; lt: number }
  | { path: string; lte: number }
  | { path: string; exists: boolean };

/** A subscription filter, as stored and returned by the API. */
export type Filter = Condition | { and: Filter[] } | { or: Filter[] } | { not: Filter };

/** A filter ready to evaluate: true when the payload (the parsed JSON of a message) matches. */
export type CompiledFilter = (payload: unknown) => boolean;

/** What makes a filter too big to accept. Every bound is inclusive. */
export const FILTER_LIMITS = Object.freeze({
  /** Nesting, counting each condition and combinator as one level: `{"and": [cond]}` is 2. */
  maxDepth: 8,
  /** Conditions and combinators in all. */
  maxNodes: 64,
  /** Items of one `and` / `or`. */
  maxBranches: 32,
  /** Values of one `in`. */
  maxInValues: 100,
  /** Characters of one path. */
  maxPathLength: 256,
  /** Segments of one path. */
  maxPathSegments: 16,
  /** Characters of one string operand. */
  maxStringLength: 1024,
  /** The whole filter, as compact JSON. */
  maxBytes: 8192,
});

/** One problem with a filter: where (keys and indexes from the filter's root) and what. */
export interface FilterIssue {
  path: (string | number)[];
  message: string;
}

const OPERATORS = ['eq', 'in', 'gt', 'gte', 'lt', 'lte', 'exists'] as const;
type Operator = (typeof OPERATORS)[number];
const COMBINATORS = ['and', 'or', 'not'] as const;
const NUMERIC = new Set<string>(['gt', 'gte', 'lt', 'lte']);
const INDEX = /^(0|[1-9][0-9]{0,8})$/;
const GRAMMAR =
  'a filter is {"path": "a.b", <operator>: value} with one operator of eq, in, gt, gte, lt, lte, exists, ' +
  'or {"and": [...]}, {"or": [...]}, {"not": {...}}';
const MAX_ISSUES = 20;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

class Checker {
  readonly issues: FilterIssue[] = [];
  nodes = 0;
  private tooManyReported = false;

  add(path: (string | number)[], message: string) {
    if (this.issues.length < MAX_ISSUES) this.issues.push({ path, message });
  }

  node(value: unknown, path: (string | number)[], depth: number): void {
    if (this.issues.length >= MAX_ISSUES) return;
    if (depth > FILTER_LIMITS.maxDepth) {
      this.add(path, `filters nest at most ${FILTER_LIMITS.maxDepth} levels deep`);
      return;
    }
    if (++this.nodes > FILTER_LIMITS.maxNodes) {
      if (!this.tooManyReported) this.add(path, `a filter has at most ${FILTER_LIMITS.maxNodes} conditions and combinators`);
      this.tooManyReported = true;
      return;
    }
    if (!isPlainObject(value)) {
      this.add(path, `must be an object, not ${kind(value)}; ${GRAMMAR}`);
      return;
    }
    const keys = Object.keys(value);
    const combinators = keys.filter((k) => (COMBINATORS as readonly string[]).includes(k));
    if (combinators.length > 0) {
      if (keys.length !== 1) {
        this.add(path, `a combinator object has exactly one key ("${combinators[0]}"), found ${keys.map((k) => `"${k}"`).join(', ')}`);
        return;
      }
      const op = combinators[0]!;
      const operand = value[op];
      if (op === 'not') {
        this.node(operand, [...path, 'not'], depth + 1);
        return;
      }
      if (!Array.isArray(operand) || operand.length === 0 || operand.length > FILTER_LIMITS.maxBranches) {
        this.add([...path, op], `must be an array of 1 to ${FILTER_LIMITS.maxBranches} filters`);
        return;
      }
      operand.forEach((child, i) => this.node(child, [...path, op, i], depth + 1));
      return;
    }
    this.condition(value, keys, path);
  }

  private condition(value: Record<string, unknown>, keys: string[], path: (string | number)[]) {
    const unknown = keys.filter((k) => k !== 'path' && !(OPERATORS as readonly string[]).includes(k));
    if (unknown.length > 0) {
      this.add([...path, unknown[0]!], `unknown key "${unknown[0]}"; ${GRAMMAR}`);
      return;
    }
    if (!('path' in value)) {
      this.add(path, `a condition needs a "path"; ${GRAMMAR}`);
    } else {
      this.path(value.path, [...path, 'path']);
    }
    const ops = keys.filter((k) => k !== 'path') as Operator[];
    if (ops.length !== 1) {
      this.add(
        path,
        ops.length === 0
          ? `a condition needs one operator of ${OPERATORS.join(', ')}`
          : `a condition has exactly one operator, found ${ops.join(', ')}; combine conditions with "and"`,
      );
      return;
    }
    const op = ops[0]!;
    const operand = value[op];
    const at = [...path, op];
    if (op === 'eq') this.scalar(operand, at);
    else if (op === 'in') {
      if (!Array.isArray(operand) || operand.length === 0 || operand.length > FILTER_LIMITS.maxInValues) {
        this.add(at, `must be an array of 1 to ${FILTER_LIMITS.maxInValues} strings, numbers, booleans or nulls`);
        return;
      }
      operand.forEach((v, i) => this.scalar(v, [...at, i]));
    } else if (NUMERIC.has(op)) {
      if (typeof operand !== 'number' || !Number.isFinite(operand)) this.add(at, `must be a number, not ${kind(operand)}`);
    } else if (typeof operand !== 'boolean') {
      this.add(at, `must be true or false, not ${kind(operand)}`);
    }
  }

  private path(p: unknown, at: (string | number)[]) {
    if (typeof p !== 'string') {
      this.add(at, `must be a string of dot-separated keys, not ${kind(p)}`);
      return;
    }
    if (p.length === 0 || p.length > FILTER_LIMITS.maxPathLength) {
      this.add(at, `must be 1 to ${FILTER_LIMITS.maxPathLength} characters long`);
      return;
    }
    const segments = p.split('.');
    if (segments.length > FILTER_LIMITS.maxPathSegments) {
      this.add(at, `has ${segments.length} segments; at most ${FILTER_LIMITS.maxPathSegments} are allowed`);
    } else if (segments.some((s) => s.length === 0)) {
      this.add(at, 'must be dot-separated keys with no empty key (no leading, trailing or double dots)');
    }
  }

  private scalar(v: unknown, at: (string | number)[]) {
    if (typeof v === 'string') {
      if (v.length > FILTER_LIMITS.maxStringLength) this.add(at, `strings are at most ${FILTER_LIMITS.maxStringLength} characters`);
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) this.add(at, 'must be a finite number');
    } else if (typeof v !== 'boolean' && v !== null) {
      this.add(at, `must be a string, number, boolean or null, not ${kind(v)}`);
    }
  }
}

/** Every problem with `value` as a filter (at most 20); an empty list means it is a valid {@link Filter}. */
export function validateFilter(value: unknown): FilterIssue[] {
  const checker = new Checker();
  checker.node(value, [], 1);
  if (checker.issues.length === 0) {
    // Only measured once the shape is known to be bounded (no deep nesting for JSON.stringify to recurse into).
    const bytes = Buffer.byteLength(JSON.stringify(value));
    if (bytes > FILTER_LIMITS.maxBytes) {
      checker.add([], `is ${bytes} bytes as JSON; at most ${FILTER_LIMITS.maxBytes} are allowed`);
    }
  }
  return checker.issues;
}

/** `filter.and.0.eq` style, for error details. */
export function formatIssuePath(prefix: string, path: (string | number)[]): string {
  return [prefix, ...path].filter((s) => s !== '').join('.');
}

/**
 * Checks `value` and returns it typed as a filter.
 * @throws ValidationError `filter.invalid` naming every problem; `extensions.errors` lists them as
 * `{path, message}` with paths like `filter.and.1.in`.
 */
export function parseFilter(value: unknown, prefix = 'filter'): Filter {
  const issues = validateFilter(value);
  if (issues.length > 0) {
    throw fieldErrors('filter.invalid', issues.map((i) => ({ path: formatIssuePath(prefix, i.path), message: i.message })));
  }
  return value as Filter;
}

/** Marks an absent path; distinct from every JSON value, `undefined` included. */
const MISSING: unique symbol = Symbol('missing');

function resolver(path: string): (payload: unknown) => unknown {
  const segments = path.split('.');
  return (payload) => {
    let cur: unknown = payload;
    for (const seg of segments) {
      if (Array.isArray(cur)) {
        if (!INDEX.test(seg)) return MISSING;
        const i = Number(seg);
        if (i >= cur.length) return MISSING;
        cur = cur[i];
      } else if (isPlainObject(cur)) {
        // Own keys only: "constructor" or "__proto__" never reach the prototype.
        if (!Object.hasOwn(cur, seg)) return MISSING;
        cur = cur[seg];
      } else {
        return MISSING;
      }
    }
    return cur;
  };
}

function compileNode(f: Filter): CompiledFilter {
  if ('and' in f) {
    const parts = f.and.map(compileNode);
    return (p) => parts.every((part) => part(p));
  }
  if ('or' in f) {
    const parts = f.or.map(compileNode);
    return (p) => parts.some((part) => part(p));
  }
  if ('not' in f) {
    const inner = compileNode(f.not);
    return (p) => !inner(p);
  }
  const get = resolver(f.path);
  if ('eq' in f) {
    const want = f.eq;
    return (p) => get(p) === want;
  }
  if ('in' in f) {
    const set = new Set<Scalar>(f.in);
    return (p) => {
      const v = get(p);
      // Objects and arrays are never members: only scalars compare.
      return (v === null || typeof v !== 'object') && set.has(v as Scalar);
    };
  }
  if ('exists' in f) {
    const want = f.exists;
    return (p) => (get(p) !== MISSING) === want;
  }
  const numeric = (test: (v: number) => boolean): CompiledFilter => (p) => {
    const v = get(p);
    return typeof v === 'number' && test(v);
  };
  if ('gt' in f) {
    const n = f.gt;
    return numeric((v) => v > n);
  }
  if ('gte' in f) {
    const n = f.gte;
    return numeric((v) => v >= n);
  }
  if ('lt' in f) {
    const n = f.lt;
    return numeric((v) => v < n);
  }
  const n = f.lte;
  return numeric((v) => v <= n);
}

/**
 * Validates and compiles a filter into a predicate over parsed payloads.
 * @throws ValidationError `filter.invalid` (see {@link parseFilter}).
 */
export function compileFilter(value: unknown): CompiledFilter {
  return compileNode(parseFilter(value));
}

/** Matches nothing: what a stored filter that no longer validates turns into (fail closed). */
export const MATCH_NOTHING: CompiledFilter = () => false;

/**
 * The predicate for a filter read back from the database: null/undefined (no filter) gives undefined,
 * a filter that does not validate (written by an older or newer version) gives {@link MATCH_NOTHING}.
 */
export function compileStoredFilter(value: unknown): CompiledFilter | undefined {
  if (value === null || value === undefined) return undefined;
  try {
    return compileFilter(value);
  } catch {
    return MATCH_NOTHING;
  }
}
