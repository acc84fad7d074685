import { describe, it, expect } from '@jest/globals';
import { names } from '../../shared/nats/subjects.js';

describe('names', () => {
  const n = names('t1a2');

  it('when built from a prefix, then streams are upper-case and subjects carry the prefix', () => {
    expect(n.messagesStream).toBe('T1A2_MESSAGES');
    expect(n.deliveriesStream).toBe('T1A2_DELIVERIES');
    expect(n.messagesAll).toBe('t1a2.msg.>');
    expect(n.deliveriesAll).toBe('t1a2.dlv.>');
    expect(n.messageSubject('acme', 'orders.created')).toBe('t1a2.msg.acme.orders.created');
    expect(n.messageFilter('acme', 'orders.>')).toBe('t1a2.msg.acme.orders.>');
    expect(n.deliverySubject('sub_X')).toBe('t1a2.dlv.sub_X');
    expect(Object.isFrozen(n)).toBe(true);
  });

  it('when a message subject is parsed, then tenant and the whole dotted topic come back', () => {
    expect(n.parseMessageSubject(n.messageSubject('acme', 'orders.eu.created'))).toEqual({
      tenant: 'acme',
      topic: 'orders.eu.created',
    });
  });

  it.each([
    ['another prefix', 'other.msg.acme.orders'],
    ['a prefix that only starts the same', 't1a2x.msg.acme.orders'],
    ['a delivery subject', 't1a2.dlv.sub_X'],
    ['no topic', 't1a2.msg.acme'],
    ['an empty tenant', 't1a2.msg..orders'],
  ])('when the subject has %s, then it is not a message subject', (_, subject) => {
    expect(n.parseMessageSubject(subject)).toBeUndefined();
  });

  it('when two prefixes are used, then none of their names collide', () => {
    const a = names('ta');
    const b = names('tb');
    expect(a.messagesStream).not.toBe(b.messagesStream);
    expect(a.messageSubject('x', 'y')).not.toBe(b.messageSubject('x', 'y'));
    expect(b.parseMessageSubject(a.messageSubject('x', 'y'))).toBeUndefined();
  });
});
