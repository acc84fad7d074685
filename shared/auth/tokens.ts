import jwt from 'jsonwebtoken';
import { UnauthorizedError } from '../errors.js';
import { isValidPattern } from '../topics.js';
import type { Principal } from './principal.js';

const TENANT = /^[A-Za-z0-9_-]{1,64}$/;

/** Key material for verifying bearer tokens. */
export interface TokenKeys {
  /** HS256 shared secret. */
  secret?: string;
  /** PEM public key for RS256 / ES256 tokens. */
  publicKey?: string;
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

/** Verifies a bearer token and returns its principal; throws UnauthorizedError with a reason. */
export function verifyToken(token: string, keys: TokenKeys): Principal {
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded || typeof decoded.payload === 'string') {
    throw new UnauthorizedError('auth.invalid_token', 'The bearer token is not a JWT.');
  }
  const alg = decoded.header.alg;
  const key = alg === 'HS256' ? keys.secret : alg === 'RS256' || alg === 'ES256' ? keys.publicKey : undefined;
  if (!key) throw new UnauthorizedError('auth.invalid_token', `Tokens signed with ${alg} are not accepted here.`);
  let claims: jwt.JwtPayload;
  try {
    claims = jwt.verify(token, key, { algorithms: [alg as jwt.Algorithm] }) as jwt.JwtPayload;
  } catch (err) {
    const reason = (err as Error).name === 'TokenExpiredError' ? 'The bearer token has expired.' : 'The bearer token is invalid.';
    throw new UnauthorizedError('auth.invalid_token', reason, { cause: err });
  }
  if (typeof claims.sub !== 'string' || !claims.sub) {
    throw new UnauthorizedError('auth.invalid_token', 'The bearer token has no subject (sub).');
  }
  const tenant = claims.tenant ?? 'default';
  if (typeof tenant !== 'string' || !TENANT.test(tenant)) {
    throw new UnauthorizedError('auth.invalid_token', 'The token\'s tenant must be 1-64 characters of [A-Za-z0-9_-].');
  }
  return { sub: claims.sub, tenant, ...parseScope(claims.scope) };
}

/** Claims for {@link mintToken}. */
export interface MintOptions {
  sub: string;
  scope: string;
  tenant?: string;
  /** Lifetime, as jsonwebtoken's `expiresIn` (e.g. "1h", 3600). @default "30d" */
  expiresIn?: string | number;
}

/** Signs an HS256 token (development, tests and `npm run token`). */
export function mintToken(secret: string, o: MintOptions): string {
  const payload: Record<string, unknown> = { scope: o.scope };
  if (o.tenant) payload.tenant = o.tenant;
  return jwt.sign(payload, secret, {
    algorithm: 'HS256',
    subject: o.sub,
    expiresIn: (o.expiresIn ?? '30d') as jwt.SignOptions['expiresIn'],
  });
}
