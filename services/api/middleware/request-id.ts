import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

const SAFE = /^[A-Za-z0-9._-]{1,128}$/;

/** Echoes a caller's X-Request-Id (when well-formed) or assigns one, for logs and problem documents. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.header('x-request-id');
  const id = given && SAFE.test(given) ? given : randomUUID();
  res.setHeader('x-request-id', id);
  (req as { id?: string }).id = id;
  next();
};
