/**
 * @module The session routes' answers (`GET /api/sessions/:id`, `GET /api/tasks/:id/sessions`) as zod schemas, for the
 * server's OpenAPI and the dashboard's types (`import type`). Imports only zod. Times are ISO 8601 with a zone.
 */
import { z } from 'zod';
import { IsoTime } from './story-board-schema.js';

const isoTime = IsoTime;

export const SessionSchema = z
  .object({
    id: z.int(),
    task_id: z.int().nullable(),
    role: z.string(),
    agent_instance_id: z.string().nullable(),
    provider: z.string(),
    model: z.string().nullable(),
    status: z.enum(['running', 'succeeded', 'failed', 'rate_limited', 'aborted']),
    outcome: z.string().nullable(),
    tokens_in: z.number(),
    tokens_out: z.number(),
    tokens_cache: z.number(),
    cost_usd: z.number(),
    started_at: isoTime,
    finished_at: isoTime.nullable(),
  })
  .meta({ id: 'Session' });

export const TranscriptEntrySchema = z.object({ seq: z.int(), kind: z.string(), data: z.unknown(), at: isoTime });

export const SessionPageSchema = z.object({
  session: SessionSchema,
  events: z.array(TranscriptEntrySchema),
  next_after: z.int().describe('Pass as ?after= to get only newer entries (-1: none yet).'),
});

export type Session = z.infer<typeof SessionSchema>;
export type TranscriptEntry = z.infer<typeof TranscriptEntrySchema>;
export type SessionPage = z.infer<typeof SessionPageSchema>;
