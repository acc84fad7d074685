import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { encodeAckId, parseAckReply, verifyAckId, type AckToken } from '../../services/api/poll/ack-id.js';

const key = randomBytes(32);
const reply = '$JS.ACK.T1_MESSAGES.poll_sub_01JABCDEFGHJKMNPQRSTVWXYZ0.3.42.17.1795608723509319833.5';
const token: AckToken = {
  subscriptionId: 'sub_01JABCDEFGHJKMNPQRSTVWXYZ0',
  tenant: 'acme',
  messageId: 'msg_01JABCDEFGHJKMNPQRSTVWXYZ1',
  expiresAt: 2_000_000_000_000,
  reply,
};
const expected = {
  subscriptionId: token.subscriptionId,
  tenant: 'acme',
  stream: 'T1_MESSAGES',
  consumer: 'poll_sub_01JABCDEFGHJKMNPQRSTVWXYZ0',
  now: 1_900_000_000_000,
};

describe('poll ack ids', () => {
  it('when an ack id is presented to its own subscription in time, then it verifies with its delivery', () => {
    const check = verifyAckId(key, encodeAckId(key, token), expected);
    expect(check).toEqual({
      ok: true,
      token,
      delivery: { stream: 'T1_MESSAGES', consumer: expected.consumer, deliveryCount: 3, streamSeq: 42 },
    });
  });

  it('when one character of the signature changes, then it is forged', () => {
    const id = encodeAckId(key, token);
    const at = id.length - 10;
    const flipped = id.slice(0, at) + (id[at] === 'A' ? 'B' : 'A') + id.slice(at + 1);
    expect(verifyAckId(key, flipped, expected)).toEqual({ ok: false, problem: 'forged' });
    // The last character carries two unused bits: another spelling of the same MAC is refused as well.
    const last = id.at(-1)!;
    const sibling = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(last) ^ 1;
    const respelled = id.slice(0, -1) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[sibling];
    expect(verifyAckId(key, respelled, expected)).toEqual({ ok: false, problem: 'forged' });
  });

  it('when the payload is swapped for another subscription under the old signature, then it is forged', () => {
    const id = encodeAckId(key, token);
    const other = encodeAckId(key, { ...token, subscriptionId: 'sub_01JABCDEFGHJKMNPQRSTVWXYZ9' });
    const [v, , sig] = id.split('.');
    const [, payload] = other.split('.');
    expect(verifyAckId(key, `${v}.${payload}.${sig}`, expected)).toEqual({ ok: false, problem: 'forged' });
  });

  it('when another server key signed it, then it is forged', () => {
    expect(verifyAckId(randomBytes(32), encodeAckId(key, token), expected)).toEqual({ ok: false, problem: 'forged' });
  });

  it('when it belongs to another subscription or tenant, then it is refused as such', () => {
    const id = encodeAckId(key, token);
    expect(verifyAckId(key, id, { ...expected, subscriptionId: 'sub_other' })).toEqual({ ok: false, problem: 'wrong_subscription' });
    expect(verifyAckId(key, id, { ...expected, tenant: 'globex' })).toEqual({ ok: false, problem: 'wrong_subscription' });
    expect(verifyAckId(key, id, { ...expected, consumer: 'poll_sub_other' })).toEqual({ ok: false, problem: 'wrong_subscription' });
  });

  it('when its ack timeout has passed, then it is expired', () => {
    expect(verifyAckId(key, encodeAckId(key, token), { ...expected, now: token.expiresAt + 1 })).toEqual({
      ok: false,
      problem: 'expired',
    });
  });

  it.each([
    ['not a string', 42],
    ['empty', ''],
    ['no dots', 'garbage'],
    ['wrong version', 'v9.abc.def'],
    ['too long', 'v1.' + 'a'.repeat(2000) + '.b'],
    ['missing signature', 'v1.abc.'],
  ])('when it is %s, then it is malformed', (_what, value) => {
    expect(verifyAckId(key, value, expected)).toEqual({ ok: false, problem: 'malformed' });
  });

  it('when a correctly signed payload is not an ack subject, then it is malformed, not trusted', () => {
    const id = encodeAckId(key, { ...token, reply: 'hl.msg.acme.orders' });
    expect(verifyAckId(key, id, expected)).toEqual({ ok: false, problem: 'malformed' });
  });

  it('when a JetStream ack subject has the domain form, then it parses too', () => {
    expect(parseAckReply('$JS.ACK.hub.ACCHASH.T1_MESSAGES.poll_x.2.9.4.1795608723509319833.0.rnd')).toEqual({
      stream: 'T1_MESSAGES',
      consumer: 'poll_x',
      deliveryCount: 2,
      streamSeq: 9,
    });
    expect(parseAckReply('$JS.ACK.T1_MESSAGES.poll_x.x.9.4.1.0')).toBeUndefined();
    expect(parseAckReply('_INBOX.abc')).toBeUndefined();
  });
});
