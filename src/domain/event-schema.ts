/**
 * @module One change as the event stream (`GET /api/events`) sends it in a frame's `data:` line, as a zod schema for the
 * server's types and the dashboard's (`import type`). Imports only zod. Times, also those inside `data`, are ISO 8601
 * with a zone (`event-data-times.ts`).
 */
import { z } from 'zod';
import { IsoTime } from './story-board-schema.js';

export const LiveEventSchema = z
  .object({
    id: z.int(),
    kind: z.string().describe('e.g. task.created, approval.decided, workflow.advanced'),
    subject_type: z.string(),
    subject_id: z.string(),
    actor: z.string(),
    data: z.unknown(),
    created_at: IsoTime,
  })
  .meta({ id: 'LiveEvent' });
export type LiveEvent = z.infer<typeof LiveEventSchema>;
