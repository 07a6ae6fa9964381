/**
 * @module `GET /api/stats/activity`' answer (per UTC day: tasks finished, spend) as zod schemas: the server validates and documents its answers with them (OpenAPI) and the
 * dashboard takes its types from them (`import type`, nothing bundled). Imports only zod. Times are ISO 8601 with a
 * zone.
 */
import { z } from 'zod';

export const ActivityBucketSchema = z.object({
  day: z.iso.date().describe('The UTC day, YYYY-MM-DD.'),
  completed: z.int().describe('Tasks that finished completed on this day.'),
  failed: z.int().describe('Tasks that finished failed (out of attempts) on this day.'),
  cost_usd: z.number().describe('Cost of the sessions started on this day.'),
  tokens: z.int().describe('Tokens in + out of the sessions started on this day.'),
});

export const ActivityResponseSchema = z.object({
  days: z.int(),
  buckets: z.array(ActivityBucketSchema).describe('One per day, oldest first; the last is today (UTC).'),
});

export type ActivityBucket = z.infer<typeof ActivityBucketSchema>;
export type ActivityResponse = z.infer<typeof ActivityResponseSchema>;
