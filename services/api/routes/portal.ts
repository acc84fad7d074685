import { Router, type Request } from 'express';
import { ForbiddenError } from '../../../shared/errors.js';
import { parseBody } from '../http/validate.js';
import { principalOf } from '../middleware/auth.js';
import { exchangePortalCode, exchangeSchema, openPortalLink, portalSessionSchema, type PortalDeps } from '../portal/portal-links.js';
import { jsonBody } from '../http/json-body.js';

export interface PortalRoutesDeps extends PortalDeps {
  /** Origin of the links handed out (`HOOKLINE_PUBLIC_URL`); the request's own when absent. */
  publicUrl?: string;
}

function origin(req: Request, publicUrl: string | undefined): string {
  return publicUrl ?? `${req.protocol}://${req.get('host') ?? '127.0.0.1'}`;
}

/** `POST /v1/portal/sessions` (admin): a short-lived, single-use link into the consumer portal. */
export function portalSessionRoutes(deps: PortalRoutesDeps): Router {
  const r = Router();
  const json = jsonBody('16kb');

  r.post('/v1/portal/sessions', json, async (req, res) => {
    const p = principalOf(req);
    if (!p.admin) throw new ForbiddenError('auth.forbidden', 'Creating portal sessions needs the admin scope.');
    const body = parseBody(portalSessionSchema, req.body, 'portal.invalid');
    res.status(201).json(await openPortalLink(deps, p, body, origin(req, deps.publicUrl)));
  });

  return r;
}

/** `POST /v1/portal/exchange` `{code}`: unauthenticated; spends a link and answers its session token. */
export function portalExchangeRoutes(deps: PortalRoutesDeps): Router {
  const r = Router();
  const json = jsonBody('1kb');

  r.post('/v1/portal/exchange', json, async (req, res) => {
    const { code } = parseBody(exchangeSchema, req.body, 'portal.invalid');
    res.set('cache-control', 'no-store').json(await exchangePortalCode(deps, code));
  });

  return r;
}
