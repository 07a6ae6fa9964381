/**
 * @module The cost views' API shape (`GET /api/costs`, `autodev costs --json`) as zod schemas: the server validates
 * and documents its answer with them, the dashboard's `/costs` page takes its types from them (`import type`, nothing
 * bundled). Imports only zod and the groupings (`cost-grouping.ts`). Times are ISO 8601 with a zone.
 */
import { z } from 'zod';
import { COST_GROUPINGS } from './cost-grouping.js';

const Usage = {
  sessions: z.int(),
  tokens_in: z.number(),
  tokens_out: z.number(),
  tokens_cache: z.number(),
  tokens: z.number().describe('tokens_in + tokens_out'),
  cost_usd: z.number(),
};

export const CostRowSchema = z
  .object({
    key: z
      .string()
      .nullable()
      .describe('The task id, story id, role, provider or UTC day (YYYY-MM-DD); null: sessions of no task or story'),
    label: z.string().describe('What the key is, for people: a task type, a story title, the day'),
    ...Usage,
  })
  .meta({ id: 'CostRow' });
export type CostRow = z.infer<typeof CostRowSchema>;

export const CostsResponseSchema = z
  .object({
    by: z.enum(COST_GROUPINGS),
    since: z.iso.datetime({ offset: true }).nullable(),
    rows: z.array(CostRowSchema).describe('Costliest first (by day: oldest first); at most 500'),
    totals: z.object(Usage).describe('Over every session since `since`, also those beyond the listed rows'),
  })
  .meta({ id: 'Costs' });
export type CostsResponse = z.infer<typeof CostsResponseSchema>;
