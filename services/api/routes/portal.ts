import { randomBytes } from 'node:crypto';
import express, { Router, type Request } from 'express';
import { z } from 'zod';
import { mintToken, type TokenKeys } from '../../../shared/auth/tokens.js';
import type { Pool } from '../../../shared/db/pool.js';
import { insertPortalLink, spendPortalLink } from '../../../shared/db/portal-links.js';
import { ForbiddenError, UnauthorizedError, UnavailableError } from '../../../shared/errors.js';
import { isValidPattern, TOPIC_PATTERN } from '../../../shared/topics.js';
import { principalOf } from '../middleware/auth.js';
import { parseBody } from '../http/validate.js';
import { instant } from '../http/view-fields.js';

export interface PortalRoutesDeps {
  pool: Pool;
  tokens: TokenKeys;
  /** Origin of the links handed out (`HOOKLINE_PUBLIC_URL`); the request's own when absent. */
  publicUrl?: string;
}

/** How long an unopened link stays valid, and a session's lifetime, when the caller does not say. */
export const PORTAL_LINK_TTL_S = 600;
export const PORTAL_SESSION_TTL_S = 3600;

export const portalSessionSchema = z
  .object({
    tenant: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of [A-Za-z0-9_-]')
      .optional()
      .meta({ description: "Defaults to the caller's tenant; another tenant is refused." }),
    subject: z
      .string()
      .min(1)
      .max(200)
      .meta({ description: 'The principal (`sub`) whose subscriptions the portal shows and creates.' }),
    topics: z
      .array(
        z
          .string()
          .refine(isValidPattern, { message: 'must be a topic pattern such as orders.* or orders.>' })
          .meta({ pattern: TOPIC_PATTERN }),
      )
      .min(1)
      .max(20)
      .meta({ description: 'Topic patterns the session may see and subscribe to.' }),
    ttl: z.number().int().min(30).max(3600).default(PORTAL_LINK_TTL_S).meta({ description: 'Seconds the link stays valid unopened.' }),
    sessionTtl: z
      .number()
      .int()
      .min(60)
      .max(86_400)
      .default(PORTAL_SESSION_TTL_S)
      .meta({ description: 'Seconds the session lasts once opened.' }),
  })
  .strict();

export const exchangeSchema = z
  .object({ code: z.string().min(20).max(100).meta({ description: 'The code after `#code=` in the link.' }) })
  .strict();

function origin(req: Request, publicUrl: string | undefined): string {
  return publicUrl ?? `${req.protocol}://${req.get('host') ?? '127.0.0.1'}`;
}

export const portalLinkSchema = z.object({
  url: z.string().meta({ description: 'Single-use link into /portal; the code is in the fragment, so no server logs it.' }),
  expiresAt: instant(),
});

export const portalSessionAnswerSchema = z.object({
  token: z
    .string()
    .meta({ description: "A JWT limited to the subject's subscriptions on the topics: `subscribe:` grants only, no publish, no admin." }),
  expiresAt: instant(),
  tenant: z.string(),
  subject: z.string(),
  topics: z.array(z.string()),
});

type PortalLink = z.output<typeof portalLinkSchema>;
type PortalSession = z.output<typeof portalSessionAnswerSchema>;

/** `POST /v1/portal/sessions` (admin): a short-lived, single-use link into the consumer portal. */
export function portalSessionRoutes(deps: PortalRoutesDeps): Router {
  const r = Router();
  const json = express.json({ limit: '16kb', strict: true, type: () => true });

  r.post('/v1/portal/sessions', json, async (req, res) => {
    const p = principalOf(req);
    if (!p.admin) throw new ForbiddenError('auth.forbidden', 'Creating portal sessions needs the admin scope.');
    const body = parseBody(portalSessionSchema, req.body, 'portal.invalid');
    const tenant = body.tenant ?? p.tenant;
    if (tenant !== p.tenant) {
      throw new ForbiddenError('auth.forbidden', `An admin of tenant "${p.tenant}" may not open a portal into tenant "${tenant}".`);
    }
    if (!deps.tokens.secret) {
      throw new UnavailableError(
        'portal.unavailable',
        'Portal sessions need HOOKLINE_JWT_SECRET: with only a public key this server cannot sign session tokens.',
      );
    }
    const code = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + body.ttl * 1000);
    await insertPortalLink(deps.pool, {
      code,
      tenant,
      subject: body.subject,
      topics: body.topics,
      sessionTtlS: body.sessionTtl,
      createdBy: p.sub,
      expiresAt,
    });
    // The code travels in the fragment: browsers never send it to a server, so no access log or Referer
    // carries it, and the page trades it for a session with a POST.
    res.status(201).json({ url: `${origin(req, deps.publicUrl)}/portal/#code=${code}`, expiresAt: expiresAt.toISOString() } satisfies PortalLink);
  });

  return r;
}

/** `POST /v1/portal/exchange` `{code}`: unauthenticated; spends a link and answers its session token. */
export function portalExchangeRoutes(deps: PortalRoutesDeps): Router {
  const r = Router();
  const json = express.json({ limit: '1kb', strict: true, type: () => true });

  r.post('/v1/portal/exchange', json, async (req, res) => {
    const { code } = parseBody(exchangeSchema, req.body, 'portal.invalid');
    const grant = await spendPortalLink(deps.pool, code);
    if (!grant) {
      throw new UnauthorizedError('portal.link_invalid', 'This portal link is unknown, expired or already used: ask for a new one.');
    }
    if (!deps.tokens.secret) throw new UnavailableError('portal.unavailable', 'Portal sessions need HOOKLINE_JWT_SECRET.');
    const token = mintToken(deps.tokens.secret, {
      sub: grant.subject,
      tenant: grant.tenant,
      scope: grant.topics.map((t) => `subscribe:${t}`).join(' '),
      portal: true,
      expiresIn: grant.sessionTtlS,
      // Where aud/iss are required, the session's own token must pass the same check as any other.
      audience: deps.tokens.audience,
      issuer: deps.tokens.issuer,
    });
    res.set('cache-control', 'no-store').json({
      token,
      expiresAt: new Date(Date.now() + grant.sessionTtlS * 1000).toISOString(),
      tenant: grant.tenant,
      subject: grant.subject,
      topics: grant.topics,
    } satisfies PortalSession);
  });

  return r;
}
