/**
 * @module A story's merge request in a remote forge (GitLab, GitHub) before its approval: the task branch pushed from
 * the local clone and the request opened or refreshed through the forge client, outside any transaction; then the
 * request recorded (`merge-request-records.ts`) with the forge's id and URL in a transaction of its own, the
 * workflow's row locked so gates finishing at once record one row; the story's requests of earlier rounds (other
 * branches) are closed in Auto-Dev's rows. A crash between the forge call and the record loses nothing: the next call
 * pushes the same head and the forge refreshes the same request (one per branch).
 */
import type { Kysely } from 'kysely';
import { inTransaction } from '../store/in-transaction.js';
import type { Database } from '../store/schema.js';
import type { ForgeClient, ForgeMergeRequest } from './forge-client.js';
import {
  closeSupersededMergeRequests,
  recordMergeRequestOpened,
  type MergeRequestRow,
} from './merge-request-records.js';

export interface MergeRequestInForge {
  workflowId: number;
  /** The task branch, in the local clone (`client.repository.localPath`). */
  branch: string;
  title: string;
  description: string;
  actor: string;
}

export interface OpenedInForge {
  row: MergeRequestRow;
  opened: ForgeMergeRequest;
}

export interface OpenInForgeDeps {
  db: Kysely<Database>;
  /** SQLite's single writer serializes transactions; PostgreSQL locks the workflow's row instead. */
  serializesWriters: boolean;
  clock: () => number;
}

export async function openMergeRequestInForge(
  deps: OpenInForgeDeps,
  client: ForgeClient,
  request: MergeRequestInForge,
): Promise<OpenedInForge> {
  await client.pushBranch(request.branch);
  const opened = await client.openMergeRequest({
    sourceBranch: request.branch,
    title: request.title,
    description: request.description,
  });
  const row = await inTransaction(deps.db, async (tx) => {
    const lock = tx.selectFrom('workflows').select('id').where('id', '=', request.workflowId);
    await (deps.serializesWriters ? lock : lock.forUpdate()).executeTakeFirst();
    const recorded = await recordMergeRequestOpened(tx, {
      repoId: client.repository.id,
      workflowId: request.workflowId,
      opened,
      description: request.description,
      externalId: opened.externalId,
      actor: request.actor,
      now: deps.clock(),
    });
    // A fix round works on a new branch: the earlier round's request is outdated (an approval of it counts for nothing).
    await closeSupersededMergeRequests(tx, recorded, { actor: request.actor, now: deps.clock() });
    return recorded;
  });
  return { row, opened };
}
