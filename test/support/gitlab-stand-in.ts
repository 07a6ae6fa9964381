/**
 * @module A local, stateful stand-in for a (self-hosted) GitLab: the REST API v4 payloads its documentation gives for
 * exactly the endpoints `src/forge/gitlab-client.ts` calls (projects, groups and epics, issues and links, merge
 * requests with notes, discussions, approvals and merge, pipelines, jobs and traces), and the projects' repositories
 * over real git smart HTTP at `<url>/<group>/<name>.git`. Merges are done with git on the bare repository. Offset
 * pagination (`x-next-page`, `Link`), 401/403 (`insufficient_scope`), 404, 409 and faults such as 429 with
 * `Retry-After` / `RateLimit-Reset` on demand (`inject`).
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
  hasBranches,
  mergeBranches,
  pageOf,
  type Fault,
  type Route,
  type StandInReply,
  type StandInRequest,
  type StandInUser,
} from './forge-stand-in-http.js';

interface Project {
  id: number;
  path: string;
  bare: string;
  defaultBranch: string;
  group: Group | null;
  /** Set by `POST /projects` (the test helper leaves it empty). */
  description: string;
  visibility: string;
  mergeRequests: MergeRequest[];
  issues: Issue[];
  pipelines: Pipeline[];
  /**
   * "Squash commits when merging" (`squash_option`, default `default_off`): as GitLab, `never` merges without
   * squashing even when the request asks for it, `always` squashes even when it does not.
   */
  squashOption?: 'never' | 'always' | 'default_on' | 'default_off';
}

interface Group {
  id: number;
  path: string;
  /** Whether the group's plan has epics (Premium); without them POST /groups/:id/epics answers 403. */
  epics: boolean;
  epicList: Epic[];
}

export interface Note {
  id: number;
  body: string;
  author: string;
  /** For a line discussion note: where it points. */
  position: { new_path: string; new_line: number; head_sha: string } | null;
}

export interface MergeRequest {
  id: number;
  iid: number;
  title: string;
  description: string;
  sourceBranch: string;
  targetBranch: string;
  state: 'opened' | 'merged' | 'closed';
  mergeCommitSha: string | null;
  squashCommitSha: string | null;
  notes: Note[];
  approvedBy: string[];
}

export interface Issue {
  id: number;
  iid: number;
  title: string;
  description: string;
  labels: string[];
  weight: number | null;
  state: 'opened' | 'closed';
  /** iids of issues linked from this one (`relates_to`). */
  links: number[];
  epicIid: number | null;
  /** Who opened it. */
  author: string;
  /** ISO 8601, set on create and edit. */
  updatedAt: string;
}

export interface Epic {
  id: number;
  iid: number;
  title: string;
  description: string;
  labels: string[];
  issueIds: number[];
}

interface Job {
  id: number;
  name: string;
  stage: string;
  status: string;
  trace: string;
}

interface Pipeline {
  id: number;
  sha: string;
  ref: string;
  status: string;
  jobs: Job[];
}

export interface GitLabStandInOptions {
  /** GitLab caps `per_page` at 100; tests lower it to make clients follow pages. */
  maxPerPage?: number;
}

export class GitLabStandIn {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gitlab-stand-in-'));
  private readonly reposDir = path.join(this.dir, 'repos');
  private readonly users = new Map<string, StandInUser>();
  private readonly projects: Project[] = [];
  private readonly groups: Group[] = [];
  private nextId = 100;
  private readonly maxPerPage: number;
  readonly server: StandInServer;

  constructor(options: GitLabStandInOptions = {}) {
    this.maxPerPage = options.maxPerPage ?? 100;
    this.server = new StandInServer({
      reposDir: this.reposDir,
      users: this.users,
      apiPrefix: '/api/v4',
      routes: this.routes(),
      unauthorized: () => ({ status: 401, body: { message: '401 Unauthorized' } }),
    });
  }

  /** The base URL (what a self-hosted GitLab's users type: no `/api/v4`). */
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

  addUser(token: string, username: string, scopes: readonly string[] = ['api']): void {
    this.users.set(token, { id: this.nextId++, username, scopes });
  }

  /** A project `group/name` with one commit on its default branch; `epics`: its group's plan has epics. */
  async createProject(
    fullPath: string,
    options: { defaultBranch?: string; epics?: boolean; squashOption?: Project['squashOption'] } = {},
  ): Promise<Project> {
    const defaultBranch = options.defaultBranch ?? 'main';
    const groupPath = fullPath.split('/').slice(0, -1).join('/');
    let group = this.groups.find((g) => g.path === groupPath) ?? null;
    if (!group && groupPath) {
      group = { id: this.nextId++, path: groupPath, epics: options.epics ?? false, epicList: [] };
      this.groups.push(group);
    }
    const bare = await createBareRepository(this.reposDir, fullPath, defaultBranch);
    const project: Project = {
      id: this.nextId++,
      path: fullPath,
      bare,
      defaultBranch,
      group,
      description: '',
      visibility: 'private',
      mergeRequests: [],
      issues: [],
      pipelines: [],
      ...(options.squashOption ? { squashOption: options.squashOption } : {}),
    };
    this.projects.push(project);
    return project;
  }

  /** A group (for `POST /projects` with its `namespace_id`). */
  createGroup(groupPath: string, options: { epics?: boolean } = {}): Group {
    const existing = this.groups.find((g) => g.path === groupPath);
    if (existing) return existing;
    const group: Group = { id: this.nextId++, path: groupPath, epics: options.epics ?? false, epicList: [] };
    this.groups.push(group);
    return group;
  }

  /** The paths of every project, for assertions (a retry made no second one). */
  projectPaths(): string[] {
    return this.projects.map((p) => p.path);
  }

  /** The project's state, for assertions. */
  project(fullPath: string): Project {
    const project = this.projects.find((p) => p.path === fullPath);
    if (!project) throw new Error(`no stand-in project ${fullPath}`);
    return project;
  }

  epics(groupPath: string): Epic[] {
    return this.groups.find((g) => g.path === groupPath)?.epicList ?? [];
  }

  remoteUrl(fullPath: string): string {
    return `${this.url}/${fullPath}.git`;
  }

  /** A pipeline for `sha` as a runner would have left it. */
  addPipeline(
    fullPath: string,
    sha: string,
    status: string,
    jobs: { name: string; status: string; trace?: string }[],
  ): { id: number; jobIds: number[] } {
    const project = this.project(fullPath);
    const pipeline: Pipeline = {
      id: this.nextId++,
      sha,
      ref: project.defaultBranch,
      status,
      jobs: jobs.map((j) => ({
        id: this.nextId++,
        name: j.name,
        stage: 'test',
        status: j.status,
        trace: j.trace ?? '',
      })),
    };
    project.pipelines.push(pipeline);
    return { id: pipeline.id, jobIds: pipeline.jobs.map((j) => j.id) };
  }

  inject(fault: Fault): void {
    this.server.inject(fault);
  }

  private routes(): Route[] {
    const P = '/projects/([^/]+)';
    const MR = `${P}/merge_requests/(\\d+)`;
    const I = `${P}/issues/(\\d+)`;
    const r = (s: string): RegExp => new RegExp(`^${s}$`);
    return [
      ['GET', r('/user'), (q) => ({ status: 200, body: this.userJson(q.user) })],
      ['GET', r(P), (q) => this.withProject(q, 'read', (p) => ({ status: 200, body: this.projectJson(p) }))],
      ['POST', r('/projects'), (q) => this.scopeDenied(q.user, 'write') ?? this.createProjectByApi(q)],
      [
        'GET',
        r('/groups/([^/]+)'),
        (q) => this.withGroup(q, 'read', (g) => ({ status: 200, body: this.groupJson(g) })),
      ],
      ['GET', r(`${P}/repository/branches/([^/]+)`), (q) => this.withProject(q, 'read', (p) => this.branch(q, p))],
      ['GET', r(`${P}/merge_requests`), (q) => this.withProject(q, 'read', (p) => this.listMergeRequests(q, p))],
      ['POST', r(`${P}/merge_requests`), (q) => this.withProject(q, 'write', (p) => this.createMergeRequest(q, p))],
      [
        'GET',
        r(MR),
        (q) => this.withMergeRequest(q, 'read', async (p, mr) => ({ status: 200, body: await this.mrJson(p, mr) })),
      ],
      ['PUT', r(MR), (q) => this.withMergeRequest(q, 'write', (p, mr) => this.editMergeRequest(q, p, mr))],
      ['GET', r(`${MR}/diffs`), (q) => this.withMergeRequest(q, 'read', (p, mr) => this.diffs(q, p, mr))],
      [
        'GET',
        r(`${MR}/notes`),
        (q) =>
          this.withMergeRequest(q, 'read', (_p, mr) =>
            this.paged(
              q,
              mr.notes.map((n) => this.noteJson(n)),
            ),
          ),
      ],
      ['POST', r(`${MR}/notes`), (q) => this.withMergeRequest(q, 'write', (_p, mr) => this.addNote(q, mr))],
      [
        'GET',
        r(`${MR}/discussions`),
        (q) =>
          this.withMergeRequest(q, 'read', (_p, mr) =>
            this.paged(
              q,
              mr.notes.map((n) => this.discussionJson(n)),
            ),
          ),
      ],
      [
        'POST',
        r(`${MR}/discussions`),
        (q) => this.withMergeRequest(q, 'write', (p, mr) => this.addDiscussion(q, p, mr)),
      ],
      [
        'GET',
        r(`${MR}/approvals`),
        (q) => this.withMergeRequest(q, 'read', (_p, mr) => ({ status: 200, body: this.approvalsJson(mr) })),
      ],
      ['POST', r(`${MR}/approve`), (q) => this.withMergeRequest(q, 'write', (_p, mr) => this.approve(q, mr))],
      ['PUT', r(`${MR}/merge`), (q) => this.withMergeRequest(q, 'write', (p, mr) => this.merge(q, p, mr))],
      ['GET', r(`${P}/pipelines`), (q) => this.withProject(q, 'read', (p) => this.listPipelines(q, p))],
      ['GET', r(`${P}/pipelines/(\\d+)/jobs`), (q) => this.withProject(q, 'read', (p) => this.listJobs(q, p))],
      ['GET', r(`${P}/jobs/(\\d+)/trace`), (q) => this.withProject(q, 'read', (p) => this.trace(q, p))],
      ['POST', r(`${P}/issues`), (q) => this.withProject(q, 'write', (p) => this.createIssue(q, p))],
      [
        'GET',
        r(`${P}/issues`),
        (q) =>
          this.withProject(q, 'read', (p) =>
            this.paged(
              q,
              this.filteredIssues(q, p.issues).map((i) => this.issueJson(p, i)),
            ),
          ),
      ],
      ['GET', r(I), (q) => this.withIssue(q, 'read', (p, i) => ({ status: 200, body: this.issueJson(p, i) }))],
      ['PUT', r(I), (q) => this.withIssue(q, 'write', (p, i) => this.editIssue(q, p, i))],
      ['POST', r(`${I}/links`), (q) => this.withIssue(q, 'write', (p, i) => this.linkIssue(q, p, i))],
      [
        'GET',
        r(`${I}/links`),
        (q) => this.withIssue(q, 'read', (p, i) => ({ status: 200, body: this.linkedIssues(p, i) })),
      ],
      ['POST', r('/groups/([^/]+)/epics'), (q) => this.withGroup(q, 'write', (g) => this.createEpic(q, g))],
      [
        'POST',
        r('/groups/([^/]+)/epics/(\\d+)/issues/(\\d+)'),
        (q) => this.withGroup(q, 'write', (g) => this.addEpicIssue(q, g)),
      ],
      ['GET', r('/groups/([^/]+)/epics/(\\d+)/issues'), (q) => this.withGroup(q, 'read', (g) => this.epicIssues(q, g))],
    ];
  }

  // --- access -------------------------------------------------------------------------------------------------

  /** GitLab answers a token without the scope 403 `insufficient_scope`, naming the scope it needs. */
  private scopeDenied(user: StandInUser, access: 'read' | 'write'): StandInReply | null {
    const ok = access === 'read' ? ['api', 'read_api'] : ['api'];
    if (user.scopes.some((s) => ok.includes(s))) return null;
    return {
      status: 403,
      body: {
        error: 'insufficient_scope',
        error_description: 'The request requires higher privileges than provided by the access token.',
        scope: ok.join(' '),
      },
    };
  }

  private findProject(idOrPath: string): Project | undefined {
    return /^\d+$/.test(idOrPath)
      ? this.projects.find((p) => p.id === Number(idOrPath))
      : this.projects.find((p) => p.path === idOrPath);
  }

  private async withProject(
    q: StandInRequest,
    access: 'read' | 'write',
    then: (p: Project) => Promise<StandInReply> | StandInReply,
  ): Promise<StandInReply> {
    const project = this.findProject(q.params[0] ?? '');
    if (!project) return { status: 404, body: { message: '404 Project Not Found' } };
    return this.scopeDenied(q.user, access) ?? then(project);
  }

  private withGroup(
    q: StandInRequest,
    access: 'read' | 'write',
    then: (g: Group) => Promise<StandInReply> | StandInReply,
  ): Promise<StandInReply> | StandInReply {
    const key = q.params[0] ?? '';
    const group = /^\d+$/.test(key)
      ? this.groups.find((g) => g.id === Number(key))
      : this.groups.find((g) => g.path === key);
    if (!group) return { status: 404, body: { message: '404 Group Not Found' } };
    return this.scopeDenied(q.user, access) ?? then(group);
  }

  private withMergeRequest(
    q: StandInRequest,
    access: 'read' | 'write',
    then: (p: Project, mr: MergeRequest) => Promise<StandInReply> | StandInReply,
  ): Promise<StandInReply> {
    return this.withProject(q, access, (p) => {
      const mr = p.mergeRequests.find((m) => m.iid === Number(q.params[1]));
      if (!mr) return { status: 404, body: { message: '404 Not found' } };
      return then(p, mr);
    });
  }

  private withIssue(
    q: StandInRequest,
    access: 'read' | 'write',
    then: (p: Project, i: Issue) => Promise<StandInReply> | StandInReply,
  ): Promise<StandInReply> {
    return this.withProject(q, access, (p) => {
      const issue = p.issues.find((i) => i.iid === Number(q.params[1]));
      if (!issue) return { status: 404, body: { message: '404 Not found' } };
      return then(p, issue);
    });
  }

  private paged(q: StandInRequest, items: readonly unknown[]): StandInReply {
    const { body, headers } = pageOf(q.url, items, this.maxPerPage, true);
    return { status: 200, body, headers };
  }

  // --- payloads (shapes from GitLab's REST API docs) ----------------------------------------------------------

  private userJson(user: StandInUser): Record<string, unknown> {
    return {
      id: user.id,
      username: user.username,
      name: user.username,
      state: 'active',
      web_url: `${this.url}/${user.username}`,
    };
  }

  private projectJson(p: Project): Record<string, unknown> {
    const name = p.path.split('/').at(-1) ?? p.path;
    return {
      id: p.id,
      name,
      path: name,
      path_with_namespace: p.path,
      description: p.description,
      visibility: p.visibility,
      // An empty project (created without a README, nothing pushed yet) has no default branch.
      default_branch: hasBranches(p.bare) ? p.defaultBranch : null,
      empty_repo: !hasBranches(p.bare),
      web_url: `${this.url}/${p.path}`,
      http_url_to_repo: this.remoteUrl(p.path),
      namespace: p.group
        ? { id: p.group.id, kind: 'group', full_path: p.group.path, path: p.group.path }
        : { id: 0, kind: 'user', full_path: p.path.split('/')[0], path: p.path.split('/')[0] },
      merge_method: 'merge',
      squash_option: p.squashOption ?? 'default_off',
    };
  }

  private groupJson(g: Group): Record<string, unknown> {
    return { id: g.id, path: g.path, full_path: g.path, name: g.path, web_url: `${this.url}/groups/${g.path}` };
  }

  private async mrJson(p: Project, mr: MergeRequest): Promise<Record<string, unknown>> {
    const head = await branchSha(p.bare, mr.sourceBranch);
    const target = await branchSha(p.bare, mr.targetBranch);
    const base = head && target ? await mergeBase(p.bare, target, head) : null;
    return {
      id: mr.id,
      iid: mr.iid,
      project_id: p.id,
      title: mr.title,
      description: mr.description,
      state: mr.state,
      source_branch: mr.sourceBranch,
      target_branch: mr.targetBranch,
      sha: head,
      merge_commit_sha: mr.mergeCommitSha,
      squash_commit_sha: mr.squashCommitSha,
      web_url: `${this.url}/${p.path}/-/merge_requests/${mr.iid}`,
      diff_refs: head && target ? { base_sha: base, head_sha: head, start_sha: target } : null,
      detailed_merge_status: mr.state === 'opened' ? 'mergeable' : 'not_open',
    };
  }

  private noteJson(n: Note): Record<string, unknown> {
    return {
      id: n.id,
      type: n.position ? 'DiffNote' : null,
      body: n.body,
      author: { username: n.author },
      system: false,
      noteable_type: 'MergeRequest',
      position: n.position ? { position_type: 'text', ...n.position } : undefined,
    };
  }

  private discussionJson(n: Note): Record<string, unknown> {
    return { id: `d${n.id}`, individual_note: n.position === null, notes: [this.noteJson(n)] };
  }

  private approvalsJson(mr: MergeRequest): Record<string, unknown> {
    return {
      iid: mr.iid,
      approved: mr.approvedBy.length > 0,
      approved_by: mr.approvedBy.map((username) => ({ user: { username, name: username } })),
    };
  }

  private issueJson(p: Project, i: Issue): Record<string, unknown> {
    return {
      id: i.id,
      iid: i.iid,
      project_id: p.id,
      title: i.title,
      description: i.description,
      labels: i.labels,
      weight: i.weight,
      state: i.state,
      web_url: `${this.url}/${p.path}/-/issues/${i.iid}`,
      epic_iid: i.epicIid,
      author: { username: i.author },
      updated_at: i.updatedAt,
    };
  }

  /** `GET /projects/:id/issues` with `labels` (all of them), `state`, `updated_after` and `order_by`/`sort`. */
  private filteredIssues(q: StandInRequest, issues: readonly Issue[]): Issue[] {
    const params = q.url.searchParams;
    const labels = labelList(params.get('labels') ?? '');
    const state = params.get('state');
    const after = params.get('updated_after');
    const wanted = issues.filter(
      (i) =>
        labels.every((l) => i.labels.includes(l)) &&
        (state === null || state === 'all' || i.state === state) &&
        (after === null || Date.parse(i.updatedAt) >= Date.parse(after)),
    );
    if (params.get('order_by') === 'updated_at') {
      wanted.sort((a, b) => Date.parse(a.updatedAt) - Date.parse(b.updatedAt));
      if (params.get('sort') !== 'asc') wanted.reverse();
    }
    return wanted;
  }

  private async branch(q: StandInRequest, p: Project): Promise<StandInReply> {
    const name = q.params[1] ?? '';
    const sha = await branchSha(p.bare, name);
    if (!sha) return { status: 404, body: { message: '404 Branch Not Found' } };
    return {
      status: 200,
      body: {
        name,
        merged: false,
        protected: name === p.defaultBranch,
        default: name === p.defaultBranch,
        commit: { id: sha, short_id: sha.slice(0, 8) },
        web_url: `${this.url}/${p.path}/-/tree/${name}`,
      },
    };
  }

  // --- merge requests -----------------------------------------------------------------------------------------

  private listMergeRequests(q: StandInRequest, p: Project): StandInReply | Promise<StandInReply> {
    const state = q.url.searchParams.get('state');
    const source = q.url.searchParams.get('source_branch');
    const wanted = p.mergeRequests.filter(
      (m) => (!state || state === 'all' || m.state === state) && (!source || m.sourceBranch === source),
    );
    return Promise.all(wanted.map((m) => this.mrJson(p, m))).then((items) => this.paged(q, items));
  }

  /**
   * `POST /projects` (Create project): `name`, `path` (default: from the name), `namespace_id` (a group; default the
   * user's namespace), `description`, `visibility`, `default_branch`, `initialize_with_readme`. 201 with the project;
   * a path taken in the namespace is 400 `{"message": {"name": [...], "path": ["has already been taken"]}}`.
   */
  private async createProjectByApi(q: StandInRequest): Promise<StandInReply> {
    const name = typeof q.body.name === 'string' ? q.body.name : '';
    const slug = typeof q.body.path === 'string' && q.body.path ? q.body.path : name;
    if (!name || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(slug)) {
      return { status: 400, body: { message: { path: ['can contain only letters, digits, "_", "-" and "."'] } } };
    }
    let group: Group | null = null;
    if (q.body.namespace_id !== undefined && q.body.namespace_id !== null) {
      group = this.groups.find((g) => g.id === Number(q.body.namespace_id)) ?? null;
      if (!group) return { status: 404, body: { message: '404 Namespace Not Found' } };
    }
    const fullPath = `${group ? group.path : q.user.username}/${slug}`;
    if (this.projects.some((p) => p.path === fullPath)) {
      return {
        status: 400,
        body: { message: { name: ['has already been taken'], path: ['has already been taken'] } },
      };
    }
    const defaultBranch = typeof q.body.default_branch === 'string' ? q.body.default_branch : 'main';
    const withReadme = q.body.initialize_with_readme === true || q.body.initialize_with_readme === 'true';
    const bare = withReadme
      ? await createBareRepository(this.reposDir, fullPath, defaultBranch)
      : await createEmptyBareRepository(this.reposDir, fullPath, defaultBranch);
    const project: Project = {
      id: this.nextId++,
      path: fullPath,
      bare,
      defaultBranch,
      group,
      description: typeof q.body.description === 'string' ? q.body.description : '',
      visibility: typeof q.body.visibility === 'string' ? q.body.visibility : 'private',
      mergeRequests: [],
      issues: [],
      pipelines: [],
    };
    this.projects.push(project);
    return { status: 201, body: this.projectJson(project) };
  }

  private async createMergeRequest(q: StandInRequest, p: Project): Promise<StandInReply> {
    const source = String(q.body.source_branch ?? '');
    const target = String(q.body.target_branch ?? '');
    const title = String(q.body.title ?? '');
    if (!source || !target || !title)
      return { status: 400, body: { message: 'source_branch, target_branch, title are missing' } };
    if (!(await branchSha(p.bare, source))) return { status: 422, body: { message: ['Source branch does not exist'] } };
    const open = p.mergeRequests.find(
      (m) => m.state === 'opened' && m.sourceBranch === source && m.targetBranch === target,
    );
    if (open) {
      return {
        status: 409,
        body: { message: [`Another open merge request already exists for this source branch: !${open.iid}`] },
      };
    }
    const mr: MergeRequest = {
      id: this.nextId++,
      iid: p.mergeRequests.length + 1,
      title,
      description: String(q.body.description ?? ''),
      sourceBranch: source,
      targetBranch: target,
      state: 'opened',
      mergeCommitSha: null,
      squashCommitSha: null,
      notes: [],
      approvedBy: [],
    };
    p.mergeRequests.push(mr);
    return { status: 201, body: await this.mrJson(p, mr) };
  }

  private async editMergeRequest(q: StandInRequest, p: Project, mr: MergeRequest): Promise<StandInReply> {
    if (typeof q.body.title === 'string') mr.title = q.body.title;
    if (typeof q.body.description === 'string') mr.description = q.body.description;
    if (q.body.state_event === 'close') mr.state = 'closed';
    return { status: 200, body: await this.mrJson(p, mr) };
  }

  private async diffs(q: StandInRequest, p: Project, mr: MergeRequest): Promise<StandInReply> {
    const head = await branchSha(p.bare, mr.sourceBranch);
    const target = await branchSha(p.bare, mr.targetBranch);
    if (!head || !target) return this.paged(q, []);
    const { files } = await branchDiff(p.bare, target, head);
    return this.paged(
      q,
      files.map((f) => ({
        old_path: f.oldPath,
        new_path: f.newPath,
        a_mode: '100644',
        b_mode: '100644',
        diff: f.diff,
        new_file: f.status === 'added',
        renamed_file: f.oldPath !== f.newPath,
        deleted_file: f.status === 'removed',
      })),
    );
  }

  private addNote(q: StandInRequest, mr: MergeRequest): StandInReply {
    const body = String(q.body.body ?? '');
    if (!body) return { status: 400, body: { message: 'body is missing' } };
    const note: Note = { id: this.nextId++, body, author: q.user.username, position: null };
    mr.notes.push(note);
    return { status: 201, body: this.noteJson(note) };
  }

  private async addDiscussion(q: StandInRequest, p: Project, mr: MergeRequest): Promise<StandInReply> {
    const body = String(q.body.body ?? '');
    const position = q.body.position as Record<string, unknown> | undefined;
    if (!body) return { status: 400, body: { message: 'body is missing' } };
    let where: Note['position'] = null;
    if (position) {
      const head = await branchSha(p.bare, mr.sourceBranch);
      const newPath = String(position.new_path ?? '');
      const newLine = Number(position.new_line);
      if (
        position.position_type !== 'text' ||
        !newPath ||
        !Number.isInteger(newLine) ||
        !position.base_sha ||
        !position.start_sha
      ) {
        return { status: 400, body: { message: '400 Bad request - Note {:line_code=>["can\'t be blank"]}' } };
      }
      if (position.head_sha !== head) {
        return { status: 400, body: { message: '400 Bad request - Note {:position=>["is outdated"]}' } };
      }
      where = { new_path: newPath, new_line: newLine, head_sha: String(position.head_sha) };
    }
    const note: Note = { id: this.nextId++, body, author: q.user.username, position: where };
    mr.notes.push(note);
    return { status: 201, body: this.discussionJson(note) };
  }

  private approve(q: StandInRequest, mr: MergeRequest): StandInReply {
    // GitLab answers a second approval by the same user 401.
    if (mr.approvedBy.includes(q.user.username)) return { status: 401, body: { message: '401 Unauthorized' } };
    if (mr.state !== 'opened') return { status: 401, body: { message: '401 Unauthorized' } };
    mr.approvedBy.push(q.user.username);
    return { status: 201, body: this.approvalsJson(mr) };
  }

  private async merge(q: StandInRequest, p: Project, mr: MergeRequest): Promise<StandInReply> {
    if (mr.state !== 'opened') return { status: 405, body: { message: '405 Method Not Allowed' } };
    const head = await branchSha(p.bare, mr.sourceBranch);
    if (!head) return { status: 422, body: { message: 'Branch cannot be merged' } };
    if (typeof q.body.sha === 'string' && q.body.sha !== head) {
      return { status: 409, body: { message: 'SHA does not match HEAD of source branch' } };
    }
    // GitLab's MergeRequest#squash_on_merge?: the project's setting wins over the request's `squash`.
    const option = p.squashOption ?? 'default_off';
    const squash = option === 'always' || (option !== 'never' && q.body.squash === true);
    const message = squash
      ? String(q.body.squash_commit_message ?? mr.title)
      : String(
          q.body.merge_commit_message ??
            `Merge branch '${mr.sourceBranch}' into '${mr.targetBranch}'\n\n${mr.title}\n\nSee merge request ${p.path}!${mr.iid}`,
        );
    const merged = await mergeBranches(p.bare, { source: mr.sourceBranch, target: mr.targetBranch, squash, message });
    if (merged.status !== 'merged') return { status: 422, body: { message: 'Branch cannot be merged' } };
    mr.state = 'merged';
    if (squash) mr.squashCommitSha = merged.sha;
    mr.mergeCommitSha = squash ? null : merged.sha;
    return { status: 200, body: await this.mrJson(p, mr) };
  }

  // --- pipelines ----------------------------------------------------------------------------------------------

  private listPipelines(q: StandInRequest, p: Project): StandInReply {
    const sha = q.url.searchParams.get('sha');
    const list = p.pipelines.filter((x) => !sha || x.sha === sha).sort((a, b) => b.id - a.id);
    return this.paged(
      q,
      list.map((x) => ({
        id: x.id,
        iid: x.id,
        project_id: p.id,
        sha: x.sha,
        ref: x.ref,
        status: x.status,
        source: 'push',
        web_url: `${this.url}/${p.path}/-/pipelines/${x.id}`,
      })),
    );
  }

  private listJobs(q: StandInRequest, p: Project): StandInReply {
    const pipeline = p.pipelines.find((x) => x.id === Number(q.params[1]));
    if (!pipeline) return { status: 404, body: { message: '404 Not found' } };
    return this.paged(
      q,
      pipeline.jobs.map((j) => ({
        id: j.id,
        name: j.name,
        stage: j.stage,
        status: j.status,
        pipeline: { id: pipeline.id, sha: pipeline.sha, status: pipeline.status },
        web_url: `${this.url}/${p.path}/-/jobs/${j.id}`,
      })),
    );
  }

  private trace(q: StandInRequest, p: Project): StandInReply {
    const job = p.pipelines.flatMap((x) => x.jobs).find((j) => j.id === Number(q.params[1]));
    if (!job) return { status: 404, body: { message: '404 Not found' } };
    return { status: 200, text: job.trace };
  }

  // --- issues and epics ---------------------------------------------------------------------------------------

  private createIssue(q: StandInRequest, p: Project): StandInReply {
    const title = String(q.body.title ?? '');
    if (!title) return { status: 400, body: { message: 'title is missing' } };
    const issue: Issue = {
      id: this.nextId++,
      iid: p.issues.length + 1,
      title,
      description: String(q.body.description ?? ''),
      labels: labelList(q.body.labels),
      weight: typeof q.body.weight === 'number' ? q.body.weight : null,
      state: 'opened',
      links: [],
      epicIid: null,
      author: q.user.username,
      updatedAt: new Date().toISOString(),
    };
    p.issues.push(issue);
    return { status: 201, body: this.issueJson(p, issue) };
  }

  private editIssue(q: StandInRequest, p: Project, i: Issue): StandInReply {
    if (q.body.labels !== undefined) i.labels = labelList(q.body.labels);
    if (q.body.add_labels !== undefined) i.labels = [...new Set([...i.labels, ...labelList(q.body.add_labels)])];
    if (q.body.remove_labels !== undefined) {
      const remove = labelList(q.body.remove_labels);
      i.labels = i.labels.filter((l) => !remove.includes(l));
    }
    if (typeof q.body.weight === 'number') i.weight = q.body.weight;
    if (typeof q.body.title === 'string') i.title = q.body.title;
    if (q.body.state_event === 'close') i.state = 'closed';
    i.updatedAt = new Date().toISOString();
    return { status: 200, body: this.issueJson(p, i) };
  }

  private linkIssue(q: StandInRequest, p: Project, i: Issue): StandInReply {
    const targetProject = this.findProject(String(q.body.target_project_id ?? ''));
    const target = targetProject?.issues.find((x) => x.iid === Number(q.body.target_issue_iid));
    if (!targetProject || !target) return { status: 404, body: { message: '404 Not found' } };
    if (i.links.includes(target.iid)) return { status: 409, body: { message: 'Issue(s) already assigned' } };
    i.links.push(target.iid);
    return {
      status: 201,
      body: {
        source_issue: this.issueJson(p, i),
        target_issue: this.issueJson(targetProject, target),
        link_type: String(q.body.link_type ?? 'relates_to'),
      },
    };
  }

  private linkedIssues(p: Project, i: Issue): unknown[] {
    return i.links
      .map((iid) => p.issues.find((x) => x.iid === iid))
      .filter((x): x is Issue => x !== undefined)
      .map((x) => ({ ...this.issueJson(p, x), issue_link_id: x.id, link_type: 'relates_to' }));
  }

  private createEpic(q: StandInRequest, g: Group): StandInReply {
    if (!g.epics) return { status: 403, body: { message: '403 Forbidden' } };
    const title = String(q.body.title ?? '');
    if (!title) return { status: 400, body: { message: 'title is missing' } };
    const epic: Epic = {
      id: this.nextId++,
      iid: g.epicList.length + 1,
      title,
      description: String(q.body.description ?? ''),
      labels: labelList(q.body.labels),
      issueIds: [],
    };
    g.epicList.push(epic);
    return {
      status: 201,
      body: {
        id: epic.id,
        iid: epic.iid,
        group_id: g.id,
        title,
        description: epic.description,
        labels: epic.labels,
        web_url: `${this.url}/groups/${g.path}/-/epics/${epic.iid}`,
      },
    };
  }

  private addEpicIssue(q: StandInRequest, g: Group): StandInReply {
    const epic = g.epicList.find((e) => e.iid === Number(q.params[1]));
    const issueId = Number(q.params[2]);
    const owner = this.projects.find((p) => p.issues.some((i) => i.id === issueId));
    const issue = owner?.issues.find((i) => i.id === issueId);
    if (!epic || !owner || !issue) return { status: 404, body: { message: '404 Not found' } };
    if (!epic.issueIds.includes(issueId)) epic.issueIds.push(issueId);
    issue.epicIid = epic.iid;
    return {
      status: 201,
      body: { id: this.nextId++, epic: { id: epic.id, iid: epic.iid }, issue: this.issueJson(owner, issue) },
    };
  }

  private epicIssues(q: StandInRequest, g: Group): StandInReply {
    const epic = g.epicList.find((e) => e.iid === Number(q.params[1]));
    if (!epic) return { status: 404, body: { message: '404 Not found' } };
    const issues = this.projects.flatMap((p) =>
      p.issues.filter((i) => epic.issueIds.includes(i.id)).map((i) => this.issueJson(p, i)),
    );
    return this.paged(q, issues);
  }
}

function labelList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String).filter(Boolean);
  if (typeof value === 'string')
    return value
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean);
  return [];
}

async function mergeBase(bare: string, a: string, b: string): Promise<string | null> {
  const result = await bareGit(bare, ['merge-base', a, b], [1]);
  return result.exitCode === 0 ? result.stdout.trim() : null;
}
