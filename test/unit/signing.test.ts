import { describe, it, expect } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import {
  generateSecret,
  secretKey,
  signatureHeader,
  verifyWebhook,
  WebhookVerificationError,
} from '../../shared/signing.js';

const body = JSON.stringify({ id: 'msg_1', topic: 'orders.created', publishedAt: '2024-01-01T00:00:00Z', data: { n: 1 } });
const nowSec = () => Math.floor(Date.now() / 1000);

function headersFor(secrets: string[], id: string, ts: number, payload: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': signatureHeader(secrets.map(secretKey), id, ts, payload),
  };
}

function verificationCode(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof WebhookVerificationError ? err.code : `not a WebhookVerificationError: ${String(err)}`;
  }
  return undefined;
}

describe('generateSecret / secretKey', () => {
  it('when a secret is generated, then it is whsec_ plus base64 of 32 bytes and each one differs', () => {
    const a = generateSecret();
    const b = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(secretKey(a)).toHaveLength(32);
    expect(a).not.toBe(b);
  });

  it('when the secret has no whsec_ prefix, then the same key is derived', () => {
    const secret = generateSecret();
    expect(secretKey(secret.slice('whsec_'.length)).equals(secretKey(secret))).toBe(true);
  });

  it.each([
    ['empty', 'whsec_'],
    ['not base64', 'whsec_not*base64!!'],
    ['too short (16 bytes)', `whsec_${Buffer.alloc(16, 1).toString('base64')}`],
    ['too long (65 bytes)', `whsec_${Buffer.alloc(65, 1).toString('base64')}`],
    ['unpadded', `whsec_${Buffer.alloc(32, 1).toString('base64').replace(/=+$/, '')}`],
  ])('when the secret is %s, then secret.invalid is thrown without echoing it', (_, secret) => {
    let caught: unknown;
    try {
      secretKey(secret);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ name: 'ValidationError', code: 'secret.invalid', status: 400 });
    const encoded = secret.slice('whsec_'.length);
    if (encoded.length > 0) expect((caught as Error).message).not.toContain(encoded);
  });

  it('when the secret decodes to 24 or 64 bytes, then it is accepted', () => {
    expect(secretKey(`whsec_${Buffer.alloc(24, 7).toString('base64')}`)).toHaveLength(24);
    expect(secretKey(`whsec_${Buffer.alloc(64, 7).toString('base64')}`)).toHaveLength(64);
  });
});

describe('signatureHeader', () => {
  it('when signing the published Standard Webhooks example, then the signature matches it', () => {
    const key = secretKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(signatureHeader([key], 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('when two keys are given, then two signatures are sent in order and each verifies alone', () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    const ts = nowSec();
    const headers = headersFor([oldSecret, newSecret], 'msg_2', ts, body);
    const parts = headers['webhook-signature']!.split(' ');
    expect(parts).toHaveLength(2);
    expect(parts[0]).toBe(signatureHeader([secretKey(oldSecret)], 'msg_2', ts, body));
    expect(parts[1]).toBe(signatureHeader([secretKey(newSecret)], 'msg_2', ts, body));
    expect(() => verifyWebhook(oldSecret, headers, body)).not.toThrow();
    expect(() => verifyWebhook(newSecret, headers, body)).not.toThrow();
    expect(new Webhook(oldSecret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(newSecret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('when the timestamp is not whole seconds or there is no key, then it refuses to sign', () => {
    const key = secretKey(generateSecret());
    expect(() => signatureHeader([key], 'msg', 1.5, body)).toThrow(RangeError);
    expect(() => signatureHeader([], 'msg', 1, body)).toThrow(RangeError);
  });
});

describe('interoperability with the standardwebhooks package', () => {
  it('when we sign, then standardwebhooks verifies it', () => {
    const secret = generateSecret();
    const headers = headersFor([secret], 'msg_ours', nowSec(), body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('when standardwebhooks signs, then we verify it', () => {
    const secret = generateSecret();
    const date = new Date();
    const signature = new Webhook(secret).sign('msg_theirs', date, body);
    const headers = {
      'Webhook-Id': 'msg_theirs',
      'Webhook-Timestamp': String(Math.floor(date.getTime() / 1000)),
      'Webhook-Signature': signature,
    };
    expect(() => verifyWebhook(secret, headers, body)).not.toThrow();
  });

  it('when the receiver holds the wrong secret, then standardwebhooks and we both reject the signature', () => {
    const secret = generateSecret();
    const other = generateSecret();
    const date = new Date();
    const headers = {
      'webhook-id': 'msg_x',
      'webhook-timestamp': String(Math.floor(date.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign('msg_x', date, body),
    };
    expect(() => new Webhook(other).verify(body, headers)).toThrow();
    expect(verificationCode(() => verifyWebhook(other, headers, body))).toBe('no_matching_signature');
  });
});

describe('verifyWebhook', () => {
  const secret = generateSecret();

  it('when the body was tampered with, then no_matching_signature', () => {
    const headers = headersFor([secret], 'msg_3', nowSec(), body);
    expect(verificationCode(() => verifyWebhook(secret, headers, body.replace('"n":1', '"n":2')))).toBe(
      'no_matching_signature',
    );
  });

  it('when the id was changed, then no_matching_signature', () => {
    const headers = { ...headersFor([secret], 'msg_3', nowSec(), body), 'webhook-id': 'msg_4' };
    expect(verificationCode(() => verifyWebhook(secret, headers, body))).toBe('no_matching_signature');
  });

  it('when the secret is wrong, then no_matching_signature', () => {
    const headers = headersFor([secret], 'msg_3', nowSec(), body);
    expect(verificationCode(() => verifyWebhook(generateSecret(), headers, body))).toBe('no_matching_signature');
  });

  it('when one of several candidate secrets matches, then it verifies', () => {
    const headers = headersFor([secret], 'msg_3', nowSec(), body);
    expect(() => verifyWebhook([generateSecret(), secret], headers, body)).not.toThrow();
  });

  it('when the timestamp is older or newer than the tolerance, then timestamp_out_of_range', () => {
    const now = 1_700_000_000;
    const stale = headersFor([secret], 'msg_5', now - 301, body);
    const future = headersFor([secret], 'msg_5', now + 301, body);
    expect(verificationCode(() => verifyWebhook(secret, stale, body, { nowSec: now }))).toBe('timestamp_out_of_range');
    expect(verificationCode(() => verifyWebhook(secret, future, body, { nowSec: now }))).toBe('timestamp_out_of_range');
    expect(() => verifyWebhook(secret, stale, body, { nowSec: now, toleranceSec: 400 })).not.toThrow();
    expect(() => verifyWebhook(secret, headersFor([secret], 'msg_5', now - 300, body), body, { nowSec: now })).not.toThrow();
  });

  it('when a header is missing or repeated, then missing_headers', () => {
    const headers = headersFor([secret], 'msg_6', nowSec(), body);
    const { 'webhook-signature': _, ...noSignature } = headers;
    expect(verificationCode(() => verifyWebhook(secret, noSignature, body))).toBe('missing_headers');
    expect(verificationCode(() => verifyWebhook(secret, { ...headers, 'webhook-id': ['a', 'b'] }, body))).toBe(
      'missing_headers',
    );
    expect(verificationCode(() => verifyWebhook(secret, { ...headers, 'webhook-id': '' }, body))).toBe('missing_headers');
  });

  it('when the timestamp is not an integer, then invalid_timestamp', () => {
    const headers = { ...headersFor([secret], 'msg_7', nowSec(), body), 'webhook-timestamp': '1700000000.5' };
    expect(verificationCode(() => verifyWebhook(secret, headers, body))).toBe('invalid_timestamp');
  });

  it('when the signature header holds other versions and junk before a good v1, then it verifies', () => {
    const ts = nowSec();
    const good = signatureHeader([secretKey(secret)], 'msg_8', ts, body);
    const headers = {
      'webhook-id': 'msg_8',
      'webhook-timestamp': String(ts),
      'webhook-signature': `v1a,abc v1,short ${good.replace('v1,', 'v2,')} ${good}`,
    };
    expect(() => verifyWebhook(secret, headers, body)).not.toThrow();
  });

  it('when the signature has junk characters that base64 decoding would skip, then it is rejected', () => {
    const ts = nowSec();
    const good = signatureHeader([secretKey(secret)], 'msg_9', ts, body);
    expect(good.endsWith('=')).toBe(true);
    const forged = `${good.slice(0, -1)}!`;
    // Same length, and Node's base64 decoder yields the very same 32 bytes for it.
    expect(Buffer.from(forged.slice(3), 'base64').equals(Buffer.from(good.slice(3), 'base64'))).toBe(true);
    const headers = { 'webhook-id': 'msg_9', 'webhook-timestamp': String(ts), 'webhook-signature': forged };
    expect(verificationCode(() => verifyWebhook(secret, headers, body))).toBe('no_matching_signature');
  });

  it('when the raw body is given as bytes, then it verifies like the string', () => {
    const headers = headersFor([secret], 'msg_10', nowSec(), body);
    expect(() => verifyWebhook(secret, headers, Buffer.from(body))).not.toThrow();
  });

  it('when verification fails, then the error has its class name and code', () => {
    let caught: unknown;
    try {
      verifyWebhook(secret, {}, body);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(WebhookVerificationError);
    expect(caught).toMatchObject({ name: 'WebhookVerificationError', code: 'missing_headers' });
  });
});
