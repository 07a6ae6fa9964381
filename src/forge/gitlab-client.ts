/**
 * @module The GitLab forge client (`@gitbeaker/rest`), for gitlab.com and self-hosted instances alike (any base URL):
 * merge requests with notes, line discussions, approvals and merge (merge commit or squash), task branches pushed
 * with real git, pipelines and job traces, issues with labels, epics (group epics where the group's plan has them,
 * else a parent issue with linked children). Requests go through one handler that waits out 429s as the answer asks
 * (`Retry-After` / `RateLimit-Reset`) and turns 401/403/404/409 into `AutodevError`s (`forge-http-policy.ts`).
 */
import { Gitlab } from '@gitbeaker/rest';
import { createRequesterFn, type FormattedResponse, type ResponseBodyTypes } from '@gitbeaker/requester-utils';
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

/** The scope a GitLab token needs for everything this client does. */
const NEEDED_SCOPE = 'api';

interface GitLabMergeRequestJson {
  iid: number;
  web_url: string;
  source_branch: string;
  target_branch: string;
  title: string;
  state: string;
  sha: string | null;
  merge_commit_sha: string | null;
  squash_commit_sha: string | null;
  diff_refs: { base_sha: string; head_sha: string; start_sha: string } | null;
}

interface GitLabProjectJson {
  id: number;
  web_url: string;
  namespace: { id: number; kind: string; full_path: string };
}

interface GitLabOwnProjectJson {
  path_with_namespace: string;
  description: string | null;
  http_url_to_repo: string;
  web_url: string;
}

interface RequestOptions {
  method?: string;
  prefixUrl?: string;
  searchParams?: string;
  asStream?: boolean;
  headers?: Record<string, string>;
  body?: string | Blob | FormData | null;
  signal?: AbortSignal;
  [key: string]: unknown;
}

async function parseBody(response: Response): Promise<ResponseBodyTypes> {
  if (response.status === 204) return null;
  const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  if (type === 'application/json') return ((await response.json().catch(() => null)) ?? {}) as ResponseBodyTypes;
  if (type.startsWith('text/')) return response.text();
  return response.blob();
}

export interface GitLabClientOptions {
  backoff?: BackoffPolicy;
}

export class GitLabClient implements ForgeClient {
  readonly kind = 'gitlab' as const;
  readonly capabilities: ForgeCapabilities = { notes: true, approvals: true, pipelines: true, issues: true };
  private readonly settings: ForgeRemoteSettings;
  private readonly api: InstanceType<typeof Gitlab>;
  private readonly backoff: BackoffPolicy;
  private project: Promise<GitLabProjectJson> | undefined;
  private username: Promise<string> | undefined;

  constructor(
    readonly repository: ForgeRepository,
    private readonly context: ForgeClientContext,
    options: GitLabClientOptions = {},
  ) {
    this.settings = forgeRemoteSettings(repository, 'gitlab');
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    const requesterFn = createRequesterFn(
      (_, requestOptions) => Promise.resolve(requestOptions),
      (endpoint: string, requestOptions?: Record<string, unknown>) =>
        this.request(endpoint, (requestOptions ?? {}) as RequestOptions),
    );
    this.api = new Gitlab({
      host: this.settings.baseUrl,
      token: () => Promise.resolve(this.token()),
      requesterFn,
      // Gitbeaker's own client-side limiter is off: the server's answers say when to wait.
      rateLimits: {},
    });
  }

  private token(): string {
    return forgeToken(this.context, this.settings, this.repository.name, NEEDED_SCOPE);
  }

  /** The one request path: fetch, wait out rate limits as asked, map failures to AutodevErrors. */
  private async request(endpoint: string, options: RequestOptions): Promise<FormattedResponse> {
    const { prefixUrl, searchParams, asStream: _asStream, method = 'GET', rateLimiters: _limits, ...init } = options;
    const base = prefixUrl ? (prefixUrl.endsWith('/') ? prefixUrl : `${prefixUrl}/`) : undefined;
    const url = new URL(endpoint, base);
    url.search = searchParams ?? '';
    const label = `${method} ${endpoint}`;
    for (let attempt = 1; ; attempt += 1) {
      let response: Response;
      try {
        response = await fetch(url, { ...(init as RequestInit), method });
      } catch (error) {
        throw new AutodevError(
          'FORGE_REQUEST_FAILED',
          `GitLab (repository "${this.repository.name}", ${label}) could not be reached: ${(error as Error).message}`,
        );
      }
      if (response.ok) {
        return {
          body: await parseBody(response),
          headers: Object.fromEntries(response.headers),
          status: response.status,
        };
      }
      const header = (name: string): string | null => response.headers.get(name);
      if (isRateLimited(response.status, header) && attempt < this.backoff.maxAttempts) {
        const wait = retryDelayMs(header, this.backoff.now());
        if (wait <= this.backoff.maxWaitMs) {
          await response.body?.cancel();
          await this.backoff.sleep(wait);
          continue;
        }
      }
      const body = await parseBody(response).catch(() => null);
      const record = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
      throw forgeRequestError({
        forge: 'GitLab',
        repository: this.repository.name,
        request: label,
        status: isRateLimited(response.status, header) ? 429 : response.status,
        message: bodyMessage(body),
        missingScope: typeof record.scope === 'string' ? (record.scope.split(' ')[0] ?? null) : null,
        tokenSource: this.settings.tokenEnv,
        neededScope: NEEDED_SCOPE,
      });
    }
  }

  private get projectPath(): string {
    return this.settings.project;
  }

  private projectInfo(): Promise<GitLabProjectJson> {
    this.project ??= this.api.Projects.show(this.projectPath).then((p) => p as unknown as GitLabProjectJson);
    this.project.catch(() => (this.project = undefined));
    return this.project;
  }

  /** The project as GitLab reports it: what `repos add --gitlab` records (default branch, clone URL, page). */
  async remoteProject(): Promise<RemoteProject> {
    const project = (await this.api.Projects.show(this.projectPath)) as unknown as {
      default_branch: string | null;
      http_url_to_repo: string;
      web_url: string;
      squash_option?: 'never' | 'always' | 'default_on' | 'default_off';
    };
    if (!project.default_branch) {
      throw new AutodevError('VALIDATION_FAILED', `GitLab project ${this.projectPath} has no commits yet`);
    }
    const squash = project.squash_option ?? 'default_off';
    const allowed: ('merge' | 'squash')[] =
      squash === 'never' ? ['merge'] : squash === 'always' ? ['squash'] : ['merge', 'squash'];
    return {
      defaultBranch: project.default_branch,
      remoteUrl: project.http_url_to_repo,
      webUrl: project.web_url,
      mergeMethods: { allowed, preferred: squash === 'always' || squash === 'default_on' ? 'squash' : 'merge' },
    };
  }

  /**
   * Finds the project `<namespace or the token's user>/<name>` that `marker` (in its description) says Auto-Dev made,
   * else creates it empty (`POST /projects`, `namespace_id` of the group). One of that path without the marker, or a
   * path GitLab says is taken, is someone else's: `PROJECT_REPO_TAKEN`. Used by `create-remote-project.ts`; this
   * client's own repository is only a stand-in for the project that does not exist yet.
   */
  async ensureOwnProject(input: OwnProjectInput): Promise<OwnProject> {
    let namespaceId: number | undefined;
    let owner: string;
    if (input.namespace) {
      const group = (await this.api.Groups.show(input.namespace)) as unknown as { id: number; full_path: string };
      namespaceId = group.id;
      owner = group.full_path;
    } else owner = await this.me();
    const fullPath = `${owner}/${input.name}`;
    const find = async (): Promise<GitLabOwnProjectJson | null> => {
      try {
        return (await this.api.Projects.show(fullPath)) as unknown as GitLabOwnProjectJson;
      } catch (error) {
        if (isAutodevError(error) && error.code === 'FORGE_NOT_FOUND') return null;
        throw error;
      }
    };
    const own = (p: GitLabOwnProjectJson, created: boolean): OwnProject => {
      if (!(p.description ?? '').includes(input.marker)) throw projectTaken('GitLab', p.path_with_namespace);
      return { project: p.path_with_namespace, remoteUrl: p.http_url_to_repo, webUrl: p.web_url, created };
    };
    const found = await find();
    if (found) return own(found, false);
    try {
      const created = (await this.api.Projects.create({
        name: input.name,
        path: input.name,
        ...(namespaceId === undefined ? {} : { namespaceId }),
        description: input.description,
        visibility: input.visibility,
        initializeWithReadme: false,
      })) as unknown as GitLabOwnProjectJson;
      return own(created, true);
    } catch (error) {
      // 400 "has already been taken": made between our look and our create (a retry's twin), or not ours to see.
      if (!isAutodevError(error) || !['FORGE_REQUEST_FAILED', 'FORGE_CONFLICT'].includes(error.code)) throw error;
      const again = await find();
      if (again) return own(again, false);
      if (/taken/i.test(error.message)) throw projectTaken('GitLab', fullPath);
      throw error;
    }
  }

  private me(): Promise<string> {
    this.username ??= this.api.Users.showCurrentUser().then((u) => String(u.username));
    this.username.catch(() => (this.username = undefined));
    return this.username;
  }

  private async branchSha(branch: string): Promise<string | null> {
    try {
      const shown = await this.api.Branches.show(this.projectPath, branch);
      return String((shown.commit as { id: string }).id);
    } catch (error) {
      if (isAutodevError(error) && error.code === 'FORGE_NOT_FOUND') return null;
      throw error;
    }
  }

  private async showMergeRequest(iid: number): Promise<GitLabMergeRequestJson> {
    return (await this.api.MergeRequests.show(this.projectPath, iid)) as unknown as GitLabMergeRequestJson;
  }

  private async toForgeMergeRequest(mr: GitLabMergeRequestJson): Promise<ForgeMergeRequest> {
    const state = mr.state === 'merged' ? 'merged' : mr.state === 'opened' ? 'open' : 'closed';
    return {
      externalId: String(mr.iid),
      url: mr.web_url,
      sourceBranch: mr.source_branch,
      targetBranch: mr.target_branch,
      title: mr.title,
      headSha: state === 'merged' ? (mr.sha ?? null) : await this.branchSha(mr.source_branch),
      targetSha: await this.branchSha(mr.target_branch),
      state,
      mergeSha: state === 'merged' ? (mr.merge_commit_sha ?? mr.squash_commit_sha ?? null) : null,
    };
  }

  async openMergeRequest(input: OpenMergeRequestInput): Promise<ForgeMergeRequest> {
    const target = input.targetBranch ?? this.repository.defaultBranch;
    refuseDefaultBranch(input.sourceBranch, target, this.repository.name);
    const findOpen = async (): Promise<GitLabMergeRequestJson | undefined> => {
      const open = (await this.api.MergeRequests.all({
        projectId: this.projectPath,
        sourceBranch: input.sourceBranch,
        state: 'opened',
        perPage: 100,
      })) as unknown as GitLabMergeRequestJson[];
      return open.find((m) => m.target_branch === target);
    };
    let existing = await findOpen();
    if (!existing) {
      try {
        const created = await this.api.MergeRequests.create(this.projectPath, input.sourceBranch, target, input.title, {
          description: input.description,
        });
        return this.toForgeMergeRequest(created as unknown as GitLabMergeRequestJson);
      } catch (error) {
        // Another process opened it between our look and our create: refresh that one.
        if (!(isAutodevError(error) && error.code === 'FORGE_CONFLICT')) throw error;
        existing = await findOpen();
        if (!existing) throw error;
      }
    }
    const edited = await this.api.MergeRequests.edit(this.projectPath, existing.iid, {
      title: input.title,
      description: input.description,
    });
    return this.toForgeMergeRequest(edited as unknown as GitLabMergeRequestJson);
  }

  async getMergeRequest(externalId: string): Promise<ForgeMergeRequest | null> {
    if (!/^\d+$/.test(externalId)) return null;
    try {
      return await this.toForgeMergeRequest(await this.showMergeRequest(iidOf(externalId)));
    } catch (error) {
      if (isAutodevError(error) && error.code === 'FORGE_NOT_FOUND') return null;
      throw error;
    }
  }

  async diff(externalId: string): Promise<string> {
    const files = (await this.api.MergeRequests.allDiffs(this.projectPath, iidOf(externalId), {
      perPage: 100,
    })) as unknown as {
      old_path: string;
      new_path: string;
      diff: string;
      new_file: boolean;
      deleted_file: boolean;
    }[];
    return files
      .map((f) => {
        const from = f.new_file ? '/dev/null' : `a/${f.old_path}`;
        const to = f.deleted_file ? '/dev/null' : `b/${f.new_path}`;
        return `diff --git a/${f.old_path} b/${f.new_path}\n--- ${from}\n+++ ${to}\n${f.diff}`;
      })
      .join('');
  }

  private noteUrl(iid: number, noteId: number | string): string {
    return `${this.settings.baseUrl}/${this.projectPath}/-/merge_requests/${iid}#note_${noteId}`;
  }

  async addNote(externalId: string, body: string): Promise<ForgeNote> {
    const iid = iidOf(externalId);
    const note = await this.api.MergeRequestNotes.create(this.projectPath, iid, body);
    return { id: String(note.id), url: this.noteUrl(iid, note.id) };
  }

  async addLineComment(externalId: string, comment: LineCommentInput): Promise<ForgeNote> {
    const iid = iidOf(externalId);
    const mr = await this.showMergeRequest(iid);
    if (!mr.diff_refs) {
      throw new AutodevError(
        'FORGE_CONFLICT',
        `GitLab merge request !${iid} of repository "${this.repository.name}" has no diff to comment on`,
      );
    }
    const discussion = await this.api.MergeRequestDiscussions.create(this.projectPath, iid, comment.body, {
      position: {
        positionType: 'text',
        baseSha: mr.diff_refs.base_sha,
        startSha: mr.diff_refs.start_sha,
        headSha: comment.headSha,
        oldPath: comment.path,
        newPath: comment.path,
        newLine: String(comment.line),
      },
    });
    const note = (discussion.notes as { id: number }[] | undefined)?.[0];
    return { id: String(note?.id ?? discussion.id), url: note ? this.noteUrl(iid, note.id) : null };
  }

  async approve(externalId: string): Promise<void> {
    const iid = iidOf(externalId);
    // GitLab answers a second approval by the same user 401; approving twice is a no-op here.
    if ((await this.listApprovals(externalId)).includes(await this.me())) return;
    await this.api.MergeRequestApprovals.approve(this.projectPath, iid);
  }

  async listApprovals(externalId: string): Promise<string[]> {
    const state = (await this.api.MergeRequestApprovals.showConfiguration(this.projectPath, {
      mergerequestIId: iidOf(externalId),
    })) as unknown as { approved_by?: { user: { username: string } }[] };
    return (state.approved_by ?? []).map((a) => a.user.username);
  }

  async merge(externalId: string, input: MergeInput): Promise<MergeResult> {
    const iid = iidOf(externalId);
    const mr = await this.showMergeRequest(iid);
    if (mr.state === 'merged') {
      return { status: 'merged', sha: mr.merge_commit_sha ?? mr.squash_commit_sha ?? '', recovered: true };
    }
    if (mr.state !== 'opened')
      return { status: 'refused', reason: `merge request !${iid} is ${mr.state}`, rerunGates: false };
    const head = await this.branchSha(mr.source_branch);
    if (!head) return { status: 'refused', reason: `source branch ${mr.source_branch} is gone`, rerunGates: false };
    if (head !== input.expectedHeadSha) {
      return {
        status: 'refused',
        reason: `source branch moved to ${head.slice(0, 12)} since the gates ran`,
        rerunGates: true,
      };
    }
    const target = await this.branchSha(mr.target_branch);
    if (input.expectedTargetSha !== null && target !== input.expectedTargetSha) {
      return {
        status: 'refused',
        reason: `target branch ${mr.target_branch} moved since the gates ran`,
        rerunGates: true,
      };
    }
    // A forced squash (an earlier commit of the branch held a secret) squashes whatever the method.
    const squash = input.method === 'squash' || input.squashReason !== undefined;
    // GitLab ignores `squash` on a project whose squash_option is `never`, and would make a merge commit instead.
    if (squash && !(await this.remoteProject()).mergeMethods.allowed.includes('squash')) {
      return {
        status: 'refused',
        reason:
          `GitLab project ${this.projectPath} never squashes (squash_option "never") and this merge must be one ` +
          `squash commit${input.squashReason ? ` (${input.squashReason})` : ''}: allow squashing in the project's ` +
          'merge request settings',
        rerunGates: false,
      };
    }
    const message = input.squashReason ? `${input.title}\n\nSquashed: ${input.squashReason}` : input.title;
    try {
      const merged = (await this.api.MergeRequests.accept(this.projectPath, iid, {
        sha: input.expectedHeadSha,
        squash,
        ...(squash ? { squashCommitMessage: message } : { mergeCommitMessage: message }),
      })) as unknown as GitLabMergeRequestJson;
      const sha = merged.merge_commit_sha ?? merged.squash_commit_sha;
      if (!sha) throw new AutodevError('FORGE_REQUEST_FAILED', `GitLab merged !${iid} without a merge commit`);
      return { status: 'merged', sha, recovered: false };
    } catch (error) {
      if (!isAutodevError(error)) throw error;
      const status = (error.details as { status?: number } | undefined)?.status;
      if (status === 409) return { status: 'refused', reason: error.message, rerunGates: true };
      if (status === 405 || status === 406 || status === 422) {
        const after = await this.showMergeRequest(iid);
        if (after.state === 'merged') {
          return { status: 'merged', sha: after.merge_commit_sha ?? after.squash_commit_sha ?? '', recovered: true };
        }
        return { status: 'refused', reason: error.message, rerunGates: false };
      }
      throw error;
    }
  }

  async pushBranch(branch: string, options: { force?: boolean } = {}): Promise<{ sha: string }> {
    const remoteUrl = this.repository.remoteUrl;
    if (!remoteUrl) {
      throw new AutodevError('VALIDATION_FAILED', `GitLab repository "${this.repository.name}" has no remote URL`);
    }
    return pushToRemote({
      forge: 'GitLab',
      repository: this.repository.name,
      localPath: this.repository.localPath,
      remoteUrl,
      branch,
      force: options.force ?? false,
      token: this.token(),
      username: GIT_TOKEN_USER.gitlab,
      tokenSource: this.settings.tokenEnv,
      pushScope: 'write_repository',
    });
  }

  async pipeline(sha: string): Promise<ForgePipeline> {
    const pipelines = (await this.api.Pipelines.all(this.projectPath, {
      sha,
      orderBy: 'id',
      sort: 'desc',
      perPage: 1,
      maxPages: 1,
    })) as unknown as { id: number; status: string; web_url: string }[];
    const newest = pipelines[0];
    if (!newest) return { sha, status: 'none', url: null, jobs: [] };
    const jobs = (await this.api.Jobs.all(this.projectPath, { pipelineId: newest.id, perPage: 100 })) as unknown as {
      id: number;
      name: string;
      status: string;
      web_url: string;
    }[];
    return {
      sha,
      id: String(newest.id),
      status: pipelineStatus(newest.status),
      url: newest.web_url,
      jobs: jobs.map((j): ForgeJob => ({
        id: String(j.id),
        name: j.name,
        status: pipelineStatus(j.status),
        url: j.web_url,
      })),
    };
  }

  async jobLog(jobId: string): Promise<string> {
    const log = await this.api.Jobs.showLog(this.projectPath, Number(jobId));
    return typeof log === 'string' ? log : await (log as unknown as Blob).text();
  }

  async createIssue(input: NewIssueInput): Promise<ForgeIssue> {
    const issue = await this.api.Issues.create(this.projectPath, input.title, {
      description: input.body,
      labels: input.labels.join(','),
    });
    return { externalId: String(issue.iid), url: String(issue.web_url) };
  }

  async createEpic(input: NewIssueInput): Promise<ForgeEpic> {
    const project = await this.projectInfo();
    if (project.namespace.kind === 'group') {
      try {
        const epic = await this.api.Epics.create(project.namespace.id, input.title, {
          description: input.body,
          labels: input.labels.join(','),
        });
        return { externalId: String(epic.iid), url: String(epic.web_url), kind: 'epic' };
      } catch (error) {
        // A group without epics in its plan answers 403 (404 on instances without the feature): fall back.
        if (!(isAutodevError(error) && (error.code === 'FORGE_AUTH_FAILED' || error.code === 'FORGE_NOT_FOUND'))) {
          throw error;
        }
        const status = (error.details as { status?: number; missingScope?: string | null } | undefined) ?? {};
        if (status.missingScope) throw error;
      }
    }
    const parent = await this.createIssue(input);
    return { ...parent, kind: 'parent_issue' };
  }

  async linkToEpic(epic: ForgeEpic, childIssueExternalId: string): Promise<void> {
    const childIid = iidOf(childIssueExternalId);
    if (epic.kind === 'epic') {
      const project = await this.projectInfo();
      const issue = await this.api.Issues.show(childIid, { projectId: this.projectPath });
      await this.api.EpicIssues.assign(project.namespace.id, iidOf(epic.externalId), Number(issue.id));
      return;
    }
    try {
      await this.api.IssueLinks.create(this.projectPath, iidOf(epic.externalId), this.projectPath, childIid, {
        linkType: 'relates_to',
      });
    } catch (error) {
      // Already linked (409 "Issue(s) already assigned"): the link is there.
      if (!(isAutodevError(error) && error.code === 'FORGE_CONFLICT')) throw error;
    }
  }

  async setLabels(issueExternalId: string, labels: readonly string[]): Promise<void> {
    await this.api.Issues.edit(this.projectPath, iidOf(issueExternalId), { labels: labels.join(',') });
  }

  async setIssuePriority(issueExternalId: string, priority: IssuePriorityInput): Promise<void> {
    const iid = iidOf(issueExternalId);
    const issue = (await this.api.Issues.show(iid, { projectId: this.projectPath })) as unknown as { labels: string[] };
    const labels = [...issue.labels.filter((l) => !l.startsWith(priority.labelPrefix)), priority.label];
    await this.api.Issues.edit(this.projectPath, iid, {
      labels: labels.join(','),
      ...(priority.weight === null ? {} : { weight: priority.weight }),
    });
  }

  async listLabelledIssues(label: string, since: string | null): Promise<ForgeLabelledIssue[]> {
    const issues = (await this.api.Issues.all({
      projectId: this.projectPath,
      labels: label,
      state: 'opened',
      orderBy: 'updated_at',
      sort: 'asc',
      ...(since === null ? {} : { updatedAfter: since }),
      perPage: 100,
    })) as unknown as {
      iid: number;
      title: string;
      description: string | null;
      labels: string[];
      web_url: string;
      author: { username: string };
      updated_at: string;
    }[];
    return issues.map((i) => ({
      externalId: String(i.iid),
      url: i.web_url,
      title: i.title,
      body: i.description ?? '',
      labels: i.labels,
      author: i.author.username,
      updatedAt: i.updated_at,
    }));
  }
}

function iidOf(externalId: string): number {
  if (!/^\d+$/.test(externalId)) {
    throw new AutodevError('VALIDATION_FAILED', `"${externalId}" is not a GitLab iid`);
  }
  return Number(externalId);
}

/** GitLab's pipeline and job statuses in Auto-Dev's words. */
export function pipelineStatus(status: string): PipelineStatus {
  switch (status) {
    case 'success':
      return 'success';
    case 'failed':
      return 'failed';
    case 'running':
      return 'running';
    case 'canceled':
    case 'canceling':
      return 'canceled';
    case 'skipped':
      return 'skipped';
    default:
      // created, waiting_for_resource, preparing, pending, scheduled, manual
      return 'pending';
  }
}

export const gitlabClientFactory: ForgeClientFactory = (repository, context) => new GitLabClient(repository, context);
