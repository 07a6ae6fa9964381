/**
 * @module A local, stateful stand-in for GitHub's REST API (the payloads of docs.github.com/rest for exactly the
 * endpoints `src/forge/github-client.ts` calls: repositories and branches, pull requests with the diff media type,
 * issue comments, review comments, reviews and merge, check runs, workflow runs and job logs, issues with labels and
 * sub-issues), serving the repositories over real git smart HTTP at `<url>/<owner>/<name>.git`. Merges are done with
 * git on the bare repository. `Link` pagination, 401, 403 with `x-accepted-oauth-scopes`, 404, 409, 422 and faults
 * such as 429 / 403 with `retry-after` or `x-ratelimit-reset` on demand (`inject`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  StandInServer,
  bareGit,
  branchDiff,
  branchSha,
  createBareRepository,
  createEmptyBareRepository,
  mergeBranches,
  pageOf,
  type Fault,
  type Route,
  type StandInReply,
  type StandInRequest,
  type StandInUser,
} from './forge-stand-in-http.js';

export interface Comment {
  id: number;
  body: string;
  user: string;
  /** Review (line) comments: where they point. */
  path: string | null;
  line: number | null;
  commitId: string | null;
}

export interface Review {
  id: number;
  user: string;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED';
  body: string;
}

export interface Pull {
  id: number;
  number: number;
  /** Who opened it (GitHub refuses their approval of it: 422). */
  user: string;
  title: string;
  body: string;
  head: string;
  base: string;
  state: 'open' | 'closed';
  merged: boolean;
  mergeCommitSha: string | null;
  comments: Comment[];
  reviewComments: Comment[];
  reviews: Review[];
}

export interface Issue {
  id: number;
  number: number;
  title: string;
  body: string;
  labels: string[];
  state: 'open' | 'closed';
  subIssueIds: number[];
  /** Who opened it. */
  user: string;
  /** ISO 8601, set on create and on a label change. */
  updatedAt: string;
}

interface CheckRun {
  id: number;
  sha: string;
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: string | null;
  log: string;
  /** The check suite the run belongs to (one per `addChecks`). */
  suiteId: number;
}

interface WorkflowRun {
  id: number;
  sha: string;
  status: string;
  conclusion: string | null;
}

interface Repo {
  id: number;
  owner: string;
  name: string;
  bare: string;
  defaultBranch: string;
  /** Set by the create endpoints (the test helper leaves it null). */
  description: string | null;
  private: boolean;
  pulls: Pull[];
  /** Issues and pull requests share one number sequence, as on GitHub. */
  nextNumber: number;
  issues: Issue[];
  checkRuns: CheckRun[];
  workflowRuns: WorkflowRun[];
  /** The repository's merge button settings (both allowed unless set false). */
  allowMergeCommit?: boolean;
  allowSquashMerge?: boolean;
}

export interface GitHubStandInOptions {
  /** GitHub caps `per_page` at 100; tests lower it to make clients follow `Link` pages. */
  maxPerPage?: number;
}

export class GitHubStandIn {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'github-stand-in-'));
  private readonly reposDir = path.join(this.dir, 'repos');
  private readonly users = new Map<string, StandInUser>();
  private readonly repos: Repo[] = [];
  /** Organizations the users may create repositories in (`POST /orgs/{org}/repos`). */
  private readonly orgs = new Set<string>();
  private nextId = 1000;
  private readonly maxPerPage: number;
  readonly server: StandInServer;

  constructor(options: GitHubStandInOptions = {}) {
    this.maxPerPage = options.maxPerPage ?? 100;
    this.server = new StandInServer({
      reposDir: this.reposDir,
      users: this.users,
      apiPrefix: '',
      routes: this.routes(),
      publicPaths: /^\/_job-logs\//,
      unauthorized: () => ({
        status: 401,
        body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' },
      }),
    });
  }

  /** The REST API base URL (`baseUrl` of Octokit; GitHub Enterprise has `https://HOST/api/v3`). */
  get url(): string {
    return this.server.url;
  }

  async start(): Promise<this> {
    fs.mkdirSync(this.reposDir, { recursive: true });
    await this.server.start();
    return this;
  }

  async close(): Promise<void> {
    await this.server.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** `scopes`: `repo` reads and writes; `read` only reads (a fine-grained read-only token). */
  addUser(token: string, login: string, scopes: readonly string[] = ['repo']): void {
    this.users.set(token, { id: this.nextId++, username: login, scopes });
  }

  async createRepo(
    fullName: string,
    options: { defaultBranch?: string; allowMergeCommit?: boolean; allowSquashMerge?: boolean } = {},
  ): Promise<Repo> {
    const [owner = '', name = ''] = fullName.split('/');
    const defaultBranch = options.defaultBranch ?? 'main';
    const bare = await createBareRepository(this.reposDir, fullName, defaultBranch);
    const repo: Repo = {
      id: this.nextId++,
      owner,
      name,
      bare,
      defaultBranch,
      description: null,
      private: false,
      pulls: [],
      nextNumber: 1,
      issues: [],
      checkRuns: [],
      workflowRuns: [],
      ...(options.allowMergeCommit === false ? { allowMergeCommit: false } : {}),
      ...(options.allowSquashMerge === false ? { allowSquashMerge: false } : {}),
    };
    this.repos.push(repo);
    return repo;
  }

  /** An organization every user of the stand-in belongs to. */
  createOrg(login: string): void {
    this.orgs.add(login);
  }

  /** The full names of every repository, for assertions (a retry made no second one). */
  repoNames(): string[] {
    return this.repos.map((r) => `${r.owner}/${r.name}`);
  }

  repo(fullName: string): Repo {
    const repo = this.repos.find((r) => `${r.owner}/${r.name}` === fullName);
    if (!repo) throw new Error(`no stand-in repository ${fullName}`);
    return repo;
  }

  remoteUrl(fullName: string): string {
    return `${this.url}/${fullName}.git`;
  }

  /** Check runs (one workflow run's jobs) for `sha`, as GitHub Actions would have left them. */
  addChecks(
    fullName: string,
    sha: string,
    runs: { name: string; status: CheckRun['status']; conclusion?: string | null; log?: string }[],
  ): { ids: number[]; workflowRunId: number; suiteId: number } {
    const repo = this.repo(fullName);
    const suiteId = this.nextId++;
    const ids = runs.map((r) => {
      const id = this.nextId++;
      repo.checkRuns.push({
        id,
        sha,
        name: r.name,
        status: r.status,
        conclusion: r.conclusion ?? null,
        log: r.log ?? '',
        suiteId,
      });
      return id;
    });
    const workflowRunId = this.nextId++;
    const done = runs.every((r) => r.status === 'completed');
    repo.workflowRuns.push({
      id: workflowRunId,
      sha,
      status: done ? 'completed' : 'in_progress',
      conclusion: done ? (runs.some((r) => r.conclusion === 'failure') ? 'failure' : 'success') : null,
    });
    return { ids, workflowRunId, suiteId };
  }

  inject(fault: Fault): void {
    this.server.inject(fault);
  }

  private routes(): Route[] {
    const R = '/repos/([^/]+)/([^/]+)';
    const PR = `${R}/pulls/(\\d+)`;
    const I = `${R}/issues/(\\d+)`;
    const r = (s: string): RegExp => new RegExp(`^${s}$`);
    return [
      ['GET', r('/user'), (q) => ({ status: 200, body: { login: q.user.username, id: q.user.id, type: 'User' } })],
      ['GET', r(R), (q) => this.withRepo(q, 'read', (repo) => ({ status: 200, body: this.repoJson(repo) }))],
      ['POST', r('/user/repos'), (q) => this.scopeDenied(q.user, 'write') ?? this.createRepoByApi(q, q.user.username)],
      [
        'POST',
        r('/orgs/([^/]+)/repos'),
        (q) =>
          this.orgs.has(q.params[0] ?? '')
            ? (this.scopeDenied(q.user, 'write') ?? this.createRepoByApi(q, q.params[0] ?? ''))
            : this.notFound(),
      ],
      ['GET', r(`${R}/branches/([^/]+)`), (q) => this.withRepo(q, 'read', (repo) => this.branch(q, repo))],
      ['GET', r(`${R}/pulls`), (q) => this.withRepo(q, 'read', (repo) => this.listPulls(q, repo))],
      ['POST', r(`${R}/pulls`), (q) => this.withRepo(q, 'write', (repo) => this.createPull(q, repo))],
      ['GET', r(PR), (q) => this.withPull(q, 'read', (repo, pull) => this.getPull(q, repo, pull))],
      ['PATCH', r(PR), (q) => this.withPull(q, 'write', (repo, pull) => this.editPull(q, repo, pull))],
      [
        'GET',
        r(`${PR}/comments`),
        (q) =>
          this.withPull(q, 'read', (_r, p) =>
            this.paged(
              q,
              p.reviewComments.map((c) => this.commentJson(c)),
            ),
          ),
      ],
      [
        'POST',
        r(`${PR}/comments`),
        (q) => this.withPull(q, 'write', (repo, pull) => this.addReviewComment(q, repo, pull)),
      ],
      [
        'GET',
        r(`${PR}/reviews`),
        (q) =>
          this.withPull(q, 'read', (_r, p) =>
            this.paged(
              q,
              p.reviews.map((v) => this.reviewJson(v)),
            ),
          ),
      ],
      ['POST', r(`${PR}/reviews`), (q) => this.withPull(q, 'write', (_r, pull) => this.addReview(q, pull))],
      ['PUT', r(`${PR}/merge`), (q) => this.withPull(q, 'write', (repo, pull) => this.merge(q, repo, pull))],
      ['GET', r(`${R}/commits/([^/]+)/check-runs`), (q) => this.withRepo(q, 'read', (repo) => this.checkRuns(q, repo))],
      ['GET', r(`${R}/actions/runs`), (q) => this.withRepo(q, 'read', (repo) => this.workflowRuns(q, repo))],
      ['GET', r(`${R}/actions/jobs/(\\d+)/logs`), (q) => this.withRepo(q, 'read', (repo) => this.jobLogs(q, repo))],
      ['GET', r('/_job-logs/(\\d+)'), (q) => this.jobLogBlob(q)],
      ['POST', r(`${R}/issues`), (q) => this.withRepo(q, 'write', (repo) => this.createIssue(q, repo))],
      [
        'GET',
        r(`${R}/issues`),
        (q) =>
          this.withRepo(q, 'read', (repo) =>
            this.paged(
              q,
              this.filteredIssues(q, repo.issues).map((i) => this.issueJson(repo, i)),
            ),
          ),
      ],
      [
        'GET',
        r(I),
        (q) => this.withIssue(q, 'read', (repo, issue) => ({ status: 200, body: this.issueJson(repo, issue) })),
      ],
      ['PUT', r(`${I}/labels`), (q) => this.withIssue(q, 'write', (_repo, issue) => this.setLabels(q, issue))],
      ['POST', r(`${I}/comments`), (q) => this.withRepo(q, 'write', (repo) => this.addIssueComment(q, repo))],
      ['GET', r(`${I}/comments`), (q) => this.withRepo(q, 'read', (repo) => this.issueComments(q, repo))],
      [
        'POST',
        r(`${I}/sub_issues`),
        (q) => this.withIssue(q, 'write', (repo, issue) => this.addSubIssue(q, repo, issue)),
      ],
      ['GET', r(`${I}/sub_issues`), (q) => this.withIssue(q, 'read', (repo, issue) => this.subIssues(q, repo, issue))],
    ];
  }

  // --- access -------------------------------------------------------------------------------------------------

  private scopeDenied(user: StandInUser, access: 'read' | 'write'): StandInReply | null {
    if (user.scopes.includes('repo') || (access === 'read' && user.scopes.includes('read'))) return null;
    return {
      status: 403,
      headers: {
        'x-oauth-scopes': user.scopes.join(', '),
        'x-accepted-oauth-scopes': 'repo',
        'x-accepted-github-permissions': 'pull_requests=write; issues=write; contents=write',
      },
      body: {
        message: 'Resource not accessible by personal access token',
        documentation_url: 'https://docs.github.com/rest',
        status: '403',
      },
    };
  }

  private notFound(): StandInReply {
    return {
      status: 404,
      body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' },
    };
  }

  private withRepo(
    q: StandInRequest,
    access: 'read' | 'write',
    then: (repo: Repo) => Promise<StandInReply> | StandInReply,
  ): Promise<StandInReply> | StandInReply {
    const repo = this.repos.find((x) => x.owner === q.params[0] && x.name === q.params[1]);
    // GitHub answers 404, not 403, for a repository the token cannot see.
    if (!repo) return this.notFound();
    return this.scopeDenied(q.user, access) ?? then(repo);
  }

  private withPull(
    q: StandInRequest,
    access: 'read' | 'write',
    then: (repo: Repo, pull: Pull) => Promise<StandInReply> | StandInReply,
  ): Promise<StandInReply> | StandInReply {
    return this.withRepo(q, access, (repo) => {
      const pull = repo.pulls.find((p) => p.number === Number(q.params[2]));
      return pull ? then(repo, pull) : this.notFound();
    });
  }

  private withIssue(
    q: StandInRequest,
    access: 'read' | 'write',
    then: (repo: Repo, issue: Issue) => Promise<StandInReply> | StandInReply,
  ): Promise<StandInReply> | StandInReply {
    return this.withRepo(q, access, (repo) => {
      const issue = repo.issues.find((i) => i.number === Number(q.params[2]));
      return issue ? then(repo, issue) : this.notFound();
    });
  }

  private paged(q: StandInRequest, items: readonly unknown[]): StandInReply {
    const { body, headers } = pageOf(q.url, items, this.maxPerPage, false);
    return { status: 200, body, headers };
  }

  // --- payloads (docs.github.com/rest) ------------------------------------------------------------------------

  private repoJson(repo: Repo): Record<string, unknown> {
    const fullName = `${repo.owner}/${repo.name}`;
    return {
      id: repo.id,
      name: repo.name,
      full_name: fullName,
      owner: { login: repo.owner, type: this.orgs.has(repo.owner) ? 'Organization' : 'User' },
      description: repo.description,
      private: repo.private,
      visibility: repo.private ? 'private' : 'public',
      default_branch: repo.defaultBranch,
      clone_url: this.remoteUrl(fullName),
      html_url: `${this.url}/${fullName}`,
      allow_merge_commit: repo.allowMergeCommit !== false,
      allow_squash_merge: repo.allowSquashMerge !== false,
    };
  }

  /**
   * `POST /user/repos` and `POST /orgs/{org}/repos` (Create a repository): `name`, `description`, `private`,
   * `auto_init` (a first commit with a README; without it the repository is empty). 201 with the repository; a name
   * the owner already has is 422 "Repository creation failed." with `name already exists on this account`.
   */
  private async createRepoByApi(q: StandInRequest, owner: string): Promise<StandInReply> {
    const name = typeof q.body.name === 'string' ? q.body.name : '';
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
      return {
        status: 422,
        body: {
          message: 'Repository creation failed.',
          errors: [{ resource: 'Repository', code: 'missing_field', field: 'name' }],
          documentation_url: 'https://docs.github.com/rest/repos/repos#create-a-repository-for-the-authenticated-user',
          status: '422',
        },
      };
    }
    if (this.repos.some((r) => r.owner.toLowerCase() === owner.toLowerCase() && r.name === name)) {
      return {
        status: 422,
        body: {
          message: 'Repository creation failed.',
          errors: [
            {
              resource: 'Repository',
              code: 'custom',
              field: 'name',
              message: 'name already exists on this account',
            },
          ],
          documentation_url: 'https://docs.github.com/rest/repos/repos#create-a-repository-for-the-authenticated-user',
          status: '422',
        },
      };
    }
    const fullName = `${owner}/${name}`;
    const bare =
      q.body.auto_init === true
        ? await createBareRepository(this.reposDir, fullName, 'main')
        : await createEmptyBareRepository(this.reposDir, fullName, 'main');
    const repo: Repo = {
      id: this.nextId++,
      owner,
      name,
      bare,
      defaultBranch: 'main',
      description: typeof q.body.description === 'string' ? q.body.description : null,
      private: q.body.private === true,
      pulls: [],
      nextNumber: 1,
      issues: [],
      checkRuns: [],
      workflowRuns: [],
    };
    this.repos.push(repo);
    return { status: 201, body: this.repoJson(repo) };
  }

  private async branch(q: StandInRequest, repo: Repo): Promise<StandInReply> {
    const name = q.params[2] ?? '';
    const sha = await branchSha(repo.bare, name);
    if (!sha) return { status: 404, body: { message: 'Branch not found', status: '404' } };
    return { status: 200, body: { name, commit: { sha }, protected: name === repo.defaultBranch } };
  }

  private async pullJson(repo: Repo, pull: Pull): Promise<Record<string, unknown>> {
    const fullName = `${repo.owner}/${repo.name}`;
    const headSha = await branchSha(repo.bare, pull.head);
    const baseSha = await branchSha(repo.bare, pull.base);
    return {
      id: pull.id,
      number: pull.number,
      state: pull.state,
      title: pull.title,
      body: pull.body,
      user: { login: pull.user, type: 'User' },
      html_url: `${this.url}/${fullName}/pull/${pull.number}`,
      head: { ref: pull.head, sha: headSha, label: `${repo.owner}:${pull.head}`, repo: { full_name: fullName } },
      base: { ref: pull.base, sha: baseSha, label: `${repo.owner}:${pull.base}`, repo: { full_name: fullName } },
      merged: pull.merged,
      merged_at: pull.merged ? new Date().toISOString() : null,
      merge_commit_sha: pull.mergeCommitSha,
      mergeable: pull.state === 'open' ? true : null,
    };
  }

  private commentJson(c: Comment): Record<string, unknown> {
    return {
      id: c.id,
      body: c.body,
      user: { login: c.user },
      path: c.path ?? undefined,
      line: c.line ?? undefined,
      commit_id: c.commitId ?? undefined,
      html_url: `${this.url}/comments/${c.id}`,
    };
  }

  private reviewJson(v: Review): Record<string, unknown> {
    return { id: v.id, user: { login: v.user }, state: v.state, body: v.body };
  }

  private issueJson(repo: Repo, i: Issue): Record<string, unknown> {
    return {
      id: i.id,
      number: i.number,
      title: i.title,
      body: i.body,
      state: i.state,
      labels: i.labels.map((name) => ({ name })),
      html_url: `${this.url}/${repo.owner}/${repo.name}/issues/${i.number}`,
      sub_issues_summary: { total: i.subIssueIds.length, completed: 0, percent_completed: 0 },
      user: { login: i.user },
      updated_at: i.updatedAt,
    };
  }

  /** `GET /repos/:o/:r/issues` with `labels` (all of them), `state` (default open), `since` and `sort`/`direction`. */
  private filteredIssues(q: StandInRequest, issues: readonly Issue[]): Issue[] {
    const params = q.url.searchParams;
    const labels = (params.get('labels') ?? '').split(',').filter((l) => l !== '');
    const state = params.get('state') ?? 'open';
    const since = params.get('since');
    const wanted = issues.filter(
      (i) =>
        labels.every((l) => i.labels.includes(l)) &&
        (state === 'all' || i.state === state) &&
        (since === null || Date.parse(i.updatedAt) >= Date.parse(since)),
    );
    if (params.get('sort') === 'updated') {
      wanted.sort((a, b) => Date.parse(a.updatedAt) - Date.parse(b.updatedAt));
      if (params.get('direction') !== 'asc') wanted.reverse();
    }
    return wanted;
  }

  // --- pull requests ------------------------------------------------------------------------------------------

  private async listPulls(q: StandInRequest, repo: Repo): Promise<StandInReply> {
    const state = q.url.searchParams.get('state') ?? 'open';
    const head = q.url.searchParams.get('head');
    const base = q.url.searchParams.get('base');
    const wanted = repo.pulls.filter(
      (p) =>
        (state === 'all' || p.state === state) &&
        (!head || `${repo.owner}:${p.head}` === head) &&
        (!base || p.base === base),
    );
    return this.paged(q, await Promise.all(wanted.map((p) => this.pullJson(repo, p))));
  }

  private async createPull(q: StandInRequest, repo: Repo): Promise<StandInReply> {
    const head = String(q.body.head ?? '').replace(/^[^:]+:/, '');
    const base = String(q.body.base ?? '');
    const title = String(q.body.title ?? '');
    const invalid = (message: string): StandInReply => ({
      status: 422,
      body: {
        message: 'Validation Failed',
        errors: [{ resource: 'PullRequest', code: 'custom', message }],
        status: '422',
      },
    });
    if (!title || !base || !head) return invalid('title, head and base are required');
    if (!(await branchSha(repo.bare, head))) return invalid(`head sha can't be blank`);
    if (repo.pulls.some((p) => p.state === 'open' && p.head === head && p.base === base)) {
      return invalid(`A pull request already exists for ${repo.owner}:${head}.`);
    }
    const pull: Pull = {
      id: this.nextId++,
      number: repo.nextNumber++,
      user: q.user.username,
      title,
      body: String(q.body.body ?? ''),
      head,
      base,
      state: 'open',
      merged: false,
      mergeCommitSha: null,
      comments: [],
      reviewComments: [],
      reviews: [],
    };
    repo.pulls.push(pull);
    return { status: 201, body: await this.pullJson(repo, pull) };
  }

  private async getPull(q: StandInRequest, repo: Repo, pull: Pull): Promise<StandInReply> {
    if (/application\/vnd\.github(\.v3)?\.diff/.test(q.headers.accept ?? '')) {
      const head = await branchSha(repo.bare, pull.head);
      const base = await branchSha(repo.bare, pull.base);
      const patch = head && base ? (await branchDiff(repo.bare, base, head)).patch : '';
      return { status: 200, text: patch, headers: { 'content-type': 'application/vnd.github.diff; charset=utf-8' } };
    }
    return { status: 200, body: await this.pullJson(repo, pull) };
  }

  private async editPull(q: StandInRequest, repo: Repo, pull: Pull): Promise<StandInReply> {
    if (typeof q.body.title === 'string') pull.title = q.body.title;
    if (typeof q.body.body === 'string') pull.body = q.body.body;
    if (q.body.state === 'closed') pull.state = 'closed';
    return { status: 200, body: await this.pullJson(repo, pull) };
  }

  private async addReviewComment(q: StandInRequest, repo: Repo, pull: Pull): Promise<StandInReply> {
    const body = String(q.body.body ?? '');
    const filePath = String(q.body.path ?? '');
    const line = Number(q.body.line);
    const commitId = String(q.body.commit_id ?? '');
    if (!body || !filePath || !Number.isInteger(line) || !commitId) {
      return {
        status: 422,
        body: { message: 'Validation Failed', errors: ['body, path, line and commit_id are required'] },
      };
    }
    const known = await bareGit(repo.bare, ['cat-file', '-e', `${commitId}^{commit}`], [1, 128]);
    if (known.exitCode !== 0) {
      return { status: 422, body: { message: 'Validation Failed', errors: [{ field: 'commit_id', code: 'invalid' }] } };
    }
    const comment: Comment = { id: this.nextId++, body, user: q.user.username, path: filePath, line, commitId };
    pull.reviewComments.push(comment);
    return { status: 201, body: this.commentJson(comment) };
  }

  private addReview(q: StandInRequest, pull: Pull): StandInReply {
    const event = String(q.body.event ?? 'COMMENT');
    const state = event === 'APPROVE' ? 'APPROVED' : event === 'REQUEST_CHANGES' ? 'CHANGES_REQUESTED' : 'COMMENTED';
    if (state !== 'COMMENTED' && q.user.username === pull.user) {
      // GitHub: an author may comment on their own pull request but neither approve it nor request changes.
      const verb = state === 'APPROVED' ? 'approve' : 'request changes on';
      return {
        status: 422,
        body: {
          message: 'Unprocessable Entity',
          errors: [`Can not ${verb} your own pull request`],
          documentation_url: 'https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request',
          status: '422',
        },
      };
    }
    const review: Review = { id: this.nextId++, user: q.user.username, state, body: String(q.body.body ?? '') };
    pull.reviews.push(review);
    return { status: 200, body: this.reviewJson(review) };
  }

  private async merge(q: StandInRequest, repo: Repo, pull: Pull): Promise<StandInReply> {
    if (pull.merged || pull.state !== 'open') {
      return { status: 405, body: { message: 'Pull Request is not mergeable', status: '405' } };
    }
    const head = await branchSha(repo.bare, pull.head);
    if (typeof q.body.sha === 'string' && q.body.sha !== head) {
      return {
        status: 409,
        body: { message: 'Head branch was modified. Review and try the merge again.', status: '409' },
      };
    }
    const method = String(q.body.merge_method ?? 'merge');
    if (method === 'rebase')
      return { status: 405, body: { message: 'Rebase merges are not allowed on this repository.' } };
    if (method === 'merge' && repo.allowMergeCommit === false)
      return { status: 405, body: { message: 'Merge commits are not allowed on this repository.' } };
    if (method === 'squash' && repo.allowSquashMerge === false)
      return { status: 405, body: { message: 'Squash merges are not allowed on this repository.' } };
    const title = String(q.body.commit_title ?? `Merge pull request #${pull.number} from ${repo.owner}/${pull.head}`);
    const message = q.body.commit_message ? `${title}\n\n${String(q.body.commit_message)}` : title;
    const merged = await mergeBranches(repo.bare, {
      source: pull.head,
      target: pull.base,
      squash: method === 'squash',
      message,
    });
    if (merged.status !== 'merged')
      return { status: 405, body: { message: 'Pull Request is not mergeable', status: '405' } };
    pull.merged = true;
    pull.state = 'closed';
    pull.mergeCommitSha = merged.sha;
    return { status: 200, body: { sha: merged.sha, merged: true, message: 'Pull Request successfully merged' } };
  }

  // --- checks -------------------------------------------------------------------------------------------------

  private checkRuns(q: StandInRequest, repo: Repo): StandInReply {
    const sha = q.params[2] ?? '';
    const runs = repo.checkRuns.filter((c) => c.sha === sha);
    const { body, headers } = pageOf(q.url, runs, this.maxPerPage, false);
    return {
      status: 200,
      headers,
      body: {
        total_count: runs.length,
        check_runs: body.map((c) => ({
          id: c.id,
          head_sha: c.sha,
          name: c.name,
          status: c.status,
          conclusion: c.conclusion,
          check_suite: { id: c.suiteId },
          html_url: `${this.url}/${repo.owner}/${repo.name}/actions/runs/0/job/${c.id}`,
          details_url: `${this.url}/${repo.owner}/${repo.name}/actions/runs/0/job/${c.id}`,
        })),
      },
    };
  }

  private workflowRuns(q: StandInRequest, repo: Repo): StandInReply {
    const sha = q.url.searchParams.get('head_sha');
    const runs = repo.workflowRuns.filter((w) => !sha || w.sha === sha).sort((a, b) => b.id - a.id);
    const { body, headers } = pageOf(q.url, runs, this.maxPerPage, false);
    return {
      status: 200,
      headers,
      body: {
        total_count: runs.length,
        workflow_runs: body.map((w) => ({
          id: w.id,
          head_sha: w.sha,
          status: w.status,
          conclusion: w.conclusion,
          html_url: `${this.url}/${repo.owner}/${repo.name}/actions/runs/${w.id}`,
        })),
      },
    };
  }

  /** GitHub answers a job's logs with a 302 to a short-lived blob URL that needs no token. */
  private jobLogs(q: StandInRequest, repo: Repo): StandInReply {
    const run = repo.checkRuns.find((c) => c.id === Number(q.params[2]));
    if (!run) return this.notFound();
    return { status: 302, headers: { location: `${this.url}/_job-logs/${run.id}` } };
  }

  private jobLogBlob(q: StandInRequest): StandInReply {
    const run = this.repos.flatMap((r) => r.checkRuns).find((c) => c.id === Number(q.params[0]));
    return run ? { status: 200, text: run.log } : { status: 404, text: 'gone' };
  }

  // --- issues -------------------------------------------------------------------------------------------------

  private createIssue(q: StandInRequest, repo: Repo): StandInReply {
    const title = String(q.body.title ?? '');
    if (!title)
      return {
        status: 422,
        body: { message: 'Validation Failed', errors: [{ field: 'title', code: 'missing_field' }] },
      };
    const issue: Issue = {
      id: this.nextId++,
      number: repo.nextNumber++,
      title,
      body: String(q.body.body ?? ''),
      labels: Array.isArray(q.body.labels) ? q.body.labels.map(String) : [],
      state: 'open',
      subIssueIds: [],
      user: q.user.username,
      updatedAt: new Date().toISOString(),
    };
    repo.issues.push(issue);
    return { status: 201, body: this.issueJson(repo, issue) };
  }

  private setLabels(q: StandInRequest, issue: Issue): StandInReply {
    issue.labels = Array.isArray(q.body.labels) ? q.body.labels.map(String) : [];
    issue.updatedAt = new Date().toISOString();
    return { status: 200, body: issue.labels.map((name) => ({ name })) };
  }

  private addIssueComment(q: StandInRequest, repo: Repo): StandInReply {
    const number = Number(q.params[2]);
    const pull = repo.pulls.find((p) => p.number === number);
    if (!pull && !repo.issues.some((i) => i.number === number)) return this.notFound();
    const comment: Comment = {
      id: this.nextId++,
      body: String(q.body.body ?? ''),
      user: q.user.username,
      path: null,
      line: null,
      commitId: null,
    };
    pull?.comments.push(comment);
    return { status: 201, body: this.commentJson(comment) };
  }

  private issueComments(q: StandInRequest, repo: Repo): StandInReply {
    const pull = repo.pulls.find((p) => p.number === Number(q.params[2]));
    return this.paged(
      q,
      (pull?.comments ?? []).map((c) => this.commentJson(c)),
    );
  }

  private addSubIssue(q: StandInRequest, repo: Repo, parent: Issue): StandInReply {
    const childId = Number(q.body.sub_issue_id);
    const child = repo.issues.find((i) => i.id === childId);
    if (!child) return this.notFound();
    if (repo.issues.some((i) => i.subIssueIds.includes(childId))) {
      return {
        status: 422,
        body: { message: 'Validation Failed', errors: [{ message: 'Issue may not contain duplicate sub-issues' }] },
      };
    }
    parent.subIssueIds.push(childId);
    return { status: 201, body: this.issueJson(repo, parent) };
  }

  private subIssues(q: StandInRequest, repo: Repo, parent: Issue): StandInReply {
    return this.paged(
      q,
      repo.issues.filter((i) => parent.subIssueIds.includes(i.id)).map((i) => this.issueJson(repo, i)),
    );
  }
}
