/**
 * @module The one module that owns Auto-Dev's merge request rows (`merge_requests`, `merge_request_notes`) and their
 * events: a request recorded as opened or refreshed (with the heads the gates passed on), notes, and the outcome of a
 * merge carried out by the forge client. It calls no forge: the caller does that outside any transaction and hands
 * the result here, to write in its transaction.
 */
import type { Kysely, Selectable } from 'kysely';
import { AutodevError } from '../errors.js';
import { recordEvent } from '../events/record-event.js';
import type { Database, MergeRequestNotesTable, MergeRequestsTable } from '../store/schema.js';
import type { ForgeMergeRequest, MergeResult } from './forge-client.js';

export type MergeRequestRow = Selectable<MergeRequestsTable>;
export type MergeRequestNoteRow = Selectable<MergeRequestNotesTable>;

export interface RecordOpenedMergeRequest {
  repoId: number;
  workflowId: number | null;
  /** The request as the forge (or the local clone) reports it; its heads are what a later merge checks. */
  opened: ForgeMergeRequest;
  description: string;
  /** The forge's id for it; null on the local forge, whose requests exist only as these rows. */
  externalId: string | null;
  actor: string;
  now: number;
}

/**
 * Records a merge request opened from `opened.sourceBranch`, or refreshes the open one for that branch: its head and
 * the target's commit (and the forge's id, once known) are recorded, with `merge_request.opened` or `.updated`.
 */
export async function recordMergeRequestOpened(
  db: Kysely<Database>,
  input: RecordOpenedMergeRequest,
): Promise<MergeRequestRow> {
  const { opened } = input;
  const open = await db
    .selectFrom('merge_requests')
    .selectAll()
    .where('repo_id', '=', input.repoId)
    .where('source_branch', '=', opened.sourceBranch)
    .where('status', '=', 'open')
    .executeTakeFirst();
  if (open) {
    const updated = await db
      .updateTable('merge_requests')
      .set({
        head_sha: opened.headSha,
        target_sha: opened.targetSha,
        ...(input.externalId !== null ? { external_id: input.externalId, url: opened.url } : {}),
        updated_at: input.now,
      })
      .where('id', '=', open.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEvent(db, {
      kind: 'merge_request.updated',
      subjectType: 'merge_request',
      subjectId: open.id,
      actor: input.actor,
      data: {
        head_sha: opened.headSha,
        target_sha: opened.targetSha,
        ...(input.externalId !== null ? { external_id: input.externalId, url: opened.url } : {}),
      },
      now: input.now,
    });
    return updated;
  }
  const row = await db
    .insertInto('merge_requests')
    .values({
      repo_id: input.repoId,
      workflow_id: input.workflowId,
      source_branch: opened.sourceBranch,
      target_branch: opened.targetBranch,
      title: opened.title,
      description: input.description,
      status: 'open',
      head_sha: opened.headSha,
      target_sha: opened.targetSha,
      external_id: input.externalId,
      url: input.externalId !== null ? opened.url : null,
      created_at: input.now,
      updated_at: input.now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordEvent(db, {
    kind: 'merge_request.opened',
    subjectType: 'merge_request',
    subjectId: row.id,
    actor: input.actor,
    data: {
      source_branch: opened.sourceBranch,
      target_branch: opened.targetBranch,
      head_sha: opened.headSha,
      ...(input.externalId !== null ? { external_id: input.externalId, url: opened.url } : {}),
    },
    now: input.now,
  });
  return row;
}

/** Records the forge's id of a request opened in a remote forge (`merge_request.updated` with its id and URL). */
export async function recordForgeId(
  db: Kysely<Database>,
  mr: Pick<MergeRequestRow, 'id'>,
  forge: { externalId: string; url: string | null; actor: string; now: number },
): Promise<void> {
  await db
    .updateTable('merge_requests')
    .set({ external_id: forge.externalId, url: forge.url, updated_at: forge.now })
    .where('id', '=', mr.id)
    .execute();
  await recordEvent(db, {
    kind: 'merge_request.updated',
    subjectType: 'merge_request',
    subjectId: mr.id,
    actor: forge.actor,
    data: { external_id: forge.externalId, url: forge.url },
    now: forge.now,
  });
}

export interface NewNote {
  mergeRequestId: number;
  author: string;
  kind: 'note' | 'review';
  verdict?: 'approve' | 'request_changes' | 'comment' | null;
  body: string;
  now: number;
}

export async function addMergeRequestNote(db: Kysely<Database>, note: NewNote): Promise<MergeRequestNoteRow> {
  const body = note.body.trim();
  if (body === '') throw new AutodevError('VALIDATION_FAILED', 'a merge request note needs a body');
  const row = await db
    .insertInto('merge_request_notes')
    .values({
      merge_request_id: note.mergeRequestId,
      author: note.author,
      kind: note.kind,
      verdict: note.verdict ?? null,
      body,
      created_at: note.now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordEvent(db, {
    kind: 'merge_request.noted',
    subjectType: 'merge_request',
    subjectId: note.mergeRequestId,
    actor: note.author,
    data: { kind: note.kind, verdict: note.verdict ?? null },
    now: note.now,
  });
  return row;
}

/**
 * Closes the workflow's other open merge requests (earlier rounds' branches, superseded by `current`), each with
 * `merge_request.closed` naming its successor, so an approval given on an outdated request in the forge finds no
 * open request of the story. Returns the closed rows.
 */
export async function closeSupersededMergeRequests(
  db: Kysely<Database>,
  current: Pick<MergeRequestRow, 'id' | 'workflow_id'>,
  meta: { actor: string; now: number },
): Promise<MergeRequestRow[]> {
  if (current.workflow_id === null) return [];
  const closed = await db
    .updateTable('merge_requests')
    .set({ status: 'closed', updated_at: meta.now })
    .where('workflow_id', '=', current.workflow_id)
    .where('status', '=', 'open')
    .where('id', '!=', current.id)
    .returningAll()
    .execute();
  for (const row of closed) {
    await recordEvent(db, {
      kind: 'merge_request.closed',
      subjectType: 'merge_request',
      subjectId: row.id,
      actor: meta.actor,
      data: { superseded_by: current.id, source_branch: row.source_branch },
      now: meta.now,
    });
  }
  return closed;
}

/** The newest open merge request of a workflow, or undefined. */
export function openMergeRequestOf(db: Kysely<Database>, workflowId: number): Promise<MergeRequestRow | undefined> {
  return db
    .selectFrom('merge_requests')
    .selectAll()
    .where('workflow_id', '=', workflowId)
    .where('status', '=', 'open')
    .orderBy('id', 'desc')
    .executeTakeFirst();
}

/**
 * The title of the commit that merges `mr`: names the request, so a retry after a crash recognizes its own merge on
 * the target (`MergeInput.title`).
 */
export function mergeCommitTitle(mr: Pick<MergeRequestRow, 'id' | 'title'>): string {
  return `${mr.title} (merge request ${mr.id})`;
}

export interface MergeMeta {
  actor: string;
  now: number;
  /** Why the merge was forced to squash (said in the event and in a note on the request). */
  squash?: string;
}

/**
 * Records what the forge client's merge did: `merged` marks the row merged (`merge_request.merged`, noting a
 * recovered merge and a forced squash); `refused` leaves it open (`merge_request.merge_refused`). A row no longer open
 * (recorded by an earlier attempt) is left as it is and its recorded outcome returned.
 */
export async function recordMergeOutcome(
  db: Kysely<Database>,
  mr: MergeRequestRow,
  result: MergeResult,
  meta: MergeMeta,
): Promise<MergeResult> {
  if (result.status === 'refused') {
    await recordEvent(db, {
      kind: 'merge_request.merge_refused',
      subjectType: 'merge_request',
      subjectId: mr.id,
      actor: meta.actor,
      data: { reason: result.reason, rerun_gates: result.rerunGates },
      now: meta.now,
    });
    return result;
  }
  const updated = await db
    .updateTable('merge_requests')
    .set({ status: 'merged', merge_sha: result.sha, updated_at: meta.now })
    .where('id', '=', mr.id)
    .where('status', '=', 'open')
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) return result;
  await recordEvent(db, {
    kind: 'merge_request.merged',
    subjectType: 'merge_request',
    subjectId: mr.id,
    actor: meta.actor,
    data: {
      merge_sha: result.sha,
      target_branch: mr.target_branch,
      source_sha: mr.head_sha,
      ...(result.recovered
        ? { recovered: 'the merge commit was already on the target branch (an earlier attempt)' }
        : {}),
      ...(meta.squash ? { squashed: meta.squash } : {}),
    },
    now: meta.now,
  });
  if (meta.squash) {
    await addMergeRequestNote(db, {
      mergeRequestId: mr.id,
      author: meta.actor,
      kind: 'note',
      body: `Squash-merged as one commit (${result.sha.slice(0, 12)}): ${meta.squash}, so the branch's commits were left out of ${mr.target_branch}'s history.`,
      now: meta.now,
    });
  }
  return result;
}
