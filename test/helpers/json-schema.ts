/**
 * A small JSON Schema (2020-12 subset, as OpenAPI 3.1 uses it) checker for the OpenAPI test: enough to
 * check the documented responses, and strict about it — a keyword it does not know is an error, so the
 * document cannot quietly rely on something unchecked.
 */

export type JsonSchema = Record<string, unknown> | boolean;

/** One mismatch: where in the value (JSON pointer) and what. */
export interface SchemaError {
  at: string;
  message: string;
}

const ANNOTATIONS = new Set([
  'description',
  'title',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$comment',
  'contentMediaType',
]);
const KNOWN = new Set([
  ...ANNOTATIONS,
  '$ref',
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'oneOf',
  'anyOf',
  'allOf',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Validates `value` against `schema`; `$ref`s resolve against `root` (`#/components/schemas/X`). */
export function validateSchema(schema: JsonSchema, value: unknown, root: unknown, at = ''): SchemaError[] {
  if (schema === true) return [];
  if (schema === false) return [{ at, message: 'no value is allowed here' }];
  const errors: SchemaError[] = [];
  const fail = (message: string, where = at) => errors.push({ at: where || '/', message });
  for (const key of Object.keys(schema)) {
    if (!KNOWN.has(key)) throw new Error(`schema at ${at || '/'} uses "${key}", which this checker does not implement`);
  }
  if (typeof schema.$ref === 'string') {
    errors.push(...validateSchema(resolveRef(root, schema.$ref), value, root, at));
  }
  const t = typeOf(value);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    const ok = types.some((ty) => ty === t || (ty === 'number' && t === 'integer'));
    if (!ok) {
      fail(`expected ${types.join(' or ')}, got ${t}`);
      return errors;
    }
  }
  if (schema.enum !== undefined && !(schema.enum as unknown[]).some((e) => deepEqual(e, value))) {
    fail(`expected one of ${JSON.stringify(schema.enum)}, got ${JSON.stringify(value)}`);
  }
  if (schema.const !== undefined && !deepEqual(schema.const, value)) fail(`expected ${JSON.stringify(schema.const)}`);
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) fail(`${value} is below ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) fail(`${value} is above ${schema.maximum}`);
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) fail(`shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) fail(`longer than ${schema.maxLength}`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) {
      fail(`${JSON.stringify(value)} does not match ${schema.pattern}`);
    }
    if (schema.format === 'date-time' && (!DATE_TIME.test(value) || Number.isNaN(Date.parse(value)))) {
      fail(`${JSON.stringify(value)} is not a date-time`);
    }
    if (schema.format === 'uri') {
      try {
        new URL(value);
      } catch {
        fail(`${JSON.stringify(value)} is not a URI`);
      }
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) fail(`fewer than ${schema.minItems} items`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) fail(`more than ${schema.maxItems} items`);
    if (schema.items !== undefined) {
      value.forEach((item, i) => errors.push(...validateSchema(schema.items as JsonSchema, item, root, `${at}/${i}`)));
    }
  }
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
    for (const req of (schema.required ?? []) as string[]) {
      if (!Object.hasOwn(obj, req)) fail(`missing required member "${req}"`);
    }
    for (const [k, v] of Object.entries(obj)) {
      if (Object.hasOwn(props, k)) errors.push(...validateSchema(props[k]!, v, root, `${at}/${k}`));
      else if (schema.additionalProperties !== undefined) {
        const extra = schema.additionalProperties as JsonSchema;
        if (extra === false) fail(`member "${k}" is not documented`, `${at}/${k}`);
        else errors.push(...validateSchema(extra, v, root, `${at}/${k}`));
      }
    }
  }
  if (Array.isArray(schema.allOf)) {
    for (const s of schema.allOf as JsonSchema[]) errors.push(...validateSchema(s, value, root, at));
  }
  if (Array.isArray(schema.anyOf)) {
    const ok = (schema.anyOf as JsonSchema[]).some((s) => validateSchema(s, value, root, at).length === 0);
    if (!ok) fail('matches none of anyOf');
  }
  if (Array.isArray(schema.oneOf)) {
    const results = (schema.oneOf as JsonSchema[]).map((s) => validateSchema(s, value, root, at));
    const passing = results.filter((r) => r.length === 0).length;
    if (passing !== 1) {
      const closest = results.reduce((a, b) => (b.length < a.length ? b : a));
      fail(`matches ${passing} of oneOf (exactly one needed)${passing === 0 ? `; closest: ${closest.map((e) => `${e.at} ${e.message}`).join(', ')}` : ''}`);
    }
  }
  return errors;
}

/** Follows a local `$ref` (`#/a/b`) in `root`. @throws when it does not resolve. */
export function resolveRef(root: unknown, ref: string): JsonSchema {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported: ${ref}`);
  let cur: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    cur = (cur as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (cur === undefined) throw new Error(`$ref ${ref} does not resolve`);
  }
  return cur as JsonSchema;
}
