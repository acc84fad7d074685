import type { Request, RequestHandler } from 'express';
import type { Principal } from '../../../shared/auth/principal.js';
import { verifyToken, type TokenKeys } from '../../../shared/auth/tokens.js';
import { UnauthorizedError } from '../../../shared/errors.js';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

const STREAM_PATH = /\/stream$/;

/**
 * Requires `Authorization: Bearer <JWT>`. Stream endpoints also take `?access_token=` because a
 * browser's EventSource cannot set headers; that parameter is redacted from logs.
 */
export function authenticate(keys: TokenKeys): RequestHandler {
  return (req, _res, next) => {
    const header = req.header('authorization');
    let token: string | undefined;
    if (header) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      if (!m) return next(new UnauthorizedError('auth.malformed', 'Use "Authorization: Bearer <token>".'));
      token = m[1];
    } else if (typeof req.query.access_token === 'string' && STREAM_PATH.test(req.path)) {
      // Only where a browser has no other way (EventSource): a token in a URL ends up in proxy logs and
      // Referer headers, so no other route accepts one.
      token = req.query.access_token;
    }
    if (!token) return next(new UnauthorizedError('auth.missing', 'A bearer token is required.'));
    try {
      req.principal = verifyToken(token, keys);
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** The principal of an authenticated request (the auth middleware ran before). */
export function principalOf(req: Request): Principal {
  if (!req.principal) throw new UnauthorizedError('auth.missing', 'A bearer token is required.');
  return req.principal;
}
