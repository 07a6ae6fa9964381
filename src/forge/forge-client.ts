/**
 * @module What Auto-Dev asks of a forge (local git, GitLab, GitHub), per repository and without a database: merge
 * requests (open or refresh, read, diff, notes, line comments, approvals, merge), pushing a task branch from the local
 * clone, the pipeline of a commit, and issues and epics. Rows and events are `merge-request-records.ts`'s; which
 * client a repository gets is `forge-clients.ts`'s. Failures are `AutodevError`s naming the repository.
 */
import type { ForgeKind } from '../store/schema.js';

/** The part of a repository row a client needs; built by `forgeRepository` (forge-clients.ts). */
export interface ForgeRepository {
  id: number;
  name: string;
  kind: ForgeKind;
  /**
   * The local git repository Auto-Dev's worktrees are made from: the repository itself (a local forge without a
   * remote) or its clone cache under the data directory (`<data-dir>/clones/<id>`).
   */
  localPath: string;
  /** Where task branches are pushed and merge requests live; null: the local repository is its own remote. */
  remoteUrl: string | null;
  defaultBranch: string;
  mergeMethod: 'merge' | 'squash';
  /** Forge-specific settings from the repository row (e.g. GitLab base URL and project, GitHub owner/name). */
  settings: Readonly<Record<string, unknown>>;
}

/** What the process gives a client besides its repository. */
export interface ForgeClientContext {
  /** Auto-Dev's data directory (clone caches live under it). */
  dataDir: string;
  /** Where tokens are read from (the process environment now; the secret store later). */
  env: Readonly<Record<string, string | undefined>>;
}

/** The forges' features a client has; a missing one throws `FORGE_UNSUPPORTED` (the contract suite checks both). */
export interface ForgeCapabilities {
  /** Notes and line comments are kept by the forge (false: only in Auto-Dev's merge_request_notes rows). */
  notes: boolean;
  /** Approvals are given and listed in the forge (false: only Auto-Dev's approvals table). */
  approvals: boolean;
  /** Commits have pipelines or checks in the forge. */
  pipelines: boolean;
  /** Issues and epics can be created in the forge. */
  issues: boolean;
}

export type ForgeMergeRequestState = 'open' | 'merged' | 'closed';

/** A merge request as the forge reports it. */
export interface ForgeMergeRequest {
  /** The forge's id for it (GitLab iid, GitHub pull number, the source branch for the local forge), as text. */
  externalId: string;
  url: string | null;
  sourceBranch: string;
  targetBranch: string;
  title: string;
  /** The source branch's head commit now (null when the branch is gone). */
  headSha: string | null;
  /** The target branch's commit now (null when the branch is gone). */
  targetSha: string | null;
  state: ForgeMergeRequestState;
  /** The merge (or squash) commit once merged. */
  mergeSha: string | null;
}

export interface OpenMergeRequestInput {
  sourceBranch: string;
  /** Defaults to the repository's default branch. */
  targetBranch?: string;
  title: string;
  description: string;
}

/** A note or line comment in the forge; `url` when the forge shows it on a page. */
export interface ForgeNote {
  id: string;
  url: string | null;
}

export interface LineCommentInput {
  /** Path in the repository, `/`-separated. */
  path: string;
  /** 1-based line in the new version of the file. */
  line: number;
  /** The merge request head the comment refers to (a moved head makes the forge refuse or outdate it). */
  headSha: string;
  body: string;
}

export interface MergeInput {
  /** The source head the gates passed; the merge is refused when the branch moved since. */
  expectedHeadSha: string;
  /**
   * The target commit the gates ran against; a client refuses with `rerunGates` when the target moved since (a
   * forge that merges onto a moved target by itself may pass null-safe checks only).
   */
  expectedTargetSha: string | null;
  method: 'merge' | 'squash';
  /**
   * The merge commit's title, which identifies the merge on the target (a retry after a crash recognizes its own
   * merge by it), e.g. `Add login (merge request 12)`.
   */
  title: string;
  /** Why a squash was forced (e.g. an earlier commit of the branch held a secret); said in the commit message. */
  squashReason?: string;
}

export type MergeResult =
  | {
      status: 'merged';
      sha: string;
      /** The merge had already been done by an earlier attempt (found on the target, not made now). */
      recovered: boolean;
    }
  /** `rerunGates`: the target or the source moved since the gates ran; a conflict or a gone branch needs a human. */
  | { status: 'refused'; reason: string; rerunGates: boolean };

export type PipelineStatus = 'none' | 'pending' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped';

export interface ForgeJob {
  /** The forge's id for the job (GitLab job id, GitHub check run id), for `jobLog`. */
  id: string;
  name: string;
  status: PipelineStatus;
  url: string | null;
}

/** The pipeline (GitLab) or the check runs (GitHub) of one commit; `status: 'none'` when there is none. */
export interface ForgePipeline {
  sha: string;
  /**
   * The forge's id for what failed, as its webhooks name it (GitLab: the pipeline id; GitHub: the check suite of the
   * first failed run, else of the first run); absent when there is none or the forge has no such id.
   */
  id?: string;
  status: PipelineStatus;
  url: string | null;
  jobs: ForgeJob[];
}

export interface NewIssueInput {
  title: string;
  body: string;
  labels: readonly string[];
}

export interface ForgeIssue {
  /** The forge's id for the issue (GitLab iid, GitHub number), as text. */
  externalId: string;
  url: string | null;
}

export interface ForgeEpic extends ForgeIssue {
  /** `epic`: a real epic (GitLab group epic, GitHub issue with sub-issues); `parent_issue`: an issue children link to. */
  kind: 'epic' | 'parent_issue';
}

export interface IssuePriorityInput {
  /** The priority label to set, e.g. `priority::8`. */
  label: string;
  /** Labels starting with this are the priority family: removed before `label` is added (e.g. `priority::`). */
  labelPrefix: string;
  /** The issue's weight where the forge has weights (GitLab); other forges ignore it. */
  weight: number | null;
}

/** An open issue as a poll of the forge sees it. */
export interface ForgeLabelledIssue extends ForgeIssue {
  title: string;
  body: string;
  labels: string[];
  author: string;
  /** ISO 8601, as the forge says it. */
  updatedAt: string;
}

/** One repository's forge. Every method is a network (or git) call; none touches Auto-Dev's database. */
export interface ForgeClient {
  readonly kind: ForgeKind;
  readonly repository: ForgeRepository;
  readonly capabilities: ForgeCapabilities;

  /**
   * Opens a merge request from `sourceBranch` (which must already be on the remote: `pushBranch`), or refreshes the
   * open one for that branch (title, description); returns it with the heads as they are now.
   */
  openMergeRequest(input: OpenMergeRequestInput): Promise<ForgeMergeRequest>;
  /** The merge request with that forge id, or null when the forge has none. */
  getMergeRequest(externalId: string): Promise<ForgeMergeRequest | null>;
  /** The change it brings, as a unified diff (`git diff target...source`). */
  diff(externalId: string): Promise<string>;
  addNote(externalId: string, body: string): Promise<ForgeNote>;
  addLineComment(externalId: string, comment: LineCommentInput): Promise<ForgeNote>;
  /** Approves as the client's user. */
  approve(externalId: string): Promise<void>;
  /** The user names that approved it. */
  listApprovals(externalId: string): Promise<string[]>;
  /**
   * Merges onto the target (a merge commit or one squash commit); refuses, changing nothing, when the source or the
   * target moved, the branches conflict or a branch is gone. Idempotent: a merge request already merged by the same
   * title returns `merged` with `recovered: true`.
   */
  merge(externalId: string, input: MergeInput): Promise<MergeResult>;
  /** Pushes `branch` from the local clone to the remote (a no-op without one); returns the pushed head. */
  pushBranch(branch: string, options?: { force?: boolean }): Promise<{ sha: string }>;
  /** The pipeline or checks of `sha`. */
  pipeline(sha: string): Promise<ForgePipeline>;
  /** A job's log (its tail when the forge truncates). */
  jobLog(jobId: string): Promise<string>;
  createIssue(input: NewIssueInput): Promise<ForgeIssue>;
  /** A real epic where the forge (group, plan) has them, else a parent issue; the result says which. */
  createEpic(input: NewIssueInput): Promise<ForgeEpic>;
  linkToEpic(epic: ForgeEpic, childIssueExternalId: string): Promise<void>;
  /** Replaces the issue's labels. */
  setLabels(issueExternalId: string, labels: readonly string[]): Promise<void>;
  /** Replaces the issue's priority label (other labels kept) and sets its weight where the forge has weights. */
  setIssuePriority(issueExternalId: string, priority: IssuePriorityInput): Promise<void>;
  /**
   * Open issues labelled `label` updated at or after `since` (ISO 8601; null: all), least recently updated first
   * (the polling fallback's read of what a webhook would have said).
   */
  listLabelledIssues(label: string, since: string | null): Promise<ForgeLabelledIssue[]>;
}

/** Builds a repository's client; one per forge kind, registered in `forge-clients.ts`. */
export type ForgeClientFactory = (repository: ForgeRepository, context: ForgeClientContext) => ForgeClient;
