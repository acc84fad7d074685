import { describe, it, expect } from '@jest/globals';
import { createHash } from 'node:crypto';
import { currentDeliveryId, decodeIdTime, deliveryId, isId, newId } from '../../shared/ids.js';

const CROCKFORD = /^[0-9A-HJKMNP-TV-Z]+$/;

describe('newId', () => {
  it('when called, then it is the prefix, an underscore and 26 Crockford base32 characters', () => {
    const id = newId('msg');
    expect(id).toMatch(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(isId('msg', id)).toBe(true);
  });

  it('when the time is known, then the first 10 characters encode it (ULID time part)', () => {
    // 2024-01-01T00:00:00.000Z = 1704067200000 ms, which is "01HK153X00" in Crockford base32.
    expect(newId('sub', 1_704_067_200_000).slice(4, 14)).toBe('01HK153X00');
    expect(newId('sub', 0).slice(4, 14)).toBe('0000000000');
  });

  it('when ids are made at increasing times, then they sort in time order as strings', () => {
    const times = [1, 31, 32, 1023, 1024, 1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_000];
    const ids = times.map((t) => newId('msg', t));
    expect([...ids].sort()).toEqual(ids);
  });

  it('when many ids are made in the same millisecond, then they all differ', () => {
    const now = Date.now();
    const ids = new Set(Array.from({ length: 2000 }, () => newId('msg', now)));
    expect(ids.size).toBe(2000);
    for (const id of ids) expect(id.slice(4)).toMatch(CROCKFORD);
  });
});

describe('deliveryId', () => {
  it('when given the same message and subscription, then it is the same id every time', () => {
    expect(deliveryId('msg_A', 'sub_B')).toBe(deliveryId('msg_A', 'sub_B'));
  });

  it('when the message or the subscription differs, then the id differs', () => {
    const base = deliveryId('msg_A', 'sub_B');
    expect(deliveryId('msg_A', 'sub_C')).not.toBe(base);
    expect(deliveryId('msg_X', 'sub_B')).not.toBe(base);
  });

  it('when made, then it is a well-formed dlv_ id', () => {
    const id = deliveryId(newId('msg'), newId('sub'));
    expect(id).toMatch(/^dlv_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(isId('dlv', id)).toBe(true);
  });

  it('when made, then it starts with its message\'s ULID time, so it sorts into the partition of the publish time', () => {
    const message = newId('msg', 1_704_067_200_000);
    const id = deliveryId(message, newId('sub'));
    expect(id.slice(4, 14)).toBe('01HK153X00');
    expect(decodeIdTime(id)).toBe(1_704_067_200_000);
    expect(decodeIdTime(message)).toBe(1_704_067_200_000);
  });

  it('when the message id carries no time, then the time part is zeros and the id still well-formed', () => {
    expect(deliveryId('msg_A', 'sub_B')).toMatch(/^dlv_0000000000[0-9A-HJKMNP-TV-Z]{16}$/);
    expect(decodeIdTime('msg_A')).toBeUndefined();
  });
});

describe('currentDeliveryId', () => {
  // The id a delivery had before ids carried their message's time: dlv_ and 26 characters of the hash.
  const legacyId = (m: string, s: string) => {
    const digest = createHash('sha256').update(`${m}:${s}`).digest();
    let bits = '';
    for (const b of digest) bits += b.toString(2).padStart(8, '0');
    let out = '';
    for (let i = 0; i < 26; i++) out += '0123456789ABCDEFGHJKMNPQRSTVWXYZ'[parseInt(bits.slice(i * 5, i * 5 + 5), 2)];
    return `dlv_${out}`;
  };

  it('when a job names a delivery by its pre-partitioning id, then it maps to the id deliveryId makes now', () => {
    const m = newId('msg');
    const s = newId('sub');
    const old = legacyId(m, s);
    expect(old).not.toBe(deliveryId(m, s));
    expect(currentDeliveryId(old, m)).toBe(deliveryId(m, s));
  });

  it('when the id is already current, then it is returned unchanged', () => {
    const m = newId('msg');
    const id = deliveryId(m, newId('sub'));
    expect(currentDeliveryId(id, m)).toBe(id);
  });
});

describe('isId', () => {
  it.each([
    ['the wrong prefix', 'sub', 'msg_01HK153X000000000000000000'],
    ['too short', 'msg', 'msg_01HK153X00'],
    ['too long', 'msg', 'msg_01HK153X0000000000000000000'],
    ['lower case', 'msg', 'msg_01hk153x000000000000000000'],
    ['a letter outside Crockford (U)', 'msg', 'msg_01HK153X00000000000000000U'],
    ['SQL', 'msg', "msg_' OR 1=1 --"],
    ['empty', 'msg', ''],
  ])('when the value has %s, then it is not an id', (_, prefix, value) => {
    expect(isId(prefix, value)).toBe(false);
  });
});
