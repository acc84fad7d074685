import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Principal } from '../../../shared/auth/principal.js';
import { mintToken, TENANT_PATTERN, type TokenKeys } from '../../../shared/auth/tokens.js';
import type { Pool } from '../../../shared/db/pool.js';
import { insertPortalLink, spendPortalLink } from '../../../shared/db/portal-links.js';
import { ForbiddenError, UnauthorizedError, UnavailableError } from '../../../shared/errors.js';
import { isValidPattern, TOPIC_PATTERN } from '../../../shared/topics.js';
import { instant } from '../http/view-fields.js';

/**
 * The consumer portal's way in: an admin opens a single-use link for one subject and some topic patterns;
 * whoever opens it trades its code for a session token limited to that subject's subscriptions there.
 */

export interface PortalDeps {
  pool: Pool;
  tokens: TokenKeys;
}

/** How long an unopened link stays valid, and a session's lifetime, when the caller does not say. */
export const PORTAL_LINK_TTL_S = 600;
export const PORTAL_SESSION_TTL_S = 3600;

export const portalSessionSchema = z
  .object({
    tenant: z
      .string()
      .regex(TENANT_PATTERN, 'must be 1-64 characters of [A-Za-z0-9_-]')
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

export type PortalLink = z.output<typeof portalLinkSchema>;
export type PortalSession = z.output<typeof portalSessionAnswerSchema>;

/** Opens a link for `body.subject` in the tenant of `p`, an admin; `origin` is where the portal is served. */
export async function openPortalLink(deps: PortalDeps, p: Principal, body: z.output<typeof portalSessionSchema>, origin: string): Promise<PortalLink> {
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
  return { url: `${origin}/portal/#code=${code}`, expiresAt: expiresAt.toISOString() };
}

/** Spends a link's code: the session it opens. @throws UnauthorizedError for an unknown, expired or spent code. */
export async function exchangePortalCode(deps: PortalDeps, code: string): Promise<PortalSession> {
  // Checked before the code is spent: a server that cannot sign must not use up the link.
  if (!deps.tokens.secret) throw new UnavailableError('portal.unavailable', 'Portal sessions need HOOKLINE_JWT_SECRET.');
  const grant = await spendPortalLink(deps.pool, code);
  if (!grant) {
    throw new UnauthorizedError('portal.link_invalid', 'This portal link is unknown, expired or already used: ask for a new one.');
  }
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
  return {
    token,
    expiresAt: new Date(Date.now() + grant.sessionTtlS * 1000).toISOString(),
    tenant: grant.tenant,
    subject: grant.subject,
    topics: grant.topics,
  };
}
