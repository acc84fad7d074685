import { describe, it, expect } from '@jest/globals';
import { pick, prng, randomPattern } from '../helpers/random.js';
import { SubscriptionIndex } from '../../services/router/subscription-index.js';
import { topicMatches } from '../../shared/topics.js';

function randomTopic(random: () => number, alphabet: readonly string[], maxLen: number): string {
  const len = 1 + Math.floor(random() * maxLen);
  return Array.from({ length: len }, () => pick(random, alphabet)).join('.');
}

const sorted = (values: string[]): string[] => [...values].sort();

describe('SubscriptionIndex', () => {
  it('when patterns and topics are random, then match returns exactly the entries topicMatches accepts', () => {
    const random = prng(7);
    const alphabet = ['a', 'b', 'c'];
    const index = new SubscriptionIndex<string>();
    const patterns = new Map<string, string>();
    for (let i = 0; i < 400; i++) {
      const pattern = randomPattern(random, alphabet, 4);
      index.upsert(`s${i}`, 't1', pattern, `s${i}`);
      patterns.set(`s${i}`, pattern);
    }
    // Remove and re-point a share of them so the trie has been churned before matching.
    for (let i = 0; i < 400; i += 3) {
      expect(index.remove(`s${i}`)).toBe(true);
      patterns.delete(`s${i}`);
    }
    for (let i = 1; i < 400; i += 5) {
      const pattern = randomPattern(random, alphabet, 4);
      index.upsert(`s${i}`, 't1', pattern, `s${i}`);
      patterns.set(`s${i}`, pattern);
    }
    expect(index.size).toBe(patterns.size);

    const mismatches: string[] = [];
    let matched = 0;
    for (let k = 0; k < 500; k++) {
      const topic = randomTopic(random, alphabet, 5);
      const expected = [...patterns].filter(([, p]) => topicMatches(p, topic)).map(([id]) => id);
      const actual = index.match('t1', topic);
      matched += actual.length;
      if (JSON.stringify(sorted(actual)) !== JSON.stringify(sorted(expected))) {
        mismatches.push(`${topic}: got ${sorted(actual).join(',')} want ${sorted(expected).join(',')}`);
      }
    }
    expect(mismatches).toEqual([]);
    expect(matched).toBeGreaterThan(1000);
  });

  it('when an entry is upserted again with another pattern, then it moves and is matched once', () => {
    const index = new SubscriptionIndex<string>();
    index.upsert('sub1', 't1', 'orders.*', 'v1');
    index.upsert('sub1', 't1', 'invoices.>', 'v2');
    expect(index.size).toBe(1);
    expect(index.match('t1', 'orders.created')).toEqual([]);
    expect(index.match('t1', 'invoices.paid')).toEqual(['v2']);
  });

  it('when an entry is upserted again under another tenant, then only the new tenant sees it', () => {
    const index = new SubscriptionIndex<string>();
    index.upsert('sub1', 't1', 'orders.*', 'v1');
    index.upsert('sub1', 't2', 'orders.*', 'v1');
    expect(index.match('t1', 'orders.created')).toEqual([]);
    expect(index.match('t2', 'orders.created')).toEqual(['v1']);
    expect(index.size).toBe(1);
  });

  it('when two tenants use the same pattern, then each match sees only its own tenant', () => {
    const index = new SubscriptionIndex<string>();
    index.upsert('a1', 'acme', '>', 'acme-all');
    index.upsert('a2', 'acme', 'orders.created', 'acme-orders');
    index.upsert('b1', 'beta', 'orders.created', 'beta-orders');
    expect(sorted(index.match('acme', 'orders.created'))).toEqual(['acme-all', 'acme-orders']);
    expect(index.match('beta', 'orders.created')).toEqual(['beta-orders']);
    expect(index.match('gamma', 'orders.created')).toEqual([]);
  });

  it('when several wildcard forms match one topic, then each entry is returned exactly once', () => {
    const index = new SubscriptionIndex<number>();
    const patterns = ['a.b.c', 'a.*.c', '*.b.*', '*.*.*', 'a.>', '>', 'a.b.>', '*.>', 'a.b', 'a.b.c.>', 'a.*'];
    patterns.forEach((p, i) => index.upsert(`s${i}`, 't', p, i));
    expect(index.match('t', 'a.b.c').sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('when entries are removed, then empty trie nodes are pruned back to nothing', () => {
    const index = new SubscriptionIndex<string>();
    index.upsert('keep', 't1', 'orders.eu.created', 'keep');
    const baseline = index.nodeCount;
    index.upsert('x1', 't1', 'orders.*.x.y.>', 'x1');
    index.upsert('x2', 't1', 'orders.eu.deep.er', 'x2');
    index.upsert('x3', 't2', 'other.>', 'x3');
    expect(index.nodeCount).toBeGreaterThan(baseline);
    expect([index.remove('x1'), index.remove('x2'), index.remove('x3')]).toEqual([true, true, true]);
    expect(index.nodeCount).toBe(baseline);
    expect(index.match('t1', 'orders.eu.created')).toEqual(['keep']);
    expect(index.remove('keep')).toBe(true);
    expect(index.nodeCount).toBe(0);
    expect(index.size).toBe(0);
  });

  it('when an unknown id is removed, then remove returns false', () => {
    const index = new SubscriptionIndex<string>();
    index.upsert('sub1', 't1', 'orders.*', 'v1');
    expect(index.remove('nope')).toBe(false);
    expect(index.size).toBe(1);
  });

  it('when the pattern is invalid, then upsert throws pattern.invalid and keeps the old entry', () => {
    const index = new SubscriptionIndex<string>();
    index.upsert('sub1', 't1', 'orders.*', 'v1');
    expect(() => index.upsert('sub1', 't1', 'orders.>.x', 'v2')).toThrow(
      expect.objectContaining({ code: 'pattern.invalid' }),
    );
    expect(index.match('t1', 'orders.created')).toEqual(['v1']);
  });

  it('when the topic is invalid or contains wildcards, then match returns nothing', () => {
    const index = new SubscriptionIndex<string>();
    index.upsert('sub1', 't1', '>', 'all');
    index.upsert('sub2', 't1', 'orders.*', 'star');
    expect(index.match('t1', 'orders..created')).toEqual([]);
    expect(index.match('t1', 'orders.*')).toEqual([]);
    expect(index.match('t1', '')).toEqual([]);
  });

  it('when 100,000 entries are indexed, then a match returns exactly the 10 that apply', () => {
    const random = prng(100_000);
    const index = new SubscriptionIndex<string>();
    const vocabulary = Array.from({ length: 500 }, (_, i) => `svc${i}`);
    const events = ['created', 'updated', 'deleted', 'paid', 'shipped', '*', '>'];
    for (let i = 0; i < 99_990; i++) {
      // Every noise pattern starts with a literal service token, so none can match a 'needle' topic.
      const second = pick(random, events);
      const pattern =
        second === '>'
          ? `${pick(random, vocabulary)}.>`
          : `${pick(random, vocabulary)}.${second}.${pick(random, ['v1', 'v2', '*', '>'])}`;
      index.upsert(`noise${i}`, 'acme', pattern, `noise${i}`);
    }
    const needles = [
      'needle.x.y',
      'needle.*.y',
      'needle.x.*',
      'needle.*.*',
      'needle.>',
      'needle.x.>',
      '*.x.y',
      '*.*.*',
      '*.>',
      '>',
    ];
    needles.forEach((p, i) => index.upsert(`needle${i}`, 'acme', p, `needle${i}`));
    // Same matching patterns under another tenant must stay invisible to 'acme'.
    needles.forEach((p, i) => index.upsert(`other${i}`, 'other', p, `other${i}`));

    expect(index.size).toBe(99_990 + 2 * needles.length);
    expect(sorted(index.match('acme', 'needle.x.y'))).toEqual(sorted(needles.map((_, i) => `needle${i}`)));
    expect(index.match('acme', 'needle.x.y.z').length).toBe(4); // needle.>, needle.x.>, *.>, >
  });
});
