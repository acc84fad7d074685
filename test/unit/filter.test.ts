import { describe, expect, it } from '@jest/globals';
import {
  compileFilter,
  compileStoredFilter,
  FILTER_LIMITS,
  MATCH_NOTHING,
  parseFilter,
  validateFilter,
} from '../../shared/filter.js';

const order = {
  order: {
    id: 'o-1',
    status: 'paid',
    total: 120.5,
    items: [{ sku: 'A', qty: 2 }, { sku: 'B', qty: 1 }],
    customer: { country: 'NL', vip: true, note: null },
  },
  count: 0,
};

const matches = (filter: unknown, payload: unknown = order) => compileFilter(filter)(payload);

function thrown(fn: () => unknown): Record<string, unknown> {
  try {
    fn();
  } catch (err) {
    return err as Record<string, unknown>;
  }
  throw new Error('expected an error, but nothing was thrown');
}

describe('filter evaluation', () => {
  it('when eq names the value at a dotted path, then it matches, and a different value does not', () => {
    expect(matches({ path: 'order.status', eq: 'paid' })).toBe(true);
    expect(matches({ path: 'order.status', eq: 'refunded' })).toBe(false);
    expect(matches({ path: 'order.customer.vip', eq: true })).toBe(true);
    expect(matches({ path: 'count', eq: 0 })).toBe(true);
  });

  it('when eq compares across types, then there is no coercion', () => {
    expect(matches({ path: 'count', eq: '0' })).toBe(false);
    expect(matches({ path: 'count', eq: false })).toBe(false);
    expect(matches({ path: 'order.customer.vip', eq: 'true' })).toBe(false);
    expect(matches({ path: 'order.total', eq: 120.5 })).toBe(true);
  });

  it('when eq null meets a present null and an absent key, then only the present null matches', () => {
    expect(matches({ path: 'order.customer.note', eq: null })).toBe(true);
    expect(matches({ path: 'order.customer.missing', eq: null })).toBe(false);
  });

  it('when the value at the path is an object or array, then eq and in never match it', () => {
    expect(matches({ path: 'order.customer', eq: null })).toBe(false);
    expect(matches({ path: 'order.items', in: ['A', null] })).toBe(false);
  });

  it('when in lists the value, then it matches; otherwise not', () => {
    expect(matches({ path: 'order.customer.country', in: ['DE', 'NL'] })).toBe(true);
    expect(matches({ path: 'order.customer.country', in: ['DE', 'FR'] })).toBe(false);
    expect(matches({ path: 'order.customer.note', in: [null] })).toBe(true);
    expect(matches({ path: 'order.absent', in: [null] })).toBe(false);
  });

  it('when numeric comparisons run, then they hold exactly at their bounds', () => {
    expect(matches({ path: 'order.total', gt: 120 })).toBe(true);
    expect(matches({ path: 'order.total', gt: 120.5 })).toBe(false);
    expect(matches({ path: 'order.total', gte: 120.5 })).toBe(true);
    expect(matches({ path: 'order.total', lt: 120.5 })).toBe(false);
    expect(matches({ path: 'order.total', lte: 120.5 })).toBe(true);
    expect(matches({ path: 'order.total', lt: 1000 })).toBe(true);
  });

  it('when a numeric comparison meets a string, boolean, null or absent value, then it is false', () => {
    expect(matches({ path: 'v', gt: 1 }, { v: '5' })).toBe(false);
    expect(matches({ path: 'v', gte: 0 }, { v: true })).toBe(false);
    expect(matches({ path: 'v', lte: 0 }, { v: null })).toBe(false);
    expect(matches({ path: 'v', lt: 10 }, {})).toBe(false);
  });

  it('when exists is asked, then a present key (even null) exists and an absent one does not', () => {
    expect(matches({ path: 'order.customer.note', exists: true })).toBe(true);
    expect(matches({ path: 'order.customer.email', exists: true })).toBe(false);
    expect(matches({ path: 'order.customer.email', exists: false })).toBe(true);
    expect(matches({ path: 'order.status.deeper', exists: true })).toBe(false);
  });

  it('when a path segment is an index, then it steps into arrays; out of range or non-index is absent', () => {
    expect(matches({ path: 'order.items.1.sku', eq: 'B' })).toBe(true);
    expect(matches({ path: 'order.items.2.sku', exists: true })).toBe(false);
    expect(matches({ path: 'order.items.first', exists: true })).toBe(false);
    expect(matches({ path: 'order.items.01.sku', exists: true })).toBe(false);
    expect(matches({ path: 'order.items.length', exists: true })).toBe(false);
    expect(matches({ path: '0', eq: 'x' }, ['x'])).toBe(true);
  });

  it('when a path names a prototype member, then it is absent: only own keys count', () => {
    expect(matches({ path: 'constructor', exists: true })).toBe(false);
    expect(matches({ path: 'order.toString', exists: true })).toBe(false);
    expect(matches({ path: '__proto__', exists: true }, {})).toBe(false);
    expect(matches({ path: '__proto__.x', eq: 1 }, JSON.parse('{"__proto__": {"x": 1}}'))).toBe(true);
  });

  it('when the payload is a scalar or null, then paths are absent', () => {
    expect(matches({ path: 'a', exists: false }, 'text')).toBe(true);
    expect(matches({ path: 'a', eq: 1 }, null)).toBe(false);
    expect(matches({ path: 'a', exists: true }, 42)).toBe(false);
  });

  it('when and/or/not combine conditions, then they follow boolean logic', () => {
    const paidNl = { and: [{ path: 'order.status', eq: 'paid' }, { path: 'order.customer.country', eq: 'NL' }] };
    expect(matches(paidNl)).toBe(true);
    expect(matches({ and: [...paidNl.and, { path: 'order.total', gt: 500 }] })).toBe(false);
    expect(matches({ or: [{ path: 'order.total', gt: 500 }, { path: 'order.customer.vip', eq: true }] })).toBe(true);
    expect(matches({ or: [{ path: 'order.total', gt: 500 }, { path: 'x', exists: true }] })).toBe(false);
    expect(matches({ not: { path: 'order.status', eq: 'paid' } })).toBe(false);
    expect(matches({ not: { path: 'order.absent', eq: 1 } })).toBe(true);
    expect(matches({ not: { not: paidNl } })).toBe(true);
  });

  it('when a filter is compiled, then evaluating it does not change the payload', () => {
    const payload = JSON.parse(JSON.stringify(order));
    matches({ or: [{ path: 'order.items.0.qty', gte: 1 }, { path: 'a.b.c', exists: true }] }, payload);
    expect(payload).toEqual(order);
  });
});

describe('filter validation', () => {
  it('when a filter is valid, then there are no issues and parseFilter returns it unchanged', () => {
    const f = { and: [{ path: 'a', in: [1, 'x', null, true] }, { not: { path: 'b.c', exists: true } }] };
    expect(validateFilter(f)).toEqual([]);
    expect(parseFilter(f)).toBe(f);
  });

  it('when a condition has no operator or two, then the issue says it needs exactly one', () => {
    expect(validateFilter({ path: 'a' })[0]!.message).toMatch(/needs one operator/);
    expect(validateFilter({ path: 'a', gt: 1, lt: 5 })[0]!.message).toMatch(/exactly one operator.*"and"/);
  });

  it('when a key is unknown, then the issue names it and points at it', () => {
    expect(validateFilter({ path: 'a', equals: 1 })).toEqual([
      { path: ['equals'], message: expect.stringContaining('unknown key "equals"') },
    ]);
    expect(validateFilter({ and: [{ path: 'a', eq: 1 }, { path: 'b', regex: '.*' }] })[0]!.path).toEqual(['and', 1, 'regex']);
  });

  it('when a combinator is mixed with a condition, then it is refused', () => {
    expect(validateFilter({ and: [{ path: 'a', eq: 1 }], path: 'b' })[0]!.message).toMatch(/exactly one key/);
  });

  it('when operands have the wrong type, then each issue names its place and the type expected', () => {
    const issues = validateFilter({
      and: [
        { path: 'a', eq: { x: 1 } },
        { path: 'b', gt: '5' },
        { path: 'c', exists: 'yes' },
        { path: 'd', in: [] },
        { path: 'e', in: [[1]] },
        { path: 7, eq: 1 },
      ],
    });
    expect(issues.map((i) => i.path)).toEqual([
      ['and', 0, 'eq'],
      ['and', 1, 'gt'],
      ['and', 2, 'exists'],
      ['and', 3, 'in'],
      ['and', 4, 'in', 0],
      ['and', 5, 'path'],
    ]);
    expect(issues[0]!.message).toMatch(/string, number, boolean or null, not an object/);
    expect(issues[1]!.message).toMatch(/must be a number, not a string/);
  });

  it('when a path is malformed, then it is refused', () => {
    for (const path of ['', '.a', 'a.', 'a..b', 'x'.repeat(FILTER_LIMITS.maxPathLength + 1)]) {
      expect(validateFilter({ path, eq: 1 })).toHaveLength(1);
    }
    expect(validateFilter({ path: Array(FILTER_LIMITS.maxPathSegments + 1).fill('a').join('.'), eq: 1 })[0]!.message).toMatch(
      /segments/,
    );
  });

  it('when and/or are empty or not arrays, or not holds a non-object, then they are refused', () => {
    expect(validateFilter({ and: [] })[0]!.path).toEqual(['and']);
    expect(validateFilter({ or: { path: 'a', eq: 1 } })[0]!.path).toEqual(['or']);
    expect(validateFilter({ not: [{ path: 'a', eq: 1 }] })[0]!.path).toEqual(['not']);
    expect(validateFilter(null)[0]!.message).toMatch(/must be an object, not null/);
    expect(validateFilter('status = paid')[0]!.message).toMatch(/not a string/);
  });

  it('when a filter nests deeper than the limit, then it is refused without walking further', () => {
    let deep: unknown = { path: 'a', eq: 1 };
    for (let i = 0; i < FILTER_LIMITS.maxDepth - 1; i++) deep = { not: deep };
    expect(validateFilter(deep)).toEqual([]);
    const tooDeep = { not: deep };
    expect(validateFilter(tooDeep)[0]!.message).toMatch(/nest at most 8 levels/);
    // A hostile nesting far beyond the limit costs no more than the limit.
    let hostile: unknown = {};
    for (let i = 0; i < 100_000; i++) hostile = { not: hostile };
    expect(validateFilter(hostile)).toHaveLength(1);
  });

  it('when a filter has too many nodes, branches or in-values, then it is refused', () => {
    const leaf = { path: 'a', eq: 1 };
    expect(validateFilter({ or: Array(FILTER_LIMITS.maxBranches + 1).fill(leaf) })[0]!.message).toMatch(/1 to 32 filters/);
    const wide = { and: Array(3).fill({ or: Array(30).fill(leaf) }) };
    expect(validateFilter(wide).some((i) => /at most 64 conditions/.test(i.message))).toBe(true);
    expect(validateFilter({ path: 'a', in: Array(FILTER_LIMITS.maxInValues + 1).fill(1) })[0]!.message).toMatch(/1 to 100/);
  });

  it('when the filter is over the byte limit, then it is refused', () => {
    const big = { or: Array(10).fill({ path: 'a', in: Array(10).fill('x'.repeat(1000)) }) };
    expect(validateFilter(big)).toEqual([{ path: [], message: expect.stringMatching(/bytes as JSON; at most 8192/) }]);
    expect(validateFilter({ path: 'a', eq: 'x'.repeat(FILTER_LIMITS.maxStringLength + 1) })[0]!.message).toMatch(/1024/);
  });

  it('when a filter is invalid, then parseFilter throws filter.invalid listing every issue with its full path', () => {
    const err = thrown(() => parseFilter({ or: [{ path: 'a', gt: 'x' }, { path: '', eq: 1 }] }));
    expect(err).toMatchObject({ code: 'filter.invalid', status: 400 });
    expect((err.extensions as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual([
      'filter.or.0.gt',
      'filter.or.1.path',
    ]);
    expect(err.message).toMatch(/^filter\.or\.0\.gt: must be a number/);
  });

  it('when a huge number of issues exist, then at most 20 are listed', () => {
    expect(validateFilter({ or: Array(32).fill({ path: 1, eq: {} }) }).length).toBe(20);
  });
});

describe('compileStoredFilter', () => {
  it('when there is no filter, then there is no predicate', () => {
    expect(compileStoredFilter(null)).toBeUndefined();
    expect(compileStoredFilter(undefined)).toBeUndefined();
  });

  it('when the stored filter no longer validates, then it matches nothing (fails closed)', () => {
    const f = compileStoredFilter({ path: 'a', like: '%x%' });
    expect(f).toBe(MATCH_NOTHING);
    expect(f!({ a: 'x' })).toBe(false);
  });

  it('when the stored filter is valid, then it evaluates', () => {
    expect(compileStoredFilter({ path: 'a', eq: 1 })!({ a: 1 })).toBe(true);
  });
});
