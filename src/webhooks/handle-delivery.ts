/**
 * @module What a verified webhook delivery does, idempotent in the database: each delivery is recorded once
 * (unique forge + delivery id: a redelivery is a `replay` and changes nothing), and each effect has an action key
 * (unique: "story for issue 12", "fix for pipeline 7"), so two deliveries of one fact, in any order, act once.
 * The actions: an issue labelled for the swarm starts a story; a comment addressed to the swarm on a swarm merge
 * request starts a fix or a review (or approves the merge); a failed pipeline/check on a swarm branch starts
 * `implement_fix` with the failing job's log; an approval in the forge by an allowed user decides the pending merge
 * approval, and the spec label (or `@autodev approve spec`) the spec approval, recorded with the user's name.
 * Reads and the log fetch happen first; the delivery row and the action commit in one transaction.
 */
import type { Kysely } from 'kysely';
import { recordEvent } from '../events/record-event.js';
import type { Settings } from '../config/settings-schema.js';
import type { RepositoryRow } from '../forge/repositories.js';
import type { TaskQueue } from '../queue/task-queue.js';
import { inTransaction } from '../store/in-transaction.js';
import type { Database, WebhookOutcome } from '../store/schema.js';
import { startStoryWorkflow, type WorkflowDeps } from '../workflow/advance-workflow.js';
import { decideApproval } from '../workflow/approvals.js';
import { MAX_BODY_CHARS, MAX_TITLE_CHARS } from '../workflow/stories.js';
import type { Comment, ForgeEvent, ProjectRef } from './forge-events.js';
import { resolveRepositoryByLocation, type RepositoryResolver } from './resolve-repository.js';
import type { WebhookForge } from './webhook-secrets.js';

/** Fetches the log of a failed job (the forge client connects here); undefined when it cannot. */
export type FailedJobLogFetcher = (request: {
  forge: WebhookForge;
  repository: RepositoryRow;
  project: ProjectRef;
  pipelineId: number;
  jobId: number;
}) => Promise<string | undefined>;

export interface WebhookDeps {
  queue: TaskQueue;
  workflow: WorkflowDeps;
  settings: Settings['webhooks'];
  resolveRepository?: RepositoryResolver;
  fetchFailedJobLog?: FailedJobLogFetcher;
}

export interface Delivery {
  forge: WebhookForge;
  deliveryId: string;
  event: string;
  parsed: ForgeEvent;
}

export interface DeliveryResult {
  outcome: WebhookOutcome | 'replay';
  detail: string;
  workflow_id: number | null;
  task_id: number | null;
}

/** The tail of a failed job's log a fix task carries. */
export const MAX_JOB_LOG_CHARS = 20_000;

/** The forge waits about 10 s for an answer; a log not fetched by then is left out (the task says so). */
export const JOB_LOG_TIMEOUT_MS = 5_000;

interface Effect {
  detail: string;
  workflowId?: number | null;
  taskId?: number | null;
}

/** What a delivery will do: nothing (`ignored`), or an action under a key, run in the recording transaction. */
type Plan =
  { ignored: string } | { actionKey: string; run: (tx: Kysely<Database>) => Promise<Effect | { ignored: string }> };

export async function handleDelivery(deps: WebhookDeps, delivery: Delivery): Promise<DeliveryResult> {
  const db = deps.queue.handle.db;
  const earlier = await findDelivery(db, delivery);
  if (earlier) return replayOf(earlier);
  const plan = await planDelivery(deps, delivery);
  return inTransaction(db, async (tx) => {
    const now = deps.queue.clock();
    const actionKey = 'actionKey' in plan ? plan.actionKey : null;
    const inserted = await tx
      .insertInto('webhook_deliveries')
      .values({
        forge: delivery.forge,
        delivery_id: delivery.deliveryId,
        event: delivery.event,
        action_key: actionKey,
        outcome: 'ignored' in plan ? 'ignored' : 'acted',
        detail: 'ignored' in plan ? plan.ignored : '',
        workflow_id: null,
        task_id: null,
        received_at: now,
      })
      .onConflict((conflict) => conflict.doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) {
      const concurrent = await findDelivery(tx, delivery);
      if (concurrent) return replayOf(concurrent);
      // Another delivery of the same fact acted already: record this one as a duplicate.
      const first = await tx
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('action_key', '=', actionKey!)
        .executeTakeFirstOrThrow();
      const detail = `already done by delivery ${first.delivery_id}: ${first.detail}`.slice(0, 1000);
      await tx
        .insertInto('webhook_deliveries')
        .values({
          forge: delivery.forge,
          delivery_id: delivery.deliveryId,
          event: delivery.event,
          action_key: null,
          outcome: 'duplicate',
          detail,
          workflow_id: first.workflow_id,
          task_id: first.task_id,
          received_at: now,
        })
        .execute();
      const duplicate: DeliveryResult = {
        outcome: 'duplicate',
        detail,
        workflow_id: first.workflow_id,
        task_id: first.task_id,
      };
      await recordDelivery(tx, delivery, duplicate, now);
      return duplicate;
    }
    if ('ignored' in plan) {
      const ignored: DeliveryResult = { outcome: 'ignored', detail: plan.ignored, workflow_id: null, task_id: null };
      await recordDelivery(tx, delivery, ignored, now);
      return ignored;
    }
    const effect = await plan.run(tx);
    const outcome: WebhookOutcome = 'ignored' in effect ? 'ignored' : 'acted';
    const result: DeliveryResult =
      'ignored' in effect
        ? { outcome, detail: effect.ignored, workflow_id: null, task_id: null }
        : {
            outcome,
            detail: effect.detail,
            workflow_id: effect.workflowId ?? null,
            task_id: effect.taskId ?? null,
          };
    await tx
      .updateTable('webhook_deliveries')
      .set({
        outcome,
        detail: result.detail,
        workflow_id: result.workflow_id,
        task_id: result.task_id,
        // An action that turned out to have nothing to do gives its key up (a later delivery may act).
        ...(outcome === 'ignored' ? { action_key: null } : {}),
      })
      .where('id', '=', inserted.id)
      .execute();
    await recordDelivery(tx, delivery, result, now);
    return result;
  });
}

/** The `webhook.received` event of a recorded delivery (a replay records nothing). */
function recordDelivery(tx: Kysely<Database>, delivery: Delivery, result: DeliveryResult, now: number) {
  return recordEvent(tx, {
    kind: 'webhook.received',
    subjectType: 'webhook_delivery',
    subjectId: `${delivery.forge}:${delivery.deliveryId}`,
    actor: `webhook:${delivery.forge}`,
    data: { event: delivery.event, ...result },
    now,
  });
}

/** The fetcher's answer, or undefined when it fails or takes longer than JOB_LOG_TIMEOUT_MS. */
async function fetchLogWithin(fetch: () => Promise<string | undefined>): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), JOB_LOG_TIMEOUT_MS);
  });
  try {
    return await Promise.race([fetch().catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function findDelivery(db: Kysely<Database>, delivery: Delivery) {
  return db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('forge', '=', delivery.forge)
    .where('delivery_id', '=', delivery.deliveryId)
    .executeTakeFirst();
}

function replayOf(row: { outcome: string; detail: string; workflow_id: number | null; task_id: number | null }) {
  return {
    outcome: 'replay' as const,
    detail: `delivered before (${row.outcome}: ${row.detail})`.slice(0, 1000),
    workflow_id: row.workflow_id,
    task_id: row.task_id,
  };
}

async function planDelivery(deps: WebhookDeps, delivery: Delivery): Promise<Plan> {
  const event = delivery.parsed;
  if (event.kind === 'ignored') return { ignored: event.reason };
  const db = deps.queue.handle.db;
  const repository = await (deps.resolveRepository ?? resolveRepositoryByLocation)(db, delivery.forge, event.project);
  if (!repository) return { ignored: `${event.project.path} is not a registered ${delivery.forge} repository` };
  const base = `${delivery.forge}:${event.project.path}`;
  const actor = (user: string) => `${delivery.forge}:${user}`;
  const settings = deps.settings;
  const mayApprove = (user: string) => settings.approvers.includes(user);
  const storyKey = (issue: number) => `${base}:issue:${issue}:story`;
  const storyOf = async (issue: number) =>
    (
      await db
        .selectFrom('webhook_deliveries')
        .select('workflow_id')
        .where('action_key', '=', storyKey(issue))
        .executeTakeFirst()
    )?.workflow_id ?? undefined;

  switch (event.kind) {
    case 'issue_labels': {
      const { issue } = event;
      const story = await storyOf(issue.number);
      // The spec label approves only when this event's actor added it (not an edit of an issue someone else labelled).
      if (story !== undefined && event.labelsAdded.includes(settings.spec_approval_label)) {
        if (!mayApprove(event.actor)) return { ignored: `${event.actor} is not in webhooks.approvers` };
        return approvalPlan(deps, 'spec', story, actor(event.actor), base, `issue ${issue.number} labelled`);
      }
      if (!issue.labels.includes(settings.swarm_label)) {
        return { ignored: `issue ${issue.number} is not labelled ${settings.swarm_label}` };
      }
      return {
        actionKey: storyKey(issue.number),
        run: async (tx) => {
          const body = `${issue.body.trim()}\n\n(From ${delivery.forge} issue ${issue.url})`.trim();
          const workflow = await startStoryWorkflow(tx, deps.workflow, {
            title: issue.title.trim().slice(0, MAX_TITLE_CHARS) || `Issue ${issue.number}`,
            body: body.slice(0, MAX_BODY_CHARS),
            repoId: repository.id,
            createdBy: actor(event.actor),
          });
          return { detail: `started story ${workflow.id} for issue ${issue.number}`, workflowId: workflow.id };
        },
      };
    }
    case 'issue_comment': {
      const command = addressed(settings.mention, event.comment.body);
      if (command === undefined) return { ignored: 'the comment is not addressed to the swarm' };
      if (!/^approve\s+spec\b/i.test(command))
        return { ignored: `"${command.slice(0, 40)}" is not a command for an issue` };
      const story = await storyOf(event.issue.number);
      if (story === undefined) return { ignored: `issue ${event.issue.number} has no story` };
      if (!mayApprove(event.comment.author)) return { ignored: `${event.comment.author} is not in webhooks.approvers` };
      return approvalPlan(deps, 'spec', story, actor(event.comment.author), base, `comment ${event.comment.id}`);
    }
    case 'merge_request_comment': {
      const command = addressed(settings.mention, event.comment.body);
      if (command === undefined) return { ignored: 'the comment is not addressed to the swarm' };
      const mergeRequest = await swarmMergeRequest(db, repository.id, event.mergeRequest.number);
      if (!mergeRequest) return { ignored: `merge request ${event.mergeRequest.number} is not the swarm's` };
      if (/^approve\b/i.test(command)) {
        if (!mayApprove(event.comment.author))
          return { ignored: `${event.comment.author} is not in webhooks.approvers` };
        if (mergeRequest.workflow_id === null) return { ignored: 'the merge request belongs to no story' };
        return approvalPlan(deps, 'merge', mergeRequest.workflow_id, actor(event.comment.author), base, `comment`);
      }
      if (settings.commenters.length > 0 && !settings.commenters.includes(event.comment.author)) {
        return { ignored: `${event.comment.author} is not in webhooks.commenters` };
      }
      const review = /^review\b/i.test(command);
      return taskPlan(deps, `${base}:comment:${event.comment.id}`, {
        type: review ? 'review_mr' : 'implement_fix',
        repoId: repository.id,
        createdBy: actor(event.comment.author),
        payload: commentPayload(mergeRequest, event.comment, command),
      });
    }
    case 'pipeline_failed': {
      const mergeRequest = await db
        .selectFrom('merge_requests')
        .select(['id', 'title', 'source_branch'])
        .where('repo_id', '=', repository.id)
        .where('source_branch', '=', event.branch)
        .orderBy('id', 'desc')
        .executeTakeFirst();
      if (!mergeRequest && !event.branch.startsWith('autodev/')) {
        return { ignored: `branch ${event.branch} is not a swarm branch` };
      }
      const job = event.failedJobs[0];
      const log =
        job && deps.fetchFailedJobLog
          ? await fetchLogWithin(() =>
              deps.fetchFailedJobLog!({
                forge: delivery.forge,
                repository,
                project: event.project,
                pipelineId: event.pipelineId,
                jobId: job.id,
              }),
            )
          : undefined;
      return taskPlan(deps, `${base}:pipeline:${event.pipelineId}:fix`, {
        type: 'implement_fix',
        repoId: repository.id,
        createdBy: `${delivery.forge}:pipeline`,
        payload: {
          title: mergeRequest?.title ?? `Fix the failed pipeline on ${event.branch}`,
          branch: event.branch,
          ...(mergeRequest ? { merge_request_id: mergeRequest.id } : {}),
          findings: [
            {
              source: 'pipeline',
              pipeline_id: event.pipelineId,
              failed_jobs: event.failedJobs,
              log: log === undefined ? null : log.slice(-MAX_JOB_LOG_CHARS),
              ...(log === undefined ? { log_unavailable: 'the failing job log could not be fetched' } : {}),
            },
          ],
        },
      });
    }
    case 'merge_request_approved': {
      if (!mayApprove(event.actor)) return { ignored: `${event.actor} is not in webhooks.approvers` };
      const mergeRequest = await swarmMergeRequest(db, repository.id, event.mergeRequest.number);
      if (!mergeRequest || mergeRequest.workflow_id === null) {
        return { ignored: `merge request ${event.mergeRequest.number} is not a story's` };
      }
      return approvalPlan(deps, 'merge', mergeRequest.workflow_id, actor(event.actor), base, 'approval');
    }
  }
}

/** The command after the mention (`@autodev fix the null check` -> `fix the null check`), or undefined. */
function addressed(mention: string, body: string): string | undefined {
  const text = body.trim();
  if (!text.toLowerCase().startsWith(mention.toLowerCase())) return undefined;
  const rest = text.slice(mention.length);
  if (rest !== '' && !/^[\s,:]/.test(rest)) return undefined; // "@autodevx" is someone else
  return rest.replace(/^[\s,:]+/, '').trim();
}

interface SwarmMergeRequest {
  id: number;
  title: string;
  source_branch: string;
  workflow_id: number | null;
}

/** The open merge request the swarm opened under this forge number (its `external_id`). */
function swarmMergeRequest(db: Kysely<Database>, repoId: number, number: number) {
  return db
    .selectFrom('merge_requests')
    .select(['id', 'title', 'source_branch', 'workflow_id'])
    .where('repo_id', '=', repoId)
    .where('external_id', '=', String(number))
    .where('status', '=', 'open')
    .orderBy('id', 'desc')
    .executeTakeFirst() as Promise<SwarmMergeRequest | undefined>;
}

function commentPayload(mergeRequest: SwarmMergeRequest, comment: Comment, command: string) {
  return {
    title: mergeRequest.title,
    branch: mergeRequest.source_branch,
    merge_request_id: mergeRequest.id,
    findings: [
      { source: 'forge comment', author: comment.author, comment_id: comment.id, body: command || comment.body },
    ],
  };
}

function taskPlan(
  deps: WebhookDeps,
  actionKey: string,
  task: { type: 'implement_fix' | 'review_mr'; repoId: number; createdBy: string; payload: Record<string, unknown> },
): Plan {
  return {
    actionKey,
    run: async (tx) => {
      const { task: row } = await deps.queue.enqueueOnce({ ...task, dedupeKey: actionKey }, tx);
      return { detail: `enqueued ${row.type} task ${row.id}`, taskId: row.id };
    },
  };
}

/** Decides the pending `kind` approval of a workflow as `actor`; nothing pending (yet, or any more) is ignored. */
async function approvalPlan(
  deps: WebhookDeps,
  kind: 'spec' | 'merge',
  workflowId: number,
  actor: string,
  base: string,
  how: string,
): Promise<Plan> {
  const pending = await deps.queue.handle.db
    .selectFrom('approvals')
    .select('id')
    .where('workflow_id', '=', workflowId)
    .where('kind', '=', kind)
    .where('status', '=', 'pending')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  if (!pending) return { ignored: `story ${workflowId} has no pending ${kind} approval` };
  return {
    actionKey: `${base}:approval:${pending.id}`,
    run: async (tx) => {
      const still = await tx.selectFrom('approvals').select('status').where('id', '=', pending.id).executeTakeFirst();
      if (still?.status !== 'pending') return { ignored: `approval ${pending.id} was decided meanwhile` };
      await decideApproval(tx, deps.workflow, {
        id: pending.id,
        decision: 'approved',
        reason: `approved in the forge (${how})`,
        actor,
      });
      return { detail: `approval ${pending.id} (${kind}) approved by ${actor}`, workflowId };
    },
  };
}
