/**
 * @module What Auto-Dev needs from a forge (local git today; GitLab and GitHub adapters implement the same): merge
 * requests as rows with their diff and notes, and a merge that refuses rather than guesses.
 */
import type { Kysely, Selectable } from 'kysely';
import type { Database, MergeRequestNotesTable, MergeRequestsTable } from '../store/schema.js';
import type { RepositoryRow } from './repositories.js';

export type MergeRequestRow = Selectable<MergeRequestsTable>;
export type MergeRequestNoteRow = Selectable<MergeRequestNotesTable>;

export interface OpenMergeRequest {
  repo: RepositoryRow;
  workflowId: number | null;
  sourceBranch: string;
  title: string;
  description: string;
  actor: string;
  now: number;
}

export interface NewNote {
  mergeRequestId: number;
  author: string;
  kind: 'note' | 'review';
  verdict?: 'approve' | 'request_changes' | 'comment' | null;
  body: string;
  now: number;
}

export type MergeOutcome =
  | { status: 'merged'; sha: string }
  /** `rerunGates`: the target branch moved since the gates ran; a conflict or a changed source needs the builder. */
  | { status: 'refused'; reason: string; rerunGates: boolean };

export interface MergeMeta {
  actor: string;
  now: number;
  /** Squash whatever the repository's merge method, and why (e.g. an earlier commit of the branch held a secret). */
  squash?: string;
}

export interface Forge {
  /**
   * Opens a merge request from `sourceBranch` into the default branch, or refreshes the open one for that branch:
   * its head and the target's current commit are recorded, which the merge later checks.
   */
  openMergeRequest(db: Kysely<Database>, input: OpenMergeRequest): Promise<MergeRequestRow>;
  /** The change the merge request brings (`git diff target...source`). */
  diff(repo: RepositoryRow, mr: MergeRequestRow): Promise<string>;
  addNote(db: Kysely<Database>, note: NewNote): Promise<MergeRequestNoteRow>;
  /**
   * Merges with a merge commit onto the target branch (or one squash commit, by the repository's `merge_method` or
   * when `meta.squash` says why the branch's history must not land); refuses (nothing changed) when the target moved
   * since the request was last refreshed, the source moved, or the branches do not merge cleanly.
   */
  merge(db: Kysely<Database>, repo: RepositoryRow, mr: MergeRequestRow, meta: MergeMeta): Promise<MergeOutcome>;
}
