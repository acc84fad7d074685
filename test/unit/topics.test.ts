import { describe, it, expect } from '@jest/globals';
import { pick, prng, randomPattern } from '../helpers/random.js';
import {
  assertPattern,
  assertTopic,
  isValidPattern,
  isValidTopic,
  patternCovers,
  topicMatches,
} from '../../shared/topics.js';

/** Every topic over `alphabet` with 1..maxLen tokens. */
function allTopics(alphabet: readonly string[], maxLen: number): string[] {
  let level = [...alphabet];
  const out = [...level];
  for (let len = 2; len <= maxLen; len++) {
    level = level.flatMap((prefix) => alphabet.map((t) => `${prefix}.${t}`));
    out.push(...level);
  }
  return out;
}

describe('isValidTopic / isValidPattern', () => {
  it.each([
    ['orders', true],
    ['orders.created', true],
    ['Orders_v2.created-at.0', true],
    ['a'.repeat(255), true],
    ['a'.repeat(256), false],
    ['', false],
    ['.orders', false],
    ['orders.', false],
    ['orders..created', false],
    ['orders.*', false],
    ['orders.>', false],
    ['orders created', false],
    ['orders/created', false],
    ['ordérs', false],
  ])('when the topic is %j, then isValidTopic is %s', (s, expected) => {
    expect(isValidTopic(s)).toBe(expected);
  });

  it.each([
    ['orders', true],
    ['orders.*', true],
    ['*.created', true],
    ['*', true],
    ['>', true],
    ['orders.>', true],
    ['*.*.>', true],
    ['orders.>.created', false],
    ['>.orders', false],
    ['orders.**', false],
    ['orders.a*', false],
    ['orders.>>', false],
    ['orders..*', false],
    ['', false],
    [`${'a'.repeat(254)}.>`, false],
  ])('when the pattern is %j, then isValidPattern is %s', (s, expected) => {
    expect(isValidPattern(s)).toBe(expected);
  });
});

describe('assertTopic / assertPattern', () => {
  it('when the topic has an empty token, then a topic.invalid error names the value and the rule', () => {
    expect(() => assertTopic('orders..created')).toThrow(
      expect.objectContaining({
        name: 'ValidationError',
        code: 'topic.invalid',
        status: 400,
        message: expect.stringMatching(/"orders\.\.created".*token 2 is empty.*dot-separated tokens/),
      }),
    );
  });

  it('when a topic contains a wildcard, then the detail says wildcards are for patterns', () => {
    expect(() => assertTopic('orders.*')).toThrow(/wildcard '\*' is only allowed in a pattern/);
  });

  it('when a huge value is rejected, then the detail quotes only its beginning', () => {
    const huge = 'x'.repeat(10_000);
    let message = '';
    try {
      assertTopic(huge);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/is 10000 characters long/);
    expect(message.length).toBeLessThan(400);
  });

  it('when > is not the last token, then a pattern.invalid error says so', () => {
    expect(() => assertPattern('orders.>.x')).toThrow(
      expect.objectContaining({ code: 'pattern.invalid', message: expect.stringMatching(/'>' may only be the last token/) }),
    );
  });

  it('when the topic and pattern are valid, then nothing is thrown', () => {
    expect(() => assertTopic('orders.created')).not.toThrow();
    expect(() => assertPattern('orders.*.>')).not.toThrow();
  });
});

describe('topicMatches', () => {
  it.each([
    ['orders.*', 'orders.created', true],
    ['orders.*', 'orders', false],
    ['orders.*', 'orders.a.b', false],
    ['orders.>', 'orders.a', true],
    ['orders.>', 'orders.a.b', true],
    ['orders.>', 'orders', false],
    ['>', 'orders', true],
    ['>', 'orders.a.b', true],
    ['*', 'orders', true],
    ['*', 'orders.a', false],
    ['orders.created', 'orders.created', true],
    ['orders.created', 'orders.updated', false],
    ['orders', 'orders.created', false],
    ['*.created', 'invoices.created', true],
    ['a.*.c.>', 'a.b.c.d.e', true],
    ['a.*.c.>', 'a.b.c', false],
  ])('when the pattern is %j and the topic %j, then it matches: %s', (pattern, topic, expected) => {
    expect(topicMatches(pattern, topic)).toBe(expected);
  });

  it('when the topic itself contains wildcards or the pattern is invalid, then nothing matches', () => {
    expect(topicMatches('orders.>', 'orders.>')).toBe(false);
    expect(topicMatches('orders.*', 'orders.*')).toBe(false);
    expect(topicMatches('orders..*', 'orders.x')).toBe(false);
  });
});

describe('patternCovers', () => {
  it.each([
    ['orders.>', 'orders.*', true],
    ['orders.*', 'orders.>', false],
    ['*.created', 'orders.created', true],
    ['orders.*', 'orders.*', true],
    ['>', 'a.>', true],
    ['>', '>', true],
    ['>', 'a', true],
    ['a.>', '>', false],
    ['a.*.c', 'a.>', false],
    ['orders.>', 'orders', false],
    ['orders', 'orders', true],
    ['orders', 'orders.*', false],
    ['orders.created', 'orders.*', false],
    ['*.*', 'orders.*', true],
    ['*.>', 'orders.*.x', true],
    ['orders.*.>', 'orders.>', false],
  ])('when the grant is %j and the pattern %j, then covers is %s', (grant, pattern, expected) => {
    expect(patternCovers(grant, pattern)).toBe(expected);
  });

  it('when the grant or the pattern is invalid, then it covers nothing', () => {
    expect(patternCovers('orders.>.x', 'orders.a.x')).toBe(false);
    expect(patternCovers('>', 'orders..x')).toBe(false);
    expect(patternCovers('', 'orders')).toBe(false);
  });

  it('when a grant covers a pattern, then every topic the pattern matches is matched by the grant', () => {
    const random = prng(0x5eed);
    const alphabet = ['a', 'b', 'c'];
    const topics = allTopics(alphabet, 4);
    const counterexamples: string[] = [];
    let coveredPairs = 0;
    let implications = 0;
    for (let run = 0; run < 3000; run++) {
      const grant = randomPattern(random, alphabet, 3, 0.45);
      const pattern = randomPattern(random, alphabet, 3, 0.45);
      if (!patternCovers(grant, pattern)) continue;
      coveredPairs++;
      for (let k = 0; k < 20; k++) {
        const topic = pick(random, topics);
        if (!topicMatches(pattern, topic)) continue;
        implications++;
        if (!topicMatches(grant, topic)) counterexamples.push(`${grant} ⊉ ${pattern} (${topic})`);
      }
    }
    expect(counterexamples).toEqual([]);
    // The property is vacuous unless the generator actually produces covering pairs with matches.
    expect(coveredPairs).toBeGreaterThan(200);
    expect(implications).toBeGreaterThan(500);
  });

  it('when patterns are small, then covers agrees exactly with set inclusion over every topic', () => {
    // With grants and patterns of at most 3 tokens over {a, b}, any topic showing non-inclusion needs at
    // most 4 tokens, and 'c' stands for every token the grant does not name, so this enumeration is complete.
    const random = prng(42);
    const topics = allTopics(['a', 'b', 'c'], 4);
    const disagreements: string[] = [];
    const seen = { covered: 0, notCovered: 0 };
    for (let run = 0; run < 1500; run++) {
      const grant = randomPattern(random, ['a', 'b'], 3, 0.45);
      const pattern = randomPattern(random, ['a', 'b'], 3, 0.45);
      const included = topics.every((t) => !topicMatches(pattern, t) || topicMatches(grant, t));
      const covers = patternCovers(grant, pattern);
      if (covers) seen.covered++;
      else seen.notCovered++;
      if (covers !== included) disagreements.push(`covers(${grant}, ${pattern}) = ${covers}`);
    }
    expect(disagreements).toEqual([]);
    expect(seen.covered).toBeGreaterThan(100);
    expect(seen.notCovered).toBeGreaterThan(100);
  });
});
