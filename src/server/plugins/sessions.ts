/**
 * @module The session routes: `GET /api/sessions/:id` (the session row and a page of its transcript, `?after=seq` to
 * resume while it runs) and `GET /api/tasks/:id/sessions` (a task's sessions, oldest first).
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { readTranscript } from '../../agents/session-store.js';
import { AutodevError } from '../../errors.js';
import { idText, MAX_ID, wholeNumberText } from '../../domain/input-policy.js';
import type { Database, SessionsTable } from '../../store/schema.js';
import type { Selectable } from 'kysely';
import { ErrorResponseSchema } from '../error-handler.js';
import { SessionPageSchema, SessionSchema } from '../../domain/session-schema.js';

export const MAX_TRANSCRIPT_PAGE = 1000;

const SessionIdParams = z.object({ id: idText('session id') });
const TaskIdParams = z.object({ id: idText('task id') });
const TranscriptQuery = z.strictObject({
  after: wholeNumberText('after', 0, MAX_ID)
    .optional()
    .describe('Only transcript entries with a larger seq; the `next_after` of the previous answer.'),
  limit: wholeNumberText('limit', 1, MAX_TRANSCRIPT_PAGE)
    .optional()
    .describe(`1..${MAX_TRANSCRIPT_PAGE}; default 500.`),
});

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

function sessionToJson(row: Selectable<SessionsTable>) {
  return {
    id: Number(row.id),
    task_id: row.task_id === null ? null : Number(row.task_id),
    role: row.role,
    agent_instance_id: row.agent_instance_id,
    provider: row.provider,
    model: row.model,
    status: row.status,
    outcome: row.outcome,
    tokens_in: Number(row.tokens_in),
    tokens_out: Number(row.tokens_out),
    tokens_cache: Number(row.tokens_cache),
    cost_usd: Number(row.cost_usd),
    started_at: new Date(Number(row.started_at)).toISOString(),
    finished_at: row.finished_at === null ? null : new Date(Number(row.finished_at)).toISOString(),
  };
}

export interface SessionsOptions {
  db: Kysely<Database>;
}

export const sessionsPlugin: FastifyPluginAsyncZod<SessionsOptions> = async (app, { db }) => {
  app.get(
    '/sessions/:id',
    {
      schema: {
        summary: 'A session and a page of its transcript',
        tags: ['sessions'],
        params: SessionIdParams,
        querystring: TranscriptQuery,
        response: {
          200: SessionPageSchema,
          ...errors(400, 401, 404),
        },
      },
    },
    async (request) => {
      const row = await db.selectFrom('sessions').selectAll().where('id', '=', request.params.id).executeTakeFirst();
      if (!row) throw new AutodevError('NOT_FOUND', `session ${request.params.id} does not exist`);
      const after = request.query.after ?? -1;
      const entries = await readTranscript(db, row.id, after, request.query.limit ?? 500);
      return {
        session: sessionToJson(row),
        events: entries.map((e) => ({ ...e, seq: Number(e.seq), at: new Date(Number(e.at)).toISOString() })),
        next_after: entries.length === 0 ? after : Number(entries[entries.length - 1]!.seq),
      };
    },
  );

  app.get(
    '/tasks/:id/sessions',
    {
      schema: {
        summary: "A task's sessions, oldest first",
        tags: ['sessions'],
        params: TaskIdParams,
        response: { 200: z.object({ sessions: z.array(SessionSchema) }), ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const task = await db.selectFrom('tasks').select('id').where('id', '=', request.params.id).executeTakeFirst();
      if (!task) throw new AutodevError('TASK_NOT_FOUND', `task ${request.params.id} does not exist`);
      const rows = await db
        .selectFrom('sessions')
        .selectAll()
        .where('task_id', '=', request.params.id)
        .orderBy('id')
        .execute();
      return { sessions: rows.map(sessionToJson) };
    },
  );
};
