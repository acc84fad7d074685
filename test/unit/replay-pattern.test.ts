import { describe, expect, it } from '@jest/globals';
import { patternRegex } from '../../services/api/deliveries/replay-subscription.js';
import { topicMatches } from '../../shared/topics.js';

const topics = ['orders', 'orders.created', 'orders.created.eu', 'orders-x.created', 'ordersx', 'a.orders.created', 'orders.a_b-c'];
const patterns = ['orders', 'orders.*', 'orders.>', '*.created', '*.*.created', '>', 'orders.*.eu', 'orders.created.>', '*'];

describe('patternRegex (the SQL side of replay candidate selection)', () => {
  it('when compared with topicMatches on every pattern and topic, then both agree', () => {
    for (const p of patterns) {
      const re = new RegExp(patternRegex(p));
      for (const t of topics) expect([p, t, re.test(t)]).toEqual([p, t, topicMatches(p, t)]);
    }
  });

  it('when a dot is in the pattern, then it is literal (no topic "ordersXcreated" sneaks in)', () => {
    expect(new RegExp(patternRegex('orders.created')).test('ordersXcreated')).toBe(false);
  });

  it('when the pattern is invalid, then it throws instead of building a regex', () => {
    expect(() => patternRegex('orders.>.x')).toThrow(/not a topic pattern/);
    expect(() => patternRegex('a|b')).toThrow();
  });
});
