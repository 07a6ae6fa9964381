/**
 * @module The approval routes under `/api/approvals`: list (by status), approve, reject with a reason. Approvers and
 * admins decide; viewers may only list. A decision records who (`api:<token name>`), when and why. A merge approval
 * names its merge request (`merge_request_id`, shown by `GET /api/merge-requests/:id`).
 */
import { z } from 'zod';
import type { SameMembers } from '../../domain/same-members.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { TaskQueue } from '../../queue/task-queue.js';
import { APPROVAL_STATUSES, approvalsToJson, decideApproval, listApprovals } from '../../workflow/approvals.js';
import { workflowDeps } from '../../workflow/workflow-deps.js';
import { idText, storableText, TEXT_LIMITS } from '../../domain/input-policy.js';
import { ErrorResponseSchema } from '../error-handler.js';
import { requireRole } from './auth.js';
import { ApprovalSchema, type APPROVAL_STATES } from '../../domain/approval-schema.js';

/** The schema's statuses are the workflow's (a compile error when one list changes alone). */
const sameStatuses: SameMembers<(typeof APPROVAL_STATUSES)[number], (typeof APPROVAL_STATES)[number]> = true;
void sameStatuses;

const IdParams = z.object({ id: idText('approval id') });

const ListQuery = z.strictObject({
  status: z.enum(APPROVAL_STATUSES as ['pending', 'approved', 'rejected', 'deferred']).optional(),
});

// Nullish: Fastify hands a missing body to the validator as null.
const ApproveBody = z.strictObject({ reason: storableText({ max: TEXT_LIMITS.reason }).optional() }).nullish();
const RejectBody = z
  .strictObject({
    reason: storableText({ max: TEXT_LIMITS.reason }).optional().describe('Why; required, the agent receives it.'),
  })
  .nullish();

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

export interface ApprovalsOptions {
  queue: TaskQueue;
  maxFixRounds: number;
}

export const approvalsPlugin: FastifyPluginAsyncZod<ApprovalsOptions> = async (app, { queue, maxFixRounds }) => {
  const actor = (name: string | undefined) => `api:${name ?? 'unknown'}`;
  const workflow = workflowDeps(queue, maxFixRounds);

  app.get(
    '/approvals',
    {
      schema: {
        summary: 'List approvals, oldest first',
        tags: ['approvals'],
        querystring: ListQuery,
        response: { 200: z.object({ approvals: z.array(ApprovalSchema) }), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { status } = request.query;
      const rows = await listApprovals(queue.handle.db, status === undefined ? {} : { status });
      return { approvals: await approvalsToJson(queue.handle.db, rows) };
    },
  );

  app.post(
    '/approvals/:id/approve',
    {
      onRequest: requireRole('approver'),
      schema: {
        summary: 'Approve a pending approval; its workflow goes on',
        tags: ['approvals'],
        params: IdParams,
        body: ApproveBody,
        response: { 200: ApprovalSchema, ...errors(400, 401, 403, 404, 409, 415) },
      },
    },
    async (request) => {
      const row = await decideApproval(queue.handle.db, workflow, {
        id: request.params.id,
        decision: 'approved',
        reason: request.body?.reason,
        actor: actor(request.apiToken?.name),
      });
      return (await approvalsToJson(queue.handle.db, [row]))[0]!;
    },
  );

  app.post(
    '/approvals/:id/reject',
    {
      onRequest: requireRole('approver'),
      schema: {
        summary: 'Reject a pending approval with a reason: a spec goes back to the architect, a merge to the builder',
        tags: ['approvals'],
        params: IdParams,
        body: RejectBody,
        response: { 200: ApprovalSchema, ...errors(400, 401, 403, 404, 409, 415) },
      },
    },
    async (request) => {
      const row = await decideApproval(queue.handle.db, workflow, {
        id: request.params.id,
        decision: 'rejected',
        reason: request.body?.reason,
        actor: actor(request.apiToken?.name),
      });
      return (await approvalsToJson(queue.handle.db, [row]))[0]!;
    },
  );
};
