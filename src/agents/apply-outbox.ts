/**
 * @module Applies what an agent asked for during its session (the MCP outbox: new tasks, discussion posts and
 * replies, proposals, votes) inside the transaction that completes its task. The outbox is untrusted (the agent can write the file directly), so every
 * entry is validated again here, and agents may only start the kinds of work that pass no human gate.
 */
import type { Kysely } from 'kysely';
import type { TaskType } from '../domain/roles.js';
import { isAutodevError } from '../errors.js';
import type { OutboxEntry } from '../mcp/session-files.js';
import { validateNewTask } from '../queue/enqueue-task.js';
import type { Task } from '../queue/task-record.js';
import type { TaskQueue } from '../queue/task-queue.js';
import type { Database } from '../store/schema.js';
import { postDiscussion } from '../workflow/discussions.js';
import { createProposal, voteOnProposal } from '../workflow/proposals.js';

/** Work an agent may start on its own. Building, reviewing, deploying and publishing start only from the workflow. */
export const AGENT_CREATABLE_TASK_TYPES: ReadonlySet<TaskType> = new Set<TaskType>([
  'analyze_repo',
  'create_epic',
  'create_user_story',
  'prioritize_backlog',
  'build_product',
  'evaluate_feasibility',
  'static_analysis',
]);

export interface OutboxApplied {
  createdTaskIds: number[];
  discussionIds: number[];
  proposalIds: number[];
  votedProposalIds: number[];
  /** Entries refused, with the reason (kept in the task's result for humans to see). */
  rejected: { seq: number; reason: string }[];
}

export async function applyOutbox(
  tx: Kysely<Database>,
  queue: TaskQueue,
  entries: readonly OutboxEntry[],
  source: { task: Task; author: string; now: number },
): Promise<OutboxApplied> {
  const applied: OutboxApplied = {
    createdTaskIds: [],
    discussionIds: [],
    proposalIds: [],
    votedProposalIds: [],
    rejected: [],
  };
  for (const entry of entries) {
    if (entry.kind === 'create_task') {
      let valid;
      try {
        valid = validateNewTask(entry);
      } catch (error) {
        applied.rejected.push({ seq: entry.seq, reason: (error as Error).message });
        continue;
      }
      if (!AGENT_CREATABLE_TASK_TYPES.has(valid.type)) {
        applied.rejected.push({
          seq: entry.seq,
          reason: `agents may not start ${valid.type} tasks; the workflow starts them after the human gates`,
        });
        continue;
      }
      const task = await queue.enqueue(
        {
          type: valid.type,
          priority: valid.priority,
          payload: { ...valid.payload, requested_because: entry.reason },
          parentId: source.task.id,
          workflowId: source.task.workflowId,
          repoId: source.task.repoId,
          createdBy: source.author,
        },
        tx,
      );
      applied.createdTaskIds.push(task.id);
    } else {
      // Validated again here (the agent can write the outbox itself); a refusal is reported, never thrown: these
      // writers check before they write, so the completing transaction stays usable.
      try {
        if (entry.kind === 'post_discussion') {
          const row = await postDiscussion(tx, {
            topic: entry.topic,
            body: entry.body,
            replyTo: entry.reply_to,
            author: source.author,
            authorKind: 'agent',
            taskId: source.task.id,
            now: source.now,
          });
          applied.discussionIds.push(row.id);
        } else if (entry.kind === 'propose') {
          const row = await createProposal(tx, {
            title: entry.title,
            body: entry.body,
            kind: entry.proposal_kind,
            repoId: source.task.repoId,
            author: source.author,
            sourceTaskId: source.task.id,
            now: source.now,
          });
          applied.proposalIds.push(row.id);
        } else {
          await voteOnProposal(tx, {
            proposalId: entry.proposal_id,
            voter: source.author,
            vote: entry.vote,
            reason: entry.reason,
            now: source.now,
          });
          applied.votedProposalIds.push(entry.proposal_id);
        }
      } catch (error) {
        if (!isAutodevError(error)) throw error;
        applied.rejected.push({ seq: entry.seq, reason: error.message });
      }
    }
  }
  return applied;
}
