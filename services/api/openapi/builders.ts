import { z } from 'zod';
import { TOPIC_PATTERN } from '../../../shared/topics.js';

/** Small builders for the OpenAPI document's JSON Schemas, and the bridge from the zod schemas the routes validate with. */

export type Schema = Record<string, unknown>;

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
export const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
export const int = (extra: Schema = {}): Schema => ({ type: 'integer', ...extra });
export const bool = (extra: Schema = {}): Schema => ({ type: 'boolean', ...extra });
export const dateTime = (description?: string): Schema => ({ type: 'string', format: 'date-time', ...(description ? { description } : {}) });
export const arr = (items: Schema, extra: Schema = {}): Schema => ({ type: 'array', items, ...extra });

/** A closed object: `required` lists the members always present. */
export function obj(properties: Record<string, Schema>, required: string[] = [], extra: Schema = {}): Schema {
  return { type: 'object', properties, required, additionalProperties: false, ...extra };
}

/**
 * The JSON Schema of a request body from the zod schema its route parses it with (zod 4's JSON Schema
 * output, as the body arrives: defaults make members optional). Members that are document-only (a
 * `$ref` to a component, a description) are set on the zod schemas with `.meta()`.
 */
export function fromZod(schema: z.ZodType, extra: Schema = {}): Schema {
  // A zod schema with an `id` is a component of its own: point at it, and document it under its id.
  const text = JSON.stringify(z.toJSONSchema(schema, { io: 'input' })).replaceAll('"#/$defs/', '"#/components/schemas/');
  const { $schema: _dialect, $defs, ...json } = JSON.parse(text) as Schema & { $defs?: Record<string, Schema> };
  const own = typeof json.$ref === 'string' && Object.keys(json).length === 1 ? $defs?.[json.$ref.split('/').pop()!] : undefined;
  return { ...(own ?? json), ...extra };
}

export const json = (schema: Schema, description: string) => ({ description, content: { 'application/json': { schema } } });
export const problemRef = (name: string) => ({ $ref: `#/components/responses/${name}` });

export function problemResponse(description: string) {
  return { description, content: { 'application/problem+json': { schema: ref('Problem') } } };
}

export { TOPIC_PATTERN };

export const pathParam = (name: string, description: string, schema: Schema = str()) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema,
});

/** The errors every authenticated operation can answer. */
const AUTH_ERRORS = { '401': problemRef('Unauthorized'), '500': problemRef('Internal') };

export function op(summary: string, responses: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { summary, ...extra, responses: { ...responses, ...AUTH_ERRORS } };
}

export function body(schema: Schema, description?: string) {
  return { required: true, ...(description ? { description } : {}), content: { 'application/json': { schema } } };
}

/** Problem responses the operations name most. */
export const problems = {
  notFound: problemRef('NotFound'),
  invalid: problemRef('BadRequest'),
  forbidden: problemRef('Forbidden'),
  conflict: problemRef('Conflict'),
  unavailable: problemRef('Unavailable'),
  tooMany: problemRef('TooManyRequests'),
};
