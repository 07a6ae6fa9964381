/**
 * @module The memory routes' answer (`GET /api/memory`, add) as zod schemas: the server validates and documents its answers with them (OpenAPI) and the
 * dashboard takes its types from them (`import type`, nothing bundled). Imports only zod. Times are ISO 8601 with a
 * zone.
 */
import { z } from 'zod';
import { MEMORY_SOURCE_NAMES } from './memory-sources.js';
import { IsoTime } from './story-board-schema.js';

export { MEMORY_SOURCE_NAMES };

const isoTime = IsoTime;

export const MemoryNoteSchema = z
  .object({
    id: z.int(),
    repo_id: z.int().nullable().describe('null: a global note'),
    source: z.enum(MEMORY_SOURCE_NAMES),
    text: z.string().describe('Written by an agent or a person: untrusted, show as plain text.'),
    subject: z.string().nullable().describe('What it is about, e.g. task:12, approval:3'),
    created_by: z.string(),
    created_at: isoTime,
    score: z.number().optional().describe('Search rank, higher is better (only with q)'),
  })
  .meta({ id: 'MemoryNote' });

export type MemoryNote = z.infer<typeof MemoryNoteSchema>;
