/**
 * @module The product pipeline's project routes under `/api/projects`: list (by status), one project's detail, and
 * the human decisions on its proposal: approve (no body), reject `{"reason"}` (required), defer `{"notes"}` (+
 * optional `until`, ISO 8601), reopen a deferred one, and retry a failed publishing. Approvers and admins decide;
 * viewers may only read. Shapes: `domain/project-schema.ts`. A decision records who (`api:<token name>`) and why.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { idText, storableText, TEXT_LIMITS } from '../../domain/input-policy.js';
import { PROJECT_STATUSES, ProjectDetailSchema, ProjectListSchema } from '../../domain/project-schema.js';
import type { TaskQueue } from '../../queue/task-queue.js';
import {
  approveProject,
  deferProject,
  parseUntil,
  rejectProject,
  reopenProject,
  retryProject,
} from '../../workflow/project-decisions.js';
import { listProjects, projectDetail } from '../../workflow/projects.js';
import { workflowDeps } from '../../workflow/workflow-deps.js';
import { ErrorResponseSchema } from '../error-handler.js';
import { requireRole } from './auth.js';

const IdParams = z.object({ id: idText('project id') });
const ListQuery = z.strictObject({ status: z.enum(PROJECT_STATUSES).optional() });
// Nullish: Fastify hands a missing body to the validator as null.
const NoBody = z.strictObject({}).nullish();
const RejectBody = z.strictObject({
  reason: storableText({ max: TEXT_LIMITS.reason }).describe('Why; required and kept. The project is never built.'),
});
const DeferBody = z.strictObject({
  notes: storableText({ max: TEXT_LIMITS.reason }).describe('Why and what to look at later; required and kept.'),
  until: z
    .string()
    .optional()
    .describe('ISO 8601 date or time it comes back (status proposed, approval pending again); omitted: by hand only'),
});

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

export interface ProjectsOptions {
  queue: TaskQueue;
  maxFixRounds: number;
}

export const projectsPlugin: FastifyPluginAsyncZod<ProjectsOptions> = async (app, { queue, maxFixRounds }) => {
  const actor = (name: string | undefined) => `api:${name ?? 'unknown'}`;
  const workflow = workflowDeps(queue, maxFixRounds);
  const db = queue.handle.db;

  app.get(
    '/projects',
    {
      schema: {
        summary: 'List projects (product proposals and what became of them), newest first',
        tags: ['projects'],
        querystring: ListQuery,
        response: { 200: ProjectListSchema, ...errors(400, 401) },
      },
    },
    async (request) => ({ projects: await listProjects(db, { status: request.query.status }) }),
  );

  app.get(
    '/projects/:id',
    {
      schema: {
        summary: "A project's proposal, spec, ratings, decisions, repository, story and publications",
        tags: ['projects'],
        params: IdParams,
        response: { 200: ProjectDetailSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => projectDetail(db, request.params.id),
  );

  const decide = (
    verb: string,
    summary: string,
    body: z.ZodType,
    act: (id: number, actor: string, body: unknown) => Promise<unknown>,
  ) =>
    app.post(
      `/projects/:id/${verb}`,
      {
        onRequest: requireRole('approver'),
        schema: {
          summary,
          tags: ['projects'],
          params: IdParams,
          body,
          response: { 200: ProjectDetailSchema, ...errors(400, 401, 403, 404, 409, 415) },
        },
      },
      async (request) => {
        const { id } = request.params as { id: number };
        await act(id, actor(request.apiToken?.name), request.body);
        return projectDetail(db, id);
      },
    );

  decide('approve', 'Approve a proposed project: its repository is created and its story starts', NoBody, (id, by) =>
    approveProject(db, workflow, { id, actor: by }),
  );
  decide('reject', 'Reject a proposed project with a reason (kept); it is never built', RejectBody, (id, by, body) =>
    rejectProject(db, workflow, { id, actor: by, reason: (body as z.infer<typeof RejectBody>).reason }),
  );
  decide('defer', 'Defer a proposed project with notes, optionally until a date', DeferBody, (id, by, body) => {
    const { notes, until } = body as z.infer<typeof DeferBody>;
    return deferProject(db, workflow, { id, actor: by, notes, until: parseUntil(until) });
  });
  decide('reopen', 'Bring a deferred project back now: proposed, its approval pending again', NoBody, (id, by) =>
    reopenProject(db, workflow, { id, actor: by }),
  );
  decide('publish-retry', 'Run a failed publishing again (what is published is not sent twice)', NoBody, (id, by) =>
    retryProject(workflow, id, by),
  );
};
