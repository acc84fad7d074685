import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import { storable } from '../../../shared/db/storable-text.js';
import { fieldErrors, ValidationError } from '../../../shared/errors.js';

/**
 * JSON request bodies, parsed strictly. body-parser replaces bytes that are not UTF-8 with U+FFFD, so what was
 * stored differed from what was sent: such a body is refused instead. (Thrown from `verify`, the error keeps
 * its own 400 and code: body-parser passes an error's status through.)
 */
export function strictJson(options: { limit: string | number; type?: (req: IncomingMessage) => boolean }): RequestHandler {
  return express.json({
    limit: options.limit,
    strict: true,
    type: options.type ?? (() => true),
    verify: (_req, _res, body) => {
      if (!isUtf8(body)) throw new ValidationError('request.invalid_text', 'The request body is not valid UTF-8.');
    },
  });
}

/**
 * The body parser of the control plane (subscriptions, polls, portal, replay, …), whose strings end up in
 * Postgres text and jsonb. Postgres refuses a NUL character and an unpaired surrogate in both, and did so
 * only when the statement ran: a 500 for a request that had passed validation. They are refused here, where
 * the answer can say which field.
 */
export function jsonBody(limit: string | number): RequestHandler {
  const parse = strictJson({ limit });
  return (req, res, next) => parse(req, res, (err?: unknown) => next(err ?? unstorableText(req.body)));
}

/** Paths of the strings (values or keys) Postgres cannot store, as a 400; undefined when there are none. */
function unstorableText(body: unknown): ValidationError | undefined {
  const errors: { path: string; message: string }[] = [];
  // Iterative: a body may nest as deep as JSON.parse allows, deeper than a recursive walk's stack.
  const stack: [unknown, string][] = [[body, '']];
  while (stack.length > 0 && errors.length < 10) {
    const [value, path] = stack.pop()!;
    if (typeof value === 'string') {
      if (!storable(value)) errors.push({ path: path || '(body)', message: 'must not contain NUL characters or unpaired surrogates' });
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push([v, path ? `${path}.${i}` : String(i)]));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        const at = path ? `${path}.${k}` : k;
        if (!storable(k)) errors.push({ path: at, message: 'a key must not contain NUL characters or unpaired surrogates' });
        stack.push([v, at]);
      }
    }
  }
  return errors.length ? fieldErrors('request.invalid_text', errors) : undefined;
}

/**
 * A NUL in the path or query (`%00`) reached Postgres through ids and cursors the same way; no id, topic or
 * parameter of this API holds one.
 */
export const refuseNulInUrl: RequestHandler = (req, _res, next) => {
  if (/%00/i.test(req.originalUrl) || req.originalUrl.includes('\u0000')) {
    return next(new ValidationError('request.invalid_text', 'The request path or query holds a NUL character (%00).'));
  }
  next();
};
