import { z } from 'zod';
import { deliverySummarySchema } from '../deliveries/delivery-view.js';
import { count, instant, page, resourceId } from '../http/view-fields.js';
import { stateCountsSchema } from '../stats/stats-view.js';

/** The answers of `GET /v1/messages`, `GET /v1/messages/:id` and the batch summary. */

export const messageSchema = z.object({
  id: resourceId(),
  topic: z.string(),
  publishedAt: instant(),
  data: z.unknown().meta({ description: 'The payload as published; null once retention dropped it.' }),
  deliveries: z.array(deliverySummarySchema).meta({
    description: 'Admins see every delivery in their tenant; others only those of subscriptions they own.',
  }),
  settled: z.boolean().meta({ description: 'Every delivery listed succeeded or is dead.' }),
});

export const messagePageSchema = page(
  z.object({ id: resourceId(), topic: z.string(), publishedAt: instant(), deliveries: stateCountsSchema, settled: z.boolean() }),
);

export const messageSummarySchema = z.object({
  total: count('Distinct ids asked about.'),
  settled: count('Of those, messages whose every delivery has succeeded or is dead.'),
  counts: stateCountsSchema,
  missing: z
    .array(z.string())
    .meta({ description: "Ids not known (not routed yet, another tenant's, or out of the caller's grants)." }),
});

/** The message view without its payload, which is spliced in as the stored JSON text (never re-parsed). */
export type MessageFields = Omit<z.output<typeof messageSchema>, 'data'>;
export type MessagePage = z.output<typeof messagePageSchema>;
export type MessageSummaryView = z.output<typeof messageSummarySchema>;
