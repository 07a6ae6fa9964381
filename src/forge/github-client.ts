/**
 * @module The GitHub forge client (`@octokit/rest`, any `baseUrl`: github.com or GitHub Enterprise's `/api/v3`):
 * pull requests with comments, review line comments, approving reviews and merge (merge commit or squash), task
 * branches pushed with real git, check runs and workflow runs with job logs, issues with labels, sub-issues as epics.
 * One request hook waits out rate limits as the answer asks (`retry-after`, `x-ratelimit-reset`) and turns
 * 401/403/404/409 into `AutodevError`s (`forge-http-policy.ts`).
 */
import { Octokit } from '@octokit/rest';
import { AutodevError, isAutodevError } from '../errors.js';
import type {
  ForgeCapabilities,
  ForgeClient,
  ForgeClientContext,
  ForgeClientFactory,
  ForgeEpic,
  ForgeIssue,
  ForgeJob,
  ForgeLabelledIssue,
  ForgeMergeRequest,
  ForgeNote,
  ForgePipeline,
  ForgeRepository,
  IssuePriorityInput,
  LineCommentInput,
  MergeInput,
  MergeResult,
  NewIssueInput,
  OpenMergeRequestInput,
  PipelineStatus,
} from './forge-client.js';
import {
  DEFAULT_BACKOFF,
  bodyMessage,
  forgeRequestError,
  isRateLimited,
  retryDelayMs,
  type BackoffPolicy,
} from './forge-http-policy.js';
import {
  forgeRemoteSettings,
  forgeToken,
  projectTaken,
  refuseDefaultBranch,
  type ForgeRemoteSettings,
  type OwnProject,
  type OwnProjectInput,
  type RemoteProject,
} from './forge-remote-settings.js';
import { GIT_TOKEN_USER } from './git-credential-env.js';
import { pushToRemote } from './push-to-remote.js';

/** The classic token scope that covers everything this client does (fine-grained: pull requests, issues, contents). */
const NEEDED_SCOPE = 'repo';

/** What Octokit's RequestError carries that the hook reads. */
interface OctokitFailure {
  status: number;
  response?: { headers: Record<string, string | number | undefined>; data?: unknown };
}

function isOctokitFailure(error: unknown): error is OctokitFailure {
  return typeof error === 'object' && error !== null && typeof (error as { status?: unknown }).status === 'number';
}

interface GitHubOwnRepoJson {
  full_name: string;
  description: string | null;
  clone_url: string;
  html_url: string;
}

interface PullJson {
  number: number;
  html_url: string;
  title: string;
  state: string;
  merged?: boolean;
  merge_commit_sha: string | null;
  head: { ref: string; sha: string };
  base: { ref: string; sha: string };
}

export interface GitHubClientOptions {
  backoff?: BackoffPolicy;
}

export class GitHubClient implements ForgeClient {
  readonly kind = 'github' as const;
  readonly capabilities: ForgeCapabilities = { notes: true, approvals: true, pipelines: true, issues: true };
  private readonly settings: ForgeRemoteSettings;
  private readonly owner: string;
  private readonly repo: string;
  private readonly backoff: BackoffPolicy;
  private client: Octokit | undefined;

  constructor(
    readonly repository: ForgeRepository,
    private readonly context: ForgeClientContext,
    options: GitHubClientOptions = {},
  ) {
    this.settings = forgeRemoteSettings(repository, 'github');
    [this.owner = '', this.repo = ''] = this.settings.project.split('/');
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  private token(): string {
    return forgeToken(this.context, this.settings, this.repository.name, NEEDED_SCOPE);
  }

  /** Octokit, made at first use (a missing token fails the first request, not the client's construction). */
  private get octokit(): Octokit {
    if (this.client) return this.client;
    const octokit = new Octokit({
      baseUrl: this.settings.baseUrl,
      auth: this.token(),
      userAgent: 'auto-dev',
      log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    octokit.hook.wrap('request', async (request, options) => {
      const label = `${String(options.method)} ${String(options.url)}`;
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await request(options);
        } catch (error) {
          if (!isOctokitFailure(error)) {
            throw new AutodevError(
              'FORGE_REQUEST_FAILED',
              `GitHub (repository "${this.repository.name}", ${label}) could not be reached: ${(error as Error).message}`,
            );
          }
          const headers = error.response?.headers ?? {};
          const header = (name: string): string | null => {
            const value = headers[name];
            return value === undefined ? null : String(value);
          };
          const limited = isRateLimited(error.status, header);
          if (limited && attempt < this.backoff.maxAttempts) {
            const wait = retryDelayMs(header, this.backoff.now());
            if (wait <= this.backoff.maxWaitMs) {
              await this.backoff.sleep(wait);
              continue;
            }
          }
          throw forgeRequestError({
            forge: 'GitHub',
            repository: this.repository.name,
            request: label,
            status: limited ? 429 : error.status,
            message: bodyMessage(error.response?.data),
            missingScope: header('x-accepted-oauth-scopes') || header('x-accepted-github-permissions') || null,
            tokenSource: this.settings.tokenEnv,
            neededScope: NEEDED_SCOPE,
          });
        }
      }
    });
    this.client = octokit;
    return octokit;
  }

  private get where(): { owner: string; repo: string } {
    return { owner: this.owner, repo: this.repo };
  }

  /** The repository as GitHub reports it: what `repos add --github` records (default branch, clone URL, page). */
  async remoteProject(): Promise<RemoteProject> {
    const repo = (await this.octokit.rest.repos.get(this.where)).data;
    // GitHub leaves out the allow_* fields for a token that cannot administer the repository: then both are assumed.
    const allowed = (
      [
        ['merge', repo.allow_merge_commit],
        ['squash', repo.allow_squash_merge],
      ] as const
    )
      .filter(([, allow]) => allow !== false)
      .map(([method]) => method);
    return {
      defaultBranch: repo.default_branch,
      remoteUrl: repo.clone_url,
      webUrl: repo.html_url,
      mergeMethods: { allowed, preferred: allowed[0] ?? 'merge' },
    };
  }

  /**
   * Finds the repository `<namespace or the token's user>/<name>` that `marker` (in its description) says Auto-Dev
   * made, else creates it empty (`POST /orgs/{org}/repos` or `POST /user/repos`, no `auto_init`). One of that name
   * without the marker, or a name GitHub says exists (422), is someone else's: `PROJECT_REPO_TAKEN`. Used by
   * `create-remote-project.ts`; this client's own repository is only a stand-in for the one that does not exist yet.
   */
  async ensureOwnProject(input: OwnProjectInput): Promise<OwnProject> {
    const owner = input.namespace ?? (await this.octokit.rest.users.getAuthenticated()).data.login;
    const find = async (): Promise<GitHubOwnRepoJson | null> => {
      try {
        return (await this.octokit.rest.repos.get({ owner, repo: input.name })).data;
      } catch (error) {
        if (isAutodevError(error) && error.code === 'FORGE_NOT_FOUND') return null;
        throw error;
      }
    };
    const own = (r: GitHubOwnRepoJson, created: boolean): OwnProject => {
      if (!(r.description ?? '').includes(input.marker)) throw projectTaken('GitHub', r.full_name);
      return { project: r.full_name, remoteUrl: r.clone_url, webUrl: r.html_url, created };
    };
    const found = await find();
    if (found) return own(found, false);
    const body = {
      name: input.name,
      description: input.description,
      private: input.visibility !== 'public',
      auto_init: false,
    };
    try {
      const created = input.namespace
        ? (await this.octokit.rest.repos.createInOrg({ org: input.namespace, ...body })).data
        : (await this.octokit.rest.repos.createForAuthenticatedUser(body)).data;
      return own(created, true);
    } catch (error) {
      // 422 "name already exists on this account": made between our look and our create, or not ours to see.
      if (!isAutodevError(error) || !['FORGE_REQUEST_FAILED', 'FORGE_CONFLICT'].includes(error.code)) throw error;
      const again = await find();
      if (again) return own(again, false);
      if (/already exists|creation failed/i.test(error.message)) throw projectTaken('GitHub', `${owner}/${input.name}`);
      throw error;
    }
  }

  private async branchSha(branch: string): Promise<string | null> {
    try {
      return (await this.octokit.rest.repos.getBranch({ ...this.where, branch })).data.commit.sha;
    } catch (error) {
      if (isAutodevError(error) && error.code === 'FORGE_NOT_FOUND') return null;
      throw error;
    }
  }

  private async pull(number: number): Promise<PullJson> {
    return (await this.octokit.rest.pulls.get({ ...this.where, pull_number: number })).data as PullJson;
  }

  private async toForgeMergeRequest(pull: PullJson): Promise<ForgeMergeRequest> {
    const merged = pull.merged === true;
    return {
      externalId: String(pull.number),
      url: pull.html_url,
      sourceBranch: pull.head.ref,
      targetBranch: pull.base.ref,
      title: pull.title,
      headSha: merged ? pull.head.sha : await this.branchSha(pull.head.ref),
      targetSha: await this.branchSha(pull.base.ref),
      state: merged ? 'merged' : pull.state === 'open' ? 'open' : 'closed',
      mergeSha: merged ? pull.merge_commit_sha : null,
    };
  }

  async openMergeRequest(input: OpenMergeRequestInput): Promise<ForgeMergeRequest> {
    const base = input.targetBranch ?? this.repository.defaultBranch;
    refuseDefaultBranch(input.sourceBranch, base, this.repository.name);
    const findOpen = async (): Promise<PullJson | undefined> => {
      const open = await this.octokit.paginate(this.octokit.rest.pulls.list, {
        ...this.where,
        state: 'open',
        head: `${this.owner}:${input.sourceBranch}`,
        base,
        per_page: 100,
      });
      return open[0] as PullJson | undefined;
    };
    let existing = await findOpen();
    if (!existing) {
      try {
        const created = await this.octokit.rest.pulls.create({
          ...this.where,
          head: input.sourceBranch,
          base,
          title: input.title,
          body: input.description,
        });
        return this.toForgeMergeRequest(created.data as PullJson);
      } catch (error) {
        // 422 "A pull request already exists": another process opened it between our look and our create.
        existing = await findOpen();
        if (!existing) throw error;
      }
    }
    const updated = await this.octokit.rest.pulls.update({
      ...this.where,
      pull_number: existing.number,
      title: input.title,
      body: input.description,
    });
    return this.toForgeMergeRequest(updated.data as PullJson);
  }

  async getMergeRequest(externalId: string): Promise<ForgeMergeRequest | null> {
    if (!/^\d+$/.test(externalId)) return null;
    try {
      return await this.toForgeMergeRequest(await this.pull(numberOf(externalId)));
    } catch (error) {
      if (isAutodevError(error) && error.code === 'FORGE_NOT_FOUND') return null;
      throw error;
    }
  }

  async diff(externalId: string): Promise<string> {
    const response = await this.octokit.rest.pulls.get({
      ...this.where,
      pull_number: numberOf(externalId),
      mediaType: { format: 'diff' },
    });
    return String(response.data as unknown);
  }

  async addNote(externalId: string, body: string): Promise<ForgeNote> {
    const comment = await this.octokit.rest.issues.createComment({
      ...this.where,
      issue_number: numberOf(externalId),
      body,
    });
    return { id: String(comment.data.id), url: comment.data.html_url };
  }

  async addLineComment(externalId: string, comment: LineCommentInput): Promise<ForgeNote> {
    const created = await this.octokit.rest.pulls.createReviewComment({
      ...this.where,
      pull_number: numberOf(externalId),
      body: comment.body,
      commit_id: comment.headSha,
      path: comment.path,
      line: comment.line,
      side: 'RIGHT',
    });
    return { id: String(created.data.id), url: created.data.html_url };
  }

  async approve(externalId: string): Promise<void> {
    await this.octokit.rest.pulls.createReview({ ...this.where, pull_number: numberOf(externalId), event: 'APPROVE' });
  }

  async listApprovals(externalId: string): Promise<string[]> {
    const reviews = await this.octokit.paginate(this.octokit.rest.pulls.listReviews, {
      ...this.where,
      pull_number: numberOf(externalId),
      per_page: 100,
    });
    // A user's latest review is their standing verdict (a later "changes requested" withdraws an approval).
    const latest = new Map<string, string>();
    for (const review of reviews) {
      const login = review.user?.login;
      if (login && review.state !== 'COMMENTED') latest.set(login, review.state);
    }
    return [...latest].filter(([, state]) => state === 'APPROVED').map(([login]) => login);
  }

  async merge(externalId: string, input: MergeInput): Promise<MergeResult> {
    const number = numberOf(externalId);
    const pull = await this.pull(number);
    if (pull.merged) return { status: 'merged', sha: pull.merge_commit_sha ?? '', recovered: true };
    if (pull.state !== 'open')
      return { status: 'refused', reason: `pull request #${number} is closed`, rerunGates: false };
    const head = await this.branchSha(pull.head.ref);
    if (!head) return { status: 'refused', reason: `source branch ${pull.head.ref} is gone`, rerunGates: false };
    if (head !== input.expectedHeadSha) {
      return {
        status: 'refused',
        reason: `source branch moved to ${head.slice(0, 12)} since the gates ran`,
        rerunGates: true,
      };
    }
    const target = await this.branchSha(pull.base.ref);
    if (input.expectedTargetSha !== null && target !== input.expectedTargetSha) {
      return {
        status: 'refused',
        reason: `target branch ${pull.base.ref} moved since the gates ran`,
        rerunGates: true,
      };
    }
    try {
      const merged = await this.octokit.rest.pulls.merge({
        ...this.where,
        pull_number: number,
        sha: input.expectedHeadSha,
        // A forced squash (an earlier commit of the branch held a secret) squashes whatever the method.
        merge_method: input.squashReason !== undefined ? 'squash' : input.method,
        commit_title: input.title,
        ...(input.squashReason ? { commit_message: `Squashed: ${input.squashReason}` } : {}),
      });
      return { status: 'merged', sha: merged.data.sha, recovered: false };
    } catch (error) {
      if (!isAutodevError(error)) throw error;
      const status = (error.details as { status?: number } | undefined)?.status;
      if (status === 409) return { status: 'refused', reason: error.message, rerunGates: true };
      if (status === 405 || status === 422) {
        const after = await this.pull(number);
        if (after.merged) return { status: 'merged', sha: after.merge_commit_sha ?? '', recovered: true };
        return { status: 'refused', reason: error.message, rerunGates: false };
      }
      throw error;
    }
  }

  async pushBranch(branch: string, options: { force?: boolean } = {}): Promise<{ sha: string }> {
    const remoteUrl = this.repository.remoteUrl;
    if (!remoteUrl) {
      throw new AutodevError('VALIDATION_FAILED', `GitHub repository "${this.repository.name}" has no remote URL`);
    }
    return pushToRemote({
      forge: 'GitHub',
      repository: this.repository.name,
      localPath: this.repository.localPath,
      remoteUrl,
      branch,
      force: options.force ?? false,
      token: this.token(),
      username: GIT_TOKEN_USER.github,
      tokenSource: this.settings.tokenEnv,
      pushScope: 'repo (fine-grained: contents write)',
    });
  }

  async pipeline(sha: string): Promise<ForgePipeline> {
    const runs = await this.octokit.paginate(this.octokit.rest.checks.listForRef, {
      ...this.where,
      ref: sha,
      per_page: 100,
    });
    if (runs.length === 0) return { sha, status: 'none', url: null, jobs: [] };
    const workflows = await this.octokit.rest.actions.listWorkflowRunsForRepo({
      ...this.where,
      head_sha: sha,
      per_page: 1,
    });
    const jobs = runs.map((run): ForgeJob => ({
      id: String(run.id),
      name: run.name,
      status: checkStatus(run.status, run.conclusion),
      url: run.html_url ?? null,
    }));
    const failed = runs.find((run) => checkStatus(run.status, run.conclusion) === 'failed') ?? runs[0];
    const suite = (failed as { check_suite?: { id?: number } | null } | undefined)?.check_suite?.id;
    return {
      sha,
      ...(suite === undefined ? {} : { id: String(suite) }),
      status: overallStatus(jobs.map((j) => j.status)),
      url: workflows.data.workflow_runs[0]?.html_url ?? jobs[0]?.url ?? null,
      jobs,
    };
  }

  async jobLog(jobId: string): Promise<string> {
    const response = await this.octokit.rest.actions.downloadJobLogsForWorkflowRun({
      ...this.where,
      job_id: Number(jobId),
    });
    const data = response.data as unknown;
    if (typeof data === 'string') return data;
    if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
    return String(data);
  }

  async createIssue(input: NewIssueInput): Promise<ForgeIssue> {
    const issue = await this.octokit.rest.issues.create({
      ...this.where,
      title: input.title,
      body: input.body,
      labels: [...input.labels],
    });
    return { externalId: String(issue.data.number), url: issue.data.html_url };
  }

  /** An issue whose sub-issues are the stories: GitHub's epic. */
  async createEpic(input: NewIssueInput): Promise<ForgeEpic> {
    return { ...(await this.createIssue(input)), kind: 'epic' };
  }

  async linkToEpic(epic: ForgeEpic, childIssueExternalId: string): Promise<void> {
    const child = await this.octokit.rest.issues.get({ ...this.where, issue_number: numberOf(childIssueExternalId) });
    const parent = numberOf(epic.externalId);
    const existing = await this.octokit.paginate(this.octokit.rest.issues.listSubIssues, {
      ...this.where,
      issue_number: parent,
      per_page: 100,
    });
    if (existing.some((sub) => sub.id === child.data.id)) return;
    await this.octokit.rest.issues.addSubIssue({ ...this.where, issue_number: parent, sub_issue_id: child.data.id });
  }

  async setLabels(issueExternalId: string, labels: readonly string[]): Promise<void> {
    await this.octokit.rest.issues.setLabels({
      ...this.where,
      issue_number: numberOf(issueExternalId),
      labels: [...labels],
    });
  }

  /** GitHub has no weights: the priority is the label alone. */
  async setIssuePriority(issueExternalId: string, priority: IssuePriorityInput): Promise<void> {
    const issue = await this.octokit.rest.issues.get({ ...this.where, issue_number: numberOf(issueExternalId) });
    const labels = issue.data.labels
      .map((l) => (typeof l === 'string' ? l : (l.name ?? '')))
      .filter((l) => l !== '' && !l.startsWith(priority.labelPrefix));
    await this.setLabels(issueExternalId, [...labels, priority.label]);
  }

  async listLabelledIssues(label: string, since: string | null): Promise<ForgeLabelledIssue[]> {
    const issues = await this.octokit.paginate(this.octokit.rest.issues.listForRepo, {
      ...this.where,
      labels: label,
      state: 'open',
      sort: 'updated',
      direction: 'asc',
      ...(since === null ? {} : { since }),
      per_page: 100,
    });
    return issues
      .filter((i) => !i.pull_request)
      .map((i) => ({
        externalId: String(i.number),
        url: i.html_url,
        title: i.title,
        body: i.body ?? '',
        labels: i.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter((l) => l !== ''),
        author: i.user?.login ?? 'unknown',
        updatedAt: i.updated_at,
      }));
  }
}

function numberOf(externalId: string): number {
  if (!/^\d+$/.test(externalId)) {
    throw new AutodevError('VALIDATION_FAILED', `"${externalId}" is not a GitHub issue or pull request number`);
  }
  return Number(externalId);
}

/** A check run's status and conclusion in Auto-Dev's words. */
export function checkStatus(status: string, conclusion: string | null): PipelineStatus {
  if (status === 'in_progress') return 'running';
  if (status !== 'completed') return 'pending';
  switch (conclusion) {
    case 'success':
    case 'neutral':
      return 'success';
    case 'cancelled':
      return 'canceled';
    case 'skipped':
      return 'skipped';
    default:
      // failure, timed_out, action_required, startup_failure, stale
      return 'failed';
  }
}

/** The commit's status from its checks: any failure fails it; any unfinished keeps it going. */
export function overallStatus(statuses: readonly PipelineStatus[]): PipelineStatus {
  for (const status of ['failed', 'running', 'pending', 'canceled'] as const) {
    if (statuses.includes(status)) return status;
  }
  return statuses.every((s) => s === 'skipped') ? 'skipped' : 'success';
}

export const githubClientFactory: ForgeClientFactory = (repository, context) => new GitHubClient(repository, context);
