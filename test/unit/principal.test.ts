import { generateKeyPairSync } from 'node:crypto';
import { describe, it, expect } from '@jest/globals';
import jwt from 'jsonwebtoken';
import {
  canPublish,
  canReadTopic,
  canSeeSubscription,
  canSubscribe,
  type Principal,
} from '../../shared/auth/principal.js';
import { mintToken, parseScope, verifyToken } from '../../shared/auth/tokens.js';

const SECRET = 'unit-test-secret-0123456789abcdef0123456789';

function principal(scope: string, extra: Partial<Principal> = {}): Principal {
  return { sub: 'alice', tenant: 'acme', ...parseScope(scope), ...extra };
}

/** The error `fn` throws, as a plain object for matching. */
function thrown(fn: () => unknown): { name?: string; code?: string; status?: number; message?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string; status?: number };
  }
  throw new Error('expected an error, but nothing was thrown');
}

describe('parseScope', () => {
  it('when the scope lists publish, subscribe and admin grants, then each lands in its place', () => {
    expect(parseScope('publish:orders.* subscribe:orders.> admin')).toEqual({
      admin: true,
      publish: ['orders.*'],
      subscribe: ['orders.>'],
    });
  });

  it('when grants are separated by runs of whitespace, then every one is read', () => {
    expect(parseScope('  publish:a\tpublish:b\n subscribe:c  ')).toEqual({
      admin: false,
      publish: ['a', 'b'],
      subscribe: ['c'],
    });
  });

  it('when the scope is an array of grants, then it is read like the string form', () => {
    expect(parseScope(['publish:a.b', 'admin'])).toEqual({ admin: true, publish: ['a.b'], subscribe: [] });
  });

  it.each([
    ['an unknown verb', 'delete:orders'],
    ['an empty pattern', 'publish:'],
    ['an invalid pattern', 'publish:orders..x'],
    ['a misplaced >', 'subscribe:orders.>.x'],
    ['admin with a suffix', 'admin:all'],
    ['a capitalised verb', 'Publish:orders'],
  ])('when a grant is %s, then it is ignored (no privileges from it)', (_, scope) => {
    expect(parseScope(scope)).toEqual({ admin: false, publish: [], subscribe: [] });
  });

  it.each([[undefined], [42], [null], [{ publish: 'x' }]])('when the scope is %j, then there are no grants', (scope) => {
    expect(parseScope(scope)).toEqual({ admin: false, publish: [], subscribe: [] });
  });
});

describe('canPublish', () => {
  const p = principal('publish:orders.* publish:audit.>');

  it('when a grant matches the topic, then publishing is allowed', () => {
    expect(canPublish(p, 'orders.created')).toBe(true);
    expect(canPublish(p, 'audit.x.y.z')).toBe(true);
  });

  it('when no grant matches the topic, then publishing is refused', () => {
    expect(canPublish(p, 'payments.x')).toBe(false);
    expect(canPublish(p, 'orders.a.b')).toBe(false);
    expect(canPublish(p, 'orders')).toBe(false);
    expect(canPublish(p, 'audit')).toBe(false);
  });

  it('when the principal only subscribes, then publishing is refused', () => {
    expect(canPublish(principal('subscribe:>'), 'orders.created')).toBe(false);
  });

  it('when the principal is admin, then it may publish anywhere', () => {
    expect(canPublish(principal('admin'), 'payments.x')).toBe(true);
  });
});

describe('canSubscribe', () => {
  const p = principal('subscribe:orders.>');

  it('when the grant covers every topic of the pattern, then subscribing is allowed', () => {
    expect(canSubscribe(p, 'orders.*')).toBe(true);
    expect(canSubscribe(p, 'orders.created')).toBe(true);
    expect(canSubscribe(p, 'orders.>')).toBe(true);
    expect(canSubscribe(p, 'orders.*.x')).toBe(true);
  });

  it('when the pattern reaches beyond the grant, then subscribing is refused', () => {
    expect(canSubscribe(p, '>')).toBe(false);
    expect(canSubscribe(p, '*.created')).toBe(false);
    expect(canSubscribe(p, 'payments.*')).toBe(false);
    expect(canSubscribe(p, 'orders')).toBe(false);
  });

  it('when the grant is one token wide, then a deeper pattern is refused', () => {
    expect(canSubscribe(principal('subscribe:orders.*'), 'orders.>')).toBe(false);
    expect(canSubscribe(principal('subscribe:orders.*'), 'orders.created')).toBe(true);
  });

  it('when the principal only publishes, then subscribing is refused', () => {
    expect(canSubscribe(principal('publish:>'), 'orders.created')).toBe(false);
  });

  it('when the principal is admin, then it may subscribe to anything', () => {
    expect(canSubscribe(principal('admin'), '>')).toBe(true);
  });
});

describe('canReadTopic', () => {
  it('when a publish or a subscribe grant reaches the topic, then the message may be read', () => {
    expect(canReadTopic(principal('publish:orders.*'), 'orders.created')).toBe(true);
    expect(canReadTopic(principal('subscribe:orders.>'), 'orders.a.b')).toBe(true);
  });

  it('when no grant reaches the topic, then it may not be read', () => {
    expect(canReadTopic(principal('publish:orders.* subscribe:audit.>'), 'payments.x')).toBe(false);
    expect(canReadTopic(principal(''), 'orders.created')).toBe(false);
  });

  it('when the principal is admin, then every topic may be read', () => {
    expect(canReadTopic(principal('admin'), 'payments.x')).toBe(true);
  });
});

describe('canSeeSubscription', () => {
  it('when the subscription is the caller\'s own in its tenant, then it is visible', () => {
    expect(canSeeSubscription(principal('subscribe:>'), { tenant: 'acme', owner: 'alice' })).toBe(true);
  });

  it('when another non-admin principal of the same tenant owns it, then it is invisible', () => {
    expect(canSeeSubscription(principal('subscribe:>'), { tenant: 'acme', owner: 'bob' })).toBe(false);
  });

  it('when the caller is admin of the tenant, then every subscription of the tenant is visible', () => {
    expect(canSeeSubscription(principal('admin'), { tenant: 'acme', owner: 'bob' })).toBe(true);
  });

  it('when the subscription belongs to another tenant, then even an admin with the same sub cannot see it', () => {
    expect(canSeeSubscription(principal('admin'), { tenant: 'other', owner: 'alice' })).toBe(false);
    expect(canSeeSubscription(principal('subscribe:>'), { tenant: 'other', owner: 'alice' })).toBe(false);
  });

  it('when a portal session owns a subscription outside its patterns, then it is invisible to the session', () => {
    const session = { ...principal('subscribe:orders.>'), portal: true };
    expect(canSeeSubscription(session, { tenant: 'acme', owner: 'alice', topic: 'orders.created' })).toBe(true);
    expect(canSeeSubscription(session, { tenant: 'acme', owner: 'alice', topic: 'payments.>' })).toBe(false);
    expect(canSeeSubscription(session, { tenant: 'acme', owner: 'bob', topic: 'orders.created' })).toBe(false);
  });
});

describe('verifyToken', () => {
  it('when a portal session token claims admin or publish, then its principal has neither', () => {
    const token = mintToken(SECRET, { sub: 'cust-1', scope: 'admin publish:> subscribe:orders.>', portal: true, expiresIn: 60 });
    expect(verifyToken(token, { secret: SECRET })).toMatchObject({ portal: true, admin: false, publish: [], subscribe: ['orders.>'] });
  });

  it('when an HS256 token is signed with the secret, then its principal carries sub, tenant and grants', () => {
    const token = mintToken(SECRET, { sub: 'svc-1', tenant: 'acme', scope: 'publish:orders.* admin', expiresIn: 60 });
    expect(verifyToken(token, { secret: SECRET })).toEqual({
      sub: 'svc-1',
      tenant: 'acme',
      admin: true,
      publish: ['orders.*'],
      subscribe: [],
    });
  });

  it('when the token has no tenant claim, then the tenant is "default"', () => {
    const token = mintToken(SECRET, { sub: 'svc-1', scope: 'subscribe:>' });
    expect(verifyToken(token, { secret: SECRET }).tenant).toBe('default');
  });

  it('when the token is signed with another secret, then it is refused with 401', () => {
    const token = mintToken('another-secret-0123456789abcdef0123456789', { sub: 'x', scope: 'admin' });
    expect(thrown(() => verifyToken(token, { secret: SECRET }))).toMatchObject({
      code: 'auth.invalid_token',
      status: 401,
      message: 'The bearer token is invalid.',
    });
  });

  it('when the token has expired, then it is refused with 401 saying so', () => {
    const token = jwt.sign({ scope: 'admin', exp: Math.floor(Date.now() / 1000) - 60 }, SECRET, {
      algorithm: 'HS256',
      subject: 'x',
    });
    expect(thrown(() => verifyToken(token, { secret: SECRET }))).toMatchObject({
      code: 'auth.invalid_token',
      status: 401,
      message: 'The bearer token has expired.',
    });
  });

  it('when the token is not yet valid (nbf in the future), then it is refused', () => {
    const token = jwt.sign({ scope: 'admin', nbf: Math.floor(Date.now() / 1000) + 3600 }, SECRET, {
      algorithm: 'HS256',
      subject: 'x',
    });
    expect(thrown(() => verifyToken(token, { secret: SECRET }))).toMatchObject({ status: 401 });
  });

  it('when the token uses alg "none", then it is refused even though it carries admin', () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'mallory', scope: 'admin' })}.`;
    expect(thrown(() => verifyToken(token, { secret: SECRET }))).toMatchObject({ code: 'auth.invalid_token', status: 401 });
  });

  it('when the token is not a JWT at all, then it is refused with 401', () => {
    expect(thrown(() => verifyToken('garbage', { secret: SECRET }))).toMatchObject({
      code: 'auth.invalid_token',
      status: 401,
    });
    expect(thrown(() => verifyToken('a.b.c', { secret: SECRET }))).toMatchObject({ status: 401 });
  });

  it('when the token has no sub, then it is refused', () => {
    const token = jwt.sign({ scope: 'admin' }, SECRET, { algorithm: 'HS256' });
    expect(thrown(() => verifyToken(token, { secret: SECRET }))).toMatchObject({
      status: 401,
      message: expect.stringContaining('sub'),
    });
  });

  it.each([['has.dots'], [''], ['x'.repeat(65)], [42]])('when the tenant claim is %j, then the token is refused', (tenant) => {
    const token = jwt.sign({ scope: 'admin', tenant }, SECRET, { algorithm: 'HS256', subject: 'x' });
    expect(thrown(() => verifyToken(token, { secret: SECRET }))).toMatchObject({ status: 401 });
  });

  it('when the token is HS512 although the secret is right, then it is refused (only HS256 is accepted)', () => {
    const token = jwt.sign({ scope: 'admin' }, SECRET, { algorithm: 'HS512', subject: 'x' });
    expect(thrown(() => verifyToken(token, { secret: SECRET }))).toMatchObject({ status: 401 });
  });

  describe('with an RS256 public key', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });

    it('when a token is signed with the matching private key, then it is accepted', () => {
      const token = jwt.sign({ scope: 'subscribe:orders.>', tenant: 'acme' }, privateKey, {
        algorithm: 'RS256',
        subject: 'svc-rsa',
        expiresIn: 60,
      });
      expect(verifyToken(token, { publicKey })).toEqual({
        sub: 'svc-rsa',
        tenant: 'acme',
        admin: false,
        publish: [],
        subscribe: ['orders.>'],
      });
    });

    it('when a token is signed with another key pair, then it is refused', () => {
      const other = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      });
      const token = jwt.sign({ scope: 'admin' }, other.privateKey, { algorithm: 'RS256', subject: 'x' });
      expect(thrown(() => verifyToken(token, { publicKey }))).toMatchObject({ status: 401 });
    });

    it('when an HS256 token is signed with the public key as its secret (algorithm confusion), then it is refused', () => {
      // No HS256 secret is configured, so an HS256 token must not be checked against the public key.
      const forged = jwt.sign({ scope: 'admin' }, Buffer.from(publicKey), { algorithm: 'HS256', subject: 'mallory' });
      expect(thrown(() => verifyToken(forged, { publicKey }))).toMatchObject({ status: 401 });
    });

    it('when an ES256 token is signed with a P-256 key whose public half is configured, then it is accepted', () => {
      const ec = generateKeyPairSync('ec', {
        namedCurve: 'P-256',
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      });
      const token = jwt.sign({ scope: 'publish:a.>' }, ec.privateKey, { algorithm: 'ES256', subject: 'svc-ec' });
      expect(verifyToken(token, { publicKey: ec.publicKey })).toMatchObject({ sub: 'svc-ec', publish: ['a.>'] });
      expect(thrown(() => verifyToken(token, { publicKey }))).toMatchObject({ status: 401 });
    });

    it('when only an HS256 secret is configured, then an RS256 token is refused', () => {
      const token = jwt.sign({ scope: 'admin' }, privateKey, { algorithm: 'RS256', subject: 'x' });
      expect(thrown(() => verifyToken(token, { secret: SECRET }))).toMatchObject({
        status: 401,
        message: expect.stringContaining('RS256'),
      });
    });
  });
});
