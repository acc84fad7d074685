import { z } from 'zod';
import { instant, resourceId } from '../http/view-fields.js';

/** The 202 answers of a publish and of a batch. */

export const publishedSchema = z.object({ id: resourceId(), topic: z.string(), publishedAt: instant() });

export const batchPublishedSchema = z.object({ ids: z.array(resourceId()), topic: z.string(), publishedAt: instant() });

export type PublishedView = z.output<typeof publishedSchema>;
export type BatchPublishedView = z.output<typeof batchPublishedSchema>;
