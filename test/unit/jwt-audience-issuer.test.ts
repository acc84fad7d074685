import { describe, expect, it } from '@jest/globals';
import jwt from 'jsonwebtoken';
import { mintToken, verifyToken, type TokenKeys } from '../../shared/auth/tokens.js';
import { loadConfig } from '../../shared/config.js';

const SECRET = 'unit-test-secret-0123456789abcdef0123456789';

/** The error `fn` throws, as a plain object for matching. */
function thrown(fn: () => unknown): { code?: string; status?: number; message?: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; status?: number; message?: string };
  }
  throw new Error('expected an error, but nothing was thrown');
}

const sign = (claims: Record<string, unknown>) => jwt.sign({ scope: 'admin', ...claims }, SECRET, { algorithm: 'HS256', subject: 'svc' });

describe('HOOKLINE_JWT_AUDIENCE and HOOKLINE_JWT_ISSUER', () => {
  const keys: TokenKeys = { secret: SECRET, audience: 'hookline-api', issuer: 'https://idp.example' };

  it('when both are configured and the token carries them, then it is accepted', () => {
    expect(verifyToken(sign({ aud: 'hookline-api', iss: 'https://idp.example' }), keys).sub).toBe('svc');
    // aud may be a list that includes ours.
    expect(verifyToken(sign({ aud: ['other', 'hookline-api'], iss: 'https://idp.example' }), keys).sub).toBe('svc');
  });

  it.each([
    ['no aud', { iss: 'https://idp.example' }],
    ['another aud', { aud: 'someone-else', iss: 'https://idp.example' }],
    ['no iss', { aud: 'hookline-api' }],
    ['another iss', { aud: 'hookline-api', iss: 'https://evil.example' }],
  ])('when the token has %s, then it is refused with 401', (_what, claims) => {
    expect(thrown(() => verifyToken(sign(claims), keys))).toMatchObject({ code: 'auth.invalid_token', status: 401 });
  });

  it('when a token was accepted under one key set, then a stricter key set with the same secret still checks it', () => {
    const token = sign({});
    expect(verifyToken(token, { secret: SECRET }).sub).toBe('svc');
    expect(thrown(() => verifyToken(token, keys))).toMatchObject({ status: 401 });
  });

  it('when neither is configured, then tokens without aud or iss are accepted as before', () => {
    expect(verifyToken(sign({}), { secret: SECRET }).sub).toBe('svc');
  });

  it('when mintToken is given an audience and issuer, then the token carries them and passes the check', () => {
    const token = mintToken(SECRET, { sub: 'cli', scope: 'admin', audience: 'hookline-api', issuer: 'https://idp.example' });
    expect(jwt.decode(token)).toMatchObject({ aud: 'hookline-api', iss: 'https://idp.example' });
    expect(verifyToken(token, keys).sub).toBe('cli');
  });

  it('when set in the environment, then loadConfig carries them; unset, they are undefined', () => {
    const cfg = loadConfig({ HOOKLINE_JWT_AUDIENCE: 'hookline-api', HOOKLINE_JWT_ISSUER: 'https://idp.example' });
    expect(cfg.HOOKLINE_JWT_AUDIENCE).toBe('hookline-api');
    expect(cfg.HOOKLINE_JWT_ISSUER).toBe('https://idp.example');
    expect(loadConfig({}).HOOKLINE_JWT_AUDIENCE).toBeUndefined();
  });
});
