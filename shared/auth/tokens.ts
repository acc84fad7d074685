import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { UnauthorizedError } from '../errors.js';
import { isValidPattern } from '../topics.js';
import type { Principal } from './principal.js';

/** What a tenant name may be: it is a claim, a label and part of keys. */
export const TENANT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Key material and required claims for verifying bearer tokens. */
export interface TokenKeys {
  /** HS256 shared secret. */
  secret?: string;
  /** PEM public key for RS256 / ES256 tokens. */
  publicKey?: string;
  /** When set, a token's `aud` must be (or include) this value (`HOOKLINE_JWT_AUDIENCE`). */
  audience?: string;
  /** When set, a token's `iss` must be this value (`HOOKLINE_JWT_ISSUER`). */
  issuer?: string;
}

/** Turns a space-separated `scope` claim into grants; unknown or malformed grants are ignored. */
export function parseScope(scope: unknown): Pick<Principal, 'admin' | 'publish' | 'subscribe'> {
  const out = { admin: false, publish: [] as string[], subscribe: [] as string[] };
  const words = typeof scope === 'string' ? scope.split(/\s+/) : Array.isArray(scope) ? scope : [];
  for (const w of words) {
    if (typeof w !== 'string') continue;
    if (w === 'admin') out.admin = true;
    const [kind, pattern] = w.split(/:(.*)/s, 2);
    if ((kind === 'publish' || kind === 'subscribe') && pattern && isValidPattern(pattern)) out[kind].push(pattern);
  }
  return out;
}

const keyObjects = new Map<string, KeyObject>();

/**
 * The key as a KeyObject, made once. Given a string, jsonwebtoken converts it on every verify, and for an
 * HS256 secret it first tries to parse it as a PEM public key and catches the failure: that alone was ~10 %
 * of a broker's CPU under publish load (bench/README.md).
 */
function keyObject(key: string, kind: 'secret' | 'public'): KeyObject {
  let k = keyObjects.get(key);
  if (!k) {
    k = kind === 'secret' ? createSecretKey(Buffer.from(key)) : createPublicKey(key);
    if (keyObjects.size >= 16) keyObjects.clear();
    keyObjects.set(key, k);
  }
  return k;
}

/** Tokens verified before, per key set, with the second their validity ends (`exp`; Infinity without). */
const verified = new WeakMap<TokenKeys, Map<string, { principal: Principal; expSec: number }>>();
const VERIFIED_CAPACITY = 1000;

/**
 * Verifies a bearer token and returns its principal; throws UnauthorizedError with a reason. A publisher
 * sends the same token with every request: once verified it is remembered (keyed by the whole token, its
 * signature included) until its `exp`, which spares a decode, an HMAC and two JSON parses per request.
 */
export function verifyToken(token: string, keys: TokenKeys): Principal {
  let cache = verified.get(keys);
  const hit = cache?.get(token);
  // The same test as jsonwebtoken's: expired once the current whole second reaches exp.
  if (hit && Math.floor(Date.now() / 1000) < hit.expSec) {
    return { ...hit.principal, publish: [...hit.principal.publish], subscribe: [...hit.principal.subscribe] };
  }
  const principal = verifyTokenUncached(token, keys);
  if (!cache) verified.set(keys, (cache = new Map()));
  if (cache.size >= VERIFIED_CAPACITY) cache.clear();
  const exp = (jwt.decode(token) as jwt.JwtPayload | null)?.exp;
  cache.set(token, { principal, expSec: typeof exp === 'number' ? exp : Infinity });
  return { ...principal, publish: [...principal.publish], subscribe: [...principal.subscribe] };
}

function verifyTokenUncached(token: string, keys: TokenKeys): Principal {
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded || typeof decoded.payload === 'string') {
    throw new UnauthorizedError('auth.invalid_token', 'The bearer token is not a JWT.');
  }
  const alg = decoded.header.alg;
  const key = alg === 'HS256' ? keys.secret : alg === 'RS256' || alg === 'ES256' ? keys.publicKey : undefined;
  if (!key) throw new UnauthorizedError('auth.invalid_token', `Tokens signed with ${alg} are not accepted here.`);
  let claims: jwt.JwtPayload;
  try {
    claims = jwt.verify(token, keyObject(key, alg === 'HS256' ? 'secret' : 'public'), {
      algorithms: [alg as jwt.Algorithm],
      ...(keys.audience !== undefined ? { audience: keys.audience } : {}),
      ...(keys.issuer !== undefined ? { issuer: keys.issuer } : {}),
    }) as jwt.JwtPayload;
  } catch (err) {
    const e = err as Error;
    const reason =
      e.name === 'TokenExpiredError'
        ? 'The bearer token has expired.'
        : /jwt (audience|issuer) invalid/.test(e.message)
          ? `The bearer token is not meant for this service (its ${/audience/.test(e.message) ? 'aud' : 'iss'} claim does not match).`
          : 'The bearer token is invalid.';
    throw new UnauthorizedError('auth.invalid_token', reason, { cause: err });
  }
  if (typeof claims.sub !== 'string' || !claims.sub) {
    throw new UnauthorizedError('auth.invalid_token', 'The bearer token has no subject (sub).');
  }
  const tenant = claims.tenant ?? 'default';
  if (typeof tenant !== 'string' || !TENANT_PATTERN.test(tenant)) {
    throw new UnauthorizedError('auth.invalid_token', 'The token\'s tenant must be 1-64 characters of [A-Za-z0-9_-].');
  }
  const principal: Principal = { sub: claims.sub, tenant, ...parseScope(claims.scope) };
  // A portal session never administers, whatever its scope claim says.
  if (claims.portal === true) Object.assign(principal, { portal: true, admin: false, publish: [] });
  return principal;
}

/** Claims for {@link mintToken}. */
export interface MintOptions {
  sub: string;
  scope: string;
  tenant?: string;
  /** Lifetime, as jsonwebtoken's `expiresIn` (e.g. "1h", 3600). @default "30d" */
  expiresIn?: string | number;
  /** A consumer portal session: sees only its subject's subscriptions on its `subscribe:` patterns. */
  portal?: boolean;
  /** `aud` claim: set it to `HOOKLINE_JWT_AUDIENCE` where that is configured. */
  audience?: string;
  /** `iss` claim: set it to `HOOKLINE_JWT_ISSUER` where that is configured. */
  issuer?: string;
}

/** Signs an HS256 token (development, tests, `npm run token` and portal sessions). */
export function mintToken(secret: string, o: MintOptions): string {
  const payload: Record<string, unknown> = { scope: o.scope };
  if (o.tenant) payload.tenant = o.tenant;
  if (o.portal) payload.portal = true;
  return jwt.sign(payload, secret, {
    algorithm: 'HS256',
    subject: o.sub,
    expiresIn: (o.expiresIn ?? '30d') as jwt.SignOptions['expiresIn'],
    ...(o.audience ? { audience: o.audience } : {}),
    ...(o.issuer ? { issuer: o.issuer } : {}),
  });
}
