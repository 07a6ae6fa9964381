/**
 * @module `GET /api/merge-requests/:id` (viewer and up): a merge request with its diff (capped at 500 kB, `truncated`
 * says when cut), notes, and the gates of the round it was opened for (verdict, findings, and the deterministic run:
 * test counts, coverage, output tail; secret-scan findings; lint run), plus the earlier rounds' gates. Read only.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { ForgeClientContext } from '../../forge/forge-client.js';
import { mergeRequestView } from '../../workflow/merge-request-view.js';
import { idText } from '../../domain/input-policy.js';
import { ErrorResponseSchema } from '../error-handler.js';
import { MergeRequestViewSchema } from '../../domain/merge-request-schema.js';

const IdParams = z.object({ id: idText('merge request id') });

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

export interface MergeRequestsOptions {
  db: Kysely<Database>;
  /** The server's data dir and environment: the diff is read from its own working copy, fetched from the forge. */
  forge?: ForgeClientContext | undefined;
}

export const mergeRequestsPlugin: FastifyPluginAsyncZod<MergeRequestsOptions> = async (app, { db, forge }) => {
  app.get(
    '/merge-requests/:id',
    {
      schema: {
        summary: 'A merge request with its diff, notes and gate results',
        tags: ['merge requests'],
        params: IdParams,
        response: { 200: MergeRequestViewSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => mergeRequestView(db, request.params.id, forge),
  );
};
