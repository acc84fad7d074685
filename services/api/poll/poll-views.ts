import { z } from 'zod';
import { instant, resourceId } from '../http/view-fields.js';

/** The answers of a poll (`GET …/messages`) and of an ack or nack. */

export const polledMessageSchema = z.object({
  id: resourceId(),
  topic: z.string(),
  publishedAt: instant(),
  data: z.unknown(),
  ackId: z.string(),
  attempt: z.number().int().min(1),
});

export const polledMessagesSchema = z.object({ messages: z.array(polledMessageSchema) });

export const settleResultsSchema = z.object({
  results: z.array(z.object({ ackId: z.string(), messageId: z.string(), status: z.enum(['acked', 'nacked']) })),
});

/** A polled message without its payload, which is spliced in as the stored JSON text. */
export type PolledFields = Omit<z.output<typeof polledMessageSchema>, 'data'>;
export type SettleResults = z.output<typeof settleResultsSchema>;
