/**
 * @module The product pipeline with `products.forge: gitlab` (both databases) and `github` (one), against the GitLab
 * and GitHub stand-ins (documented REST payloads, repositories over real git HTTP; gitlab.com and github.com are what
 * this machine cannot reach): an approved project gets a new project in the configured group / organization
 * (`POST /projects` with `namespace_id`, `POST /orgs/{org}/repos`) with a first commit pushed, registered as a
 * gitlab/github repository cloned to `<data-dir>/projects/<name>/`; its story's merge request is opened and merged
 * in the stand-in, the clone follows the merge, and the product check reads the merged files there. A retry after a
 * crash that made the project finds it; a project of that name made by someone else fails the task with
 * PROJECT_REPO_TAKEN and registers nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRuntimeDeps } from '../../src/agents/run-agent-task.js';
import type { GateRunDeps } from '../../src/agents/run-gates.js';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import { projectMarker, projectRepositoryCreator } from '../../src/forge/create-remote-project.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import type { WorkflowDeps } from '../../src/workflow/advance-workflow.js';
import { decideApproval, listApprovals } from '../../src/workflow/approvals.js';
import { listProjects, projectDetail } from '../../src/workflow/projects.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { gitOutput } from '../../src/workspace/git.js';
import { DIALECTS, ONE_DIALECT, useTestDatabase } from '../support/dialects.js';
import { bareGit } from '../support/forge-stand-in-http.js';
import { ASSESSMENT, slugProductFiles, slugProposal } from '../support/project-fixtures.js';
import { runDevopsTask } from '../support/devops-task.js';
import { GitHubStandIn } from '../support/github-stand-in.js';
import { GitLabStandIn } from '../support/gitlab-stand-in.js';
import {
  branchWithFiles,
  completeWithGates,
  gateDeps,
  implementation,
  REVIEW_OK,
  SEC_OK,
  SPEC,
  STORY,
  TESTS_CLAIMED_OK,
} from './pipeline-fixtures.js';

const TOKEN = 'product-forge-token-0123456789';
const GROUP = 'acme/products';
const ORG = 'acme-products';
let gitlab: GitLabStandIn;
let github: GitHubStandIn;

beforeAll(async () => {
  gitlab = await new GitLabStandIn().start();
  gitlab.addUser(TOKEN, 'swarm-bot');
  gitlab.createGroup(GROUP);
  github = await new GitHubStandIn().start();
  github.addUser(TOKEN, 'swarm-bot');
  github.createOrg(ORG);
});
afterAll(async () => {
  await gitlab?.close();
  await github?.close();
});

/** What differs between the two forges' stand-ins, for one test body. */
interface ForgeUnderTest {
  forge: 'gitlab' | 'github';
  label: string;
  url: () => string;
  namespace: string;
  tokenEnv: string;
  /** Someone else's project of that path (no marker). */
  makeForeign: (fullPath: string) => Promise<unknown>;
  paths: () => string[];
  description: (fullPath: string) => string | null;
  bare: (fullPath: string) => string;
  remoteUrl: (fullPath: string) => string;
  /** The merge requests (pull requests) of the project: source branch, number, merged or not. */
  mergeRequests: (fullPath: string) => { source: string; number: number; merged: boolean }[];
}

const GITLAB: ForgeUnderTest = {
  forge: 'gitlab',
  label: 'GitLab stand-in',
  url: () => gitlab.url,
  namespace: GROUP,
  tokenEnv: 'GITLAB_TOKEN',
  makeForeign: (fullPath) => gitlab.createProject(fullPath),
  paths: () => gitlab.projectPaths(),
  description: (fullPath) => gitlab.project(fullPath).description,
  bare: (fullPath) => gitlab.project(fullPath).bare,
  remoteUrl: (fullPath) => gitlab.remoteUrl(fullPath),
  mergeRequests: (fullPath) =>
    gitlab
      .project(fullPath)
      .mergeRequests.map((m) => ({ source: m.sourceBranch, number: m.iid, merged: m.state === 'merged' })),
};

const GITHUB: ForgeUnderTest = {
  forge: 'github',
  label: 'GitHub stand-in',
  url: () => github.url,
  namespace: ORG,
  tokenEnv: 'GITHUB_TOKEN',
  makeForeign: (fullPath) => github.createRepo(fullPath),
  paths: () => github.repoNames(),
  description: (fullPath) => github.repo(fullPath).description,
  bare: (fullPath) => github.repo(fullPath).bare,
  remoteUrl: (fullPath) => github.remoteUrl(fullPath),
  mergeRequests: (fullPath) =>
    github.repo(fullPath).pulls.map((p) => ({ source: p.head, number: p.number, merged: p.merged })),
};

/** GitLab on both engines (every SQL path); GitHub, whose SQL is the same, on one. */
const CASES: [string, string, ForgeUnderTest][] = [
  ...DIALECTS.map((d): [string, string, ForgeUnderTest] => [d, GITLAB.label, GITLAB]),
  ...ONE_DIALECT.map((d): [string, string, ForgeUnderTest] => [d, GITHUB.label, GITHUB]),
];

let counter = 0;

describe.each(CASES)('%s: a product on its own project in the forge (%s)', (dialectName, _label, f) => {
  const dialect = dialectName as (typeof DIALECTS)[number];
  const t = useTestDatabase(dialect);
  let queue: TaskQueue;
  let deps: WorkflowDeps;
  let gates: GateRunDeps;
  let dataDir: string;
  let runtime: AgentRuntimeDeps;
  let name: string;

  beforeEach(() => {
    counter += 1;
    name = `slugger-${f.forge}-${dialect}-${process.pid}-${counter}`;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-product-forge-'));
    queue = new TaskQueue(t.handle);
    deps = workflowDeps(queue, 3);
    gates = gateDeps(queue);
    runtime = {
      queue,
      settings: SettingsSchema.parse({
        sandbox: { mode: 'bubblewrap' },
        products: { forge: f.forge, base_url: f.url(), namespace: f.namespace },
      }),
      dataDir,
      logger: pino({ level: 'silent' }),
      env: { PATH: process.env.PATH, HOME: os.homedir(), [f.tokenEnv]: TOKEN },
      createProvider: () => {
        throw new Error('no LLM session expected');
      },
      cliEntry: '/nonexistent',
    };
  });
  afterEach(async () => {
    await queue.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const complete = (type: string, result: Record<string, unknown>) =>
    completeWithGates(queue, deps, gates, type, result);

  const runDevops = (type: string) => runDevopsTask(queue, runtime, type);

  async function pendingApproval(kind: string) {
    const pending = (await listApprovals(t.handle.db, { status: 'pending' })).filter((a) => a.kind === kind);
    expect(pending).toHaveLength(1);
    return pending[0]!;
  }

  /** An idea through the PM's proposal and a human's yes: returns the project, its create_project_repo enqueued. */
  async function approvedProject() {
    await queue.enqueue({
      type: 'build_product',
      payload: { idea: 'a slug helper', target: 'npm' },
      createdBy: 'cli:a',
    });
    await complete('build_product', slugProposal(name));
    await complete('evaluate_feasibility', ASSESSMENT);
    const [project] = await listProjects(t.handle.db, { status: 'proposed' });
    await decideApproval(t.handle.db, deps, {
      id: (await pendingApproval('project')).id,
      decision: 'approved',
      actor: 'cli:alice',
    });
    return project!;
  }

  it('an approved project gets its own project in the forge (a crashed first attempt found, not made twice); its story merges there', async () => {
    const project = await approvedProject();
    const fullPath = `${f.namespace}/${name}`;
    // A first attempt made the project and crashed before its first commit and the registration.
    const crashed = await projectRepositoryCreator(runtime.settings.products, {
      dataDir,
      env: runtime.env,
    }).ensureProject({ name, title: project.title, marker: projectMarker(project.id) });
    expect(crashed).toMatchObject({ project: fullPath, created: true });

    expect(await runDevops('create_project_repo')).toBe('completed');
    expect(f.paths().filter((p) => p === fullPath)).toHaveLength(1);
    expect(f.description(fullPath)).toContain(projectMarker(project.id));
    const repoDir = path.join(dataDir, 'projects', name);
    const repo = await t.handle.db
      .selectFrom('repositories')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    expect(repo).toMatchObject({ forge: f.forge, location: repoDir, remote_url: f.remoteUrl(fullPath) });
    expect(JSON.parse(repo.settings)).toMatchObject({ forge_project: fullPath, forge_base_url: f.url() });
    expect(JSON.stringify(repo)).not.toContain(TOKEN);
    expect(fs.readFileSync(path.join(repoDir, '.git', 'config'), 'utf8')).not.toContain(TOKEN);
    const building = await projectDetail(t.handle.db, project.id);
    expect(building).toMatchObject({ status: 'building', repo: name });

    await complete('create_user_story', STORY);
    await complete('write_spec', SPEC);
    await decideApproval(t.handle.db, deps, {
      id: (await pendingApproval('spec')).id,
      decision: 'approved',
      actor: 'cli:alice',
    });
    const branch = `autodev/${building.story_id}-product`;
    const sha = await branchWithFiles(repoDir, branch, 'main', slugProductFiles(name));
    await complete('implement_feature', implementation(branch, sha, Object.keys(slugProductFiles(name))));
    await complete('review_mr', REVIEW_OK);
    await complete('run_tests', TESTS_CLAIMED_OK);
    await complete('security_scan', SEC_OK);
    await decideApproval(t.handle.db, deps, {
      id: (await pendingApproval('merge')).id,
      decision: 'approved',
      actor: 'cli:alice',
    });
    // The devops worker's merge: the branch pushed, the merge request opened and merged in the stand-in.
    expect(await runDevops('merge')).toBe('completed');
    const mrs = f.mergeRequests(fullPath);
    expect(mrs).toEqual([{ source: branch, number: expect.any(Number), merged: true }]);
    const merged = await bareGit(f.bare(fullPath), ['show', 'main:product.json']);
    expect(merged.stdout).toContain(name);
    const row = await t.handle.db
      .selectFrom('merge_requests')
      .selectAll()
      .where('source_branch', '=', branch)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'merged', external_id: String(mrs[0]!.number) });
    // The clone at the product directory follows the forge's main, files and all.
    expect(await gitOutput(repoDir, ['rev-parse', 'main'])).toBe(
      (await bareGit(f.bare(fullPath), ['rev-parse', 'main'])).stdout.trim(),
    );
    expect(fs.readFileSync(path.join(repoDir, 'product.json'), 'utf8')).toContain(name);

    expect(await runDevops('deploy')).toBe('completed');
    const ready = await projectDetail(t.handle.db, project.id);
    expect(ready).toMatchObject({ status: 'awaiting_publish', product_dir: repoDir });
  });

  it('a project of that name made by someone else fails the task with PROJECT_REPO_TAKEN; nothing is registered', async () => {
    await f.makeForeign(`${f.namespace}/${name}`);
    const project = await approvedProject();
    const outcome = await runDevops('create_project_repo');
    expect(outcome).toBe('failed');
    const task = await t.handle.db
      .selectFrom('tasks')
      .select(['status', 'error'])
      .where('type', '=', 'create_project_repo')
      .executeTakeFirstOrThrow();
    expect(task.error).toMatch(/(GitLab|GitHub) already has acme.products\/slugger-.* which Auto-Dev did not make/);
    expect(await t.handle.db.selectFrom('repositories').select('id').execute()).toEqual([]);
    expect(fs.existsSync(path.join(dataDir, 'projects', name))).toBe(false);
    // Nothing was pushed to someone else's project.
    expect((await bareGit(f.bare(`${f.namespace}/${name}`), ['rev-list', '--count', 'main'])).stdout.trim()).toBe('1');
    expect((await projectDetail(t.handle.db, project.id)).repo).toBeNull();
  });
});
