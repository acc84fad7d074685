import { z } from 'zod';
import { ID_PATTERN } from '../../../shared/ids.js';

/**
 * The members the API's answers are made of, as zod schemas. Each view declares its answer with these
 * (`z.output` types the function that builds it), and the OpenAPI document's response components are
 * generated from the same schemas, so a field a view writes out without its schema does not compile. A field
 * added through a conditional spread (`...(c ? { x } : {})`) escapes that check, as TypeScript does not look
 * for extra keys there: the OpenAPI test, which checks live answers against the document, catches those.
 */

/** Ids of messages and subscriptions: a three-letter prefix and a ULID. */
export const resourceId = () => z.string().regex(ID_PATTERN);

/** An instant as ISO 8601 text (what `Date.toISOString()` writes). */
export const instant = (description?: string) =>
  z.string().meta({ format: 'date-time', ...(description ? { description } : {}) });

/** A count of something: a whole number, zero or more. */
export const count = (description?: string) =>
  z
    .number()
    .int()
    .min(0)
    .meta(description ? { description } : {});

/** A page of a list: the items and the cursor of the next page (null on the last). */
export const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), next: z.string().nullable() });
