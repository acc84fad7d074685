import { ValidationError } from './errors.js';

/**
 * Topic names and subscription patterns, with NATS subject semantics: dot-separated tokens of
 * `[A-Za-z0-9_-]`; a pattern may also use `*` for exactly one token and a final `>` for one or more.
 */

/** Longest topic or pattern accepted, in characters. */
export const MAX_TOPIC_LENGTH = 255;

const TOKEN = /^[A-Za-z0-9_-]+$/;
const RULE =
  `dot-separated tokens of letters, digits, '_' and '-', at most ${MAX_TOPIC_LENGTH} characters, ` +
  'with no empty tokens';
const PATTERN_RULE = `${RULE}; '*' stands for one token and a final '>' for the rest`;

/** The first thing wrong with `s` as a topic (or pattern), or undefined when it is fine. */
function problem(s: string, wildcards: boolean): string | undefined {
  if (s.length === 0) return 'it is empty';
  if (s.length > MAX_TOPIC_LENGTH) return `it is ${s.length} characters long`;
  const tokens = s.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.length === 0) return `token ${i + 1} is empty`;
    if (TOKEN.test(token)) continue;
    if (!wildcards) {
      return token === '*' || token === '>'
        ? `wildcard '${token}' is only allowed in a pattern`
        : `token ${i + 1} has a character outside [A-Za-z0-9_-]`;
    }
    if (token === '*') continue;
    if (token === '>') {
      if (i === tokens.length - 1) continue;
      return "'>' may only be the last token";
    }
    return `token ${i + 1} has a character outside [A-Za-z0-9_-]`;
  }
  return undefined;
}

/** Quote a caller-supplied value for an error detail without echoing something huge. */
function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

/** True when `s` is a concrete topic (no wildcards). */
export function isValidTopic(s: string): boolean {
  return problem(s, false) === undefined;
}

/**
 * The token characters of a pattern as a regular expression, for documents (OpenAPI); it does not check
 * where `*` and `>` may stand: {@link isValidPattern} decides.
 */
export const TOPIC_PATTERN = '^[A-Za-z0-9_*>-]+(\\.[A-Za-z0-9_*>-]+)*$';

/** True when `s` is a subscription pattern (a topic, optionally with `*` tokens and a final `>`). */
export function isValidPattern(s: string): boolean {
  return problem(s, true) === undefined;
}

/** @throws ValidationError `topic.invalid` naming the value and the rule it breaks. */
export function assertTopic(s: string): void {
  const why = problem(s, false);
  if (why !== undefined) {
    throw new ValidationError('topic.invalid', `topic ${quote(s)} is invalid: ${why}; topics are ${RULE}`);
  }
}

/** @throws ValidationError `pattern.invalid` naming the value and the rule it breaks. */
export function assertPattern(s: string): void {
  const why = problem(s, true);
  if (why !== undefined) {
    throw new ValidationError(
      'pattern.invalid',
      `pattern ${quote(s)} is invalid: ${why}; patterns are ${PATTERN_RULE}`,
    );
  }
}

/**
 * True when `topic` is matched by `pattern` (NATS semantics: `orders.*` matches `orders.created` but
 * not `orders` or `orders.a.b`; `orders.>` matches `orders.a` and `orders.a.b` but not `orders`).
 * An invalid pattern or topic matches nothing.
 */
export function topicMatches(pattern: string, topic: string): boolean {
  if (!isValidPattern(pattern) || !isValidTopic(topic)) return false;
  const p = pattern.split('.');
  const t = topic.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i]!;
    if (token === '>') return t.length > i;
    if (i >= t.length) return false;
    if (token !== '*' && token !== t[i]) return false;
  }
  return p.length === t.length;
}

/**
 * True when every topic matched by `pattern` is also matched by `grant`, e.g. the grant `orders.>`
 * covers the pattern `orders.*`, but `orders.*` does not cover `orders.>`. Used to check a requested
 * subscription against a token's `subscribe:<grant>`. An invalid grant or pattern covers nothing:
 * this is an authorization check, so it fails closed.
 */
export function patternCovers(grant: string, pattern: string): boolean {
  if (!isValidPattern(grant) || !isValidPattern(pattern)) return false;
  const g = grant.split('.');
  const p = pattern.split('.');
  for (let i = 0; i < g.length; i++) {
    const token = g[i]!;
    // Every topic the pattern matches has at least one token left here exactly when the pattern does.
    if (token === '>') return p.length > i;
    if (i >= p.length) return false;
    // A pattern '>' stands for any number of tokens, which only a grant '>' can absorb.
    if (p[i] === '>') return false;
    if (token === '*') continue;
    if (p[i] !== token) return false;
  }
  return p.length === g.length;
}

/**
 * A PostgreSQL regular expression (`~`) that matches exactly the topics `pattern` matches, so a listing can
 * filter by pattern in SQL. The pattern must be valid (see {@link assertPattern}).
 */
export function patternToRegex(pattern: string): string {
  const tokens = pattern.split('.').map((t) => (t === '*' ? '[^.]+' : t === '>' ? '.+' : t.replace(/[^A-Za-z0-9_]/g, '\\$&')));
  return `^${tokens.join('\\.')}$`;
}
