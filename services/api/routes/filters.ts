import { Router } from 'express';
import { z } from 'zod';
import { compileFilter } from '../../../shared/filter.js';
import type { Pool } from '../../../shared/db/pool.js';
import { ValidationError } from '../../../shared/errors.js';
import { visibleSubscription } from '../subscriptions/visible-subscription.js';
import { parseBody } from '../http/validate.js';
import { jsonBody } from '../http/json-body.js';

export const testSchema = z
  .object({
    filter: z
      .unknown()
      .optional()
      .meta({
        oneOf: [{ $ref: '#/components/schemas/Filter' }, { type: 'null' }],
        description: 'Try this filter instead of the saved one.',
      }),
    payload: z.unknown().optional().meta({ description: 'A sample message payload (any JSON).' }),
  })
  .strict();

export const testFilterResultSchema = z.object({ matches: z.boolean() });

/** Tries a filter on a sample payload: the subscription's own, or one sent along before it is saved. */
export function filterRoutes(deps: { pool: Pool }): Router {
  const r = Router();
  // The sample payload may be as large as a published message could be.
  const json = jsonBody('1mb');

  r.post('/v1/subscriptions/:id/test-filter', json, async (req, res) => {
    const sub = await visibleSubscription(deps.pool, req);
    const body = parseBody(testSchema, req.body, 'filter.test_invalid');
    // Presence, not value: `"payload": null` is a payload, `"filter": null` tries "no filter".
    const raw = req.body as Record<string, unknown>;
    if (!Object.hasOwn(raw, 'payload')) {
      throw new ValidationError('filter.test_invalid', 'payload: the sample message payload (any JSON value) is required');
    }
    const filter = Object.hasOwn(raw, 'filter') ? body.filter : sub.filter;
    // No filter matches everything, as the router treats it.
    const matches = filter === null || filter === undefined ? true : compileFilter(filter)(body.payload);
    res.json({ matches } satisfies z.output<typeof testFilterResultSchema>);
  });

  return r;
}
