/**
 * @module The swarm's memory over HTTP: `GET /api/memory?q=&repo=&source=&limit=` (with `q`: a search, best first;
 * without: the newest notes), `POST /api/memory` (a human's note, approver and up), `DELETE /api/memory/:id` (forget,
 * approver and up). `repo` is a repository name or `global`; absent, every note. Notes are text agents and people
 * wrote: returned as stored; the dashboard shows them as plain text.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import type { Settings } from '../../config/settings-schema.js';
import { idText, storableText, TEXT_LIMITS, wholeNumberText } from '../../domain/input-policy.js';
import { findRepository } from '../../forge/repositories.js';
import { MEMORY_LIMITS, MEMORY_SOURCES } from '../../memory/memory-limits.js';
import { listMemoryNotes, type MemoryScope } from '../../memory/memory-notes.js';
import { createMemoryService } from '../../memory/memory-service.js';
import type { DialectCapabilities } from '../../store/dialect.js';
import type { Database, MemorySource } from '../../store/schema.js';
import { ErrorResponseSchema } from '../error-handler.js';
import { requireRole } from './auth.js';
import type { SameMembers } from '../../domain/same-members.js';
import { MemoryNoteSchema, type MEMORY_SOURCE_NAMES } from '../../domain/memory-schema.js';

/** The schema's sources are the store's column type (a compile error when one changes alone). */
const sameSources: SameMembers<MemorySource, (typeof MEMORY_SOURCE_NAMES)[number]> = true;
void sameSources;

const ListQuery = z.strictObject({
  q: storableText({ trim: true, min: 1, max: MEMORY_LIMITS.queryMaxChars })
    .optional()
    .describe('Search words; any may match, best first. Absent: the newest notes.'),
  repo: storableText({ trim: true, min: 1, max: TEXT_LIMITS.name })
    .optional()
    .describe('A repository name (its notes plus the global ones), or `global`; absent: every note.'),
  source: z.enum(MEMORY_SOURCES).optional(),
  limit: wholeNumberText('limit', 1, MEMORY_LIMITS.maxResults).optional(),
});

const AddBody = z.strictObject({
  text: storableText({ trim: true, min: 1, max: MEMORY_LIMITS.textMaxChars }),
  repo: storableText({ trim: true, min: 1, max: TEXT_LIMITS.name })
    .nullable()
    .optional()
    .describe('Repository name; null or absent: a global note.'),
});

const IdParams = z.object({ id: idText('memory note id') });

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

export interface MemoryPluginOptions {
  handle: { db: Kysely<Database>; dialect: DialectCapabilities };
  settings: Settings['memory'];
  env: Readonly<Record<string, string | undefined>>;
  clock: () => number;
}

export const memoryPlugin: FastifyPluginAsyncZod<MemoryPluginOptions> = async (app, options) => {
  const { handle, clock } = options;
  const memory = createMemoryService({
    handle,
    settings: options.settings,
    env: { ...options.env },
    onVectorError: (error) => app.log.warn({ err: error }, 'memory vectors unavailable'),
  });
  const actor = (name: string | undefined) => `api:${name ?? 'unknown'}`;
  const scopeOf = async (repo: string | undefined): Promise<MemoryScope> => {
    if (repo === undefined) return { kind: 'all' };
    if (repo === 'global') return { kind: 'global' };
    const row = await findRepository(handle.db, repo);
    return { kind: 'repo', repoId: Number(row.id), includeGlobal: true };
  };

  app.get(
    '/memory',
    {
      schema: {
        summary: "The swarm's memory: search it (q) or list the newest notes",
        tags: ['memory'],
        querystring: ListQuery,
        response: {
          200: z.object({ notes: z.array(MemoryNoteSchema), search: z.string().describe('What answered q') }),
          ...errors(400, 401, 404),
        },
      },
    },
    async (request) => {
      const { q, repo, source, limit } = request.query;
      const scope = await scopeOf(repo);
      if (q === undefined) {
        return { notes: await listMemoryNotes(handle.db, { scope, source, limit }), search: 'none' };
      }
      const found = await memory.search({ query: q, scope, limit: limit ?? 10 });
      return { notes: source ? found.filter((n) => n.source === source) : found, search: memory.describe() };
    },
  );

  app.post(
    '/memory',
    {
      onRequest: requireRole('approver'),
      schema: {
        summary: 'Add a note to the memory (source human_note)',
        tags: ['memory'],
        body: AddBody,
        response: { 201: MemoryNoteSchema, ...errors(400, 401, 403, 404, 415) },
      },
    },
    async (request, reply) => {
      const repoId = request.body.repo ? Number((await findRepository(handle.db, request.body.repo)).id) : null;
      const note = await memory.add({
        repoId,
        source: 'human_note',
        text: request.body.text,
        createdBy: actor(request.apiToken?.name),
        now: clock(),
      });
      return reply.code(201).send(note);
    },
  );

  app.delete(
    '/memory/:id',
    {
      onRequest: requireRole('approver'),
      schema: {
        summary: 'Forget a note',
        tags: ['memory'],
        params: IdParams,
        response: { 200: MemoryNoteSchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => memory.forget(request.params.id, { actor: actor(request.apiToken?.name), now: clock() }),
  );
};
