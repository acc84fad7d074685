/**
 * Checks values against the OpenAPI document's JSON Schemas (2020-12, as OpenAPI 3.1 uses them) with Ajv:
 * a keyword or format it does not know is an error, so the document cannot quietly rely on
 * something unchecked. `$ref`s point into the document's components.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export type JsonSchema = Record<string, unknown> | boolean;

/** One mismatch: where in the value (JSON pointer) and what. */
export interface SchemaError {
  at: string;
  message: string;
}

const COMPONENTS = '#/components/schemas/';

/** Validators of one document, compiled once per schema. */
const compiled = new WeakMap<object, WeakMap<object, ValidateFunction>>();

function validatorFor(schema: Record<string, unknown>, root: { components?: { schemas?: Record<string, unknown> } }): ValidateFunction {
  const ofRoot = compiled.get(root) ?? new WeakMap<object, ValidateFunction>();
  compiled.set(root, ofRoot);
  const known = ofRoot.get(schema);
  if (known) return known;
  // The fragment is checked on its own, with the document's components as its $defs.
  const asDefs = (s: unknown) => JSON.parse(JSON.stringify(s).replaceAll(`"${COMPONENTS}`, '"#/$defs/')) as Record<string, unknown>;
  // Unknown keywords and formats are errors; Ajv's stricter style rules (types spelled out beside every
  // keyword, `required` beside `properties`) are not correctness and stay off.
  const ajv = new Ajv2020({ strictSchema: true, strictNumbers: true, strictTypes: false, strictTuples: false, strictRequired: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const validate = ajv.compile({ ...asDefs(schema), $defs: asDefs(root.components?.schemas ?? {}) });
  ofRoot.set(schema, validate);
  return validate;
}

/** Validates `value` against `schema`, a schema of the document `root`: the mismatches, none when it is valid. */
export function validateSchema(schema: JsonSchema, value: unknown, root: unknown): SchemaError[] {
  if (typeof schema === 'boolean') return schema ? [] : [{ at: '/', message: 'no value is allowed here' }];
  const validate = validatorFor(schema, root as object);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => ({
    at: e.instancePath || '/',
    message: `${e.message ?? e.keyword}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`,
  }));
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
