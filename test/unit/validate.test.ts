import { describe, it, expect } from '@jest/globals';
import { z } from 'zod';
import { decodeCursor, encodeCursor, parseBody, parseLimit } from '../../services/api/http/validate.js';

function thrown(fn: () => unknown): Record<string, unknown> {
  try {
    fn();
  } catch (err) {
    return err as Record<string, unknown>;
  }
  throw new Error('expected an error, but nothing was thrown');
}

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('parseBody', () => {
  const schema = z.object({ name: z.string(), size: z.number().int().min(1) }).strict();

  it('when the value fits the schema, then the parsed value is returned', () => {
    expect(parseBody(schema, { name: 'a', size: 2 })).toEqual({ name: 'a', size: 2 });
  });

  it('when fields are wrong, then one 400 names every offending field, with the given code', () => {
    const err = thrown(() => parseBody(schema, { name: 1, size: 0 }, 'thing.invalid'));
    expect(err).toMatchObject({ name: 'ValidationError', status: 400, code: 'thing.invalid' });
    expect(err.message).toMatch(/^name: .*; size: /);
    expect((err.extensions as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['name', 'size']);
  });

  it('when an unknown field is present, then the error names it', () => {
    const err = thrown(() => parseBody(schema, { name: 'a', size: 1, colour: 'red' }));
    expect(err).toMatchObject({ status: 400, code: 'request.invalid' });
    expect(err.message).toContain('colour');
  });

  it('when the body is not an object, then the error points at the body', () => {
    const err = thrown(() => parseBody(schema, 'text'));
    expect(err.message).toMatch(/^\(body\): /);
  });
});

describe('encodeCursor / decodeCursor', () => {
  it('when a cursor is encoded, then decoding gives back the same position', () => {
    const at = new Date('2024-05-06T07:08:09.123Z');
    const cursor = encodeCursor(at, 'sub_01HK153X000000000000000000');
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual({ createdAt: '2024-05-06T07:08:09.123Z', id: 'sub_01HK153X000000000000000000' });
  });

  it('when there is no cursor, then there is no position', () => {
    expect(decodeCursor(undefined)).toBeUndefined();
  });

  it.each([
    ['not base64 JSON', 'xyz'],
    ['empty', ''],
    ['JSON that is not a pair', cursorOf({ a: 1 })],
    ['an id that is not a string', cursorOf(['2024-01-01T00:00:00.000Z', 5])],
    ['a date that is not a date', cursorOf(['yesterday', 'sub_x'])],
    // Date.parse accepts these, Postgres does not: they must not get as far as a query (a 500).
    ['a bare number as the date', cursorOf(['1', 'sub_x'])],
    ['a loose date', cursorOf(['May 5', 'sub_x'])],
    ['a day that rolls over (Feb 30)', cursorOf(['2020-02-30T00:00:00.000Z', 'sub_x'])],
    ['an array query value', ['a', 'b']],
  ])('when the cursor is %s, then it is a 400 request.invalid_cursor', (_, cursor) => {
    expect(thrown(() => decodeCursor(cursor))).toMatchObject({ status: 400, code: 'request.invalid_cursor' });
  });
});

describe('parseLimit', () => {
  it('when absent, then the default applies', () => {
    expect(parseLimit(undefined)).toBe(50);
    expect(parseLimit(undefined, 10, 20)).toBe(10);
  });

  it('when an integer within range, then it is used', () => {
    expect(parseLimit('1')).toBe(1);
    expect(parseLimit('200')).toBe(200);
  });

  it.each([['0'], ['201'], ['-1'], ['1.5'], ['ten'], [''], [['1', '2']]])('when %j, then it is a 400', (value) => {
    expect(thrown(() => parseLimit(value))).toMatchObject({ status: 400, code: 'request.invalid_limit' });
  });
});
