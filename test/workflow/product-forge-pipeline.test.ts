/**
 * @module The product pipeline with `products.forge: gitlab`, on both databases, against the GitLab stand-in
 * (documented REST payloads, its repositories over real git HTTP; gitlab.com is what this machine cannot reach): an
 * approved project gets a new GitLab project in the configured group (`POST /projects` with `namespace_id`) with a
 * first commit pushed, registered as a gitlab repository cloned to `<data-dir>/projects/<name>/`; its story's merge
 * request is opened and merged in the stand-in, the clone follows the merge, and the product check reads the merged
 * files there. A retry after a crash that made the project finds it; a project of that name made by someone else
 * fails the task with PROJECT_REPO_TAKEN and registers nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { agentDeadLetterHook } from '../../src/agents/agent-supervisor.js';
import { createAgentTaskHandler, type AgentRuntimeDeps } from '../../src/agents/run-agent-task.js';
import type { GateRunDeps } from '../../src/agents/run-gates.js';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import { projectMarker, projectRepositoryCreator } from '../../src/forge/create-remote-project.js';
import { runWorker } from '../../src/queue/run-worker.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import type { WorkflowDeps } from '../../src/workflow/advance-workflow.js';
import { decideApproval, listApprovals } from '../../src/workflow/approvals.js';
import { listProjects, projectDetail } from '../../src/workflow/projects.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { gitOutput } from '../../src/workspace/git.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { bareGit } from '../support/forge-stand-in-http.js';
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
let gitlab: GitLabStandIn;

beforeAll(async () => {
  gitlab = await new GitLabStandIn().start();
  gitlab.addUser(TOKEN, 'swarm-bot');
  gitlab.createGroup(GROUP);
});
afterAll(async () => {
  await gitlab?.close();
});

let counter = 0;

/** The PM's `build_product` result (stands for the agent's; `completeWithGates` checks it against the contract). */
function proposal(name: string) {
  return {
    status: 'done',
    summary: 'A proposal for a tiny slug helper.',
    name,
    title: `Slugger ${name}`,
    problem: 'Everyone rewrites slugify.',
    audience: 'JavaScript developers',
    spec_markdown: '# Slugger\n\n`slugify(text)` as an npm package.',
    ratings: {
      market: { score: 5, reason: 'Small but steady' },
      feasibility: { score: 10, reason: 'One function' },
      effort: { score: 9, reason: 'An hour' },
      risk: { score: 8, reason: 'Little can go wrong' },
    },
    targets: ['npm'],
    estimated_tokens: 50_000,
  };
}

function productFiles(name: string): Record<string, string> {
  return {
    'product.json': JSON.stringify({
      name,
      version: '1.0.0',
      title: `Slugger ${name}`,
      summary: 'slugify(text), nothing else.',
      targets: { npm: { package_dir: 'package' } },
    }),
    'README.md': `# ${name}\n\nslugify(text).\n`,
    'NPM_README.md': `# ${name}\n\n\`npm install ${name}\`\n`,
    'package/package.json': JSON.stringify({ name, version: '1.0.0', main: 'index.js' }),
    'package/index.js': 'exports.slugify = (s) => s.toLowerCase().replace(/\\W+/g, "-");\n',
  };
}

describe.each(DIALECTS)('%s: a product on its own GitLab project (GitLab stand-in)', (dialect) => {
  const t = useTestDatabase(dialect);
  let queue: TaskQueue;
  let deps: WorkflowDeps;
  let gates: GateRunDeps;
  let dataDir: string;
  let runtime: AgentRuntimeDeps;
  let name: string;

  beforeEach(() => {
    counter += 1;
    name = `slugger-${dialect}-${process.pid}-${counter}`;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-product-forge-'));
    queue = new TaskQueue(t.handle);
    deps = workflowDeps(queue, 3);
    gates = gateDeps(queue);
    runtime = {
      queue,
      settings: SettingsSchema.parse({
        sandbox: { mode: 'bubblewrap' },
        products: { forge: 'gitlab', base_url: gitlab.url, namespace: GROUP },
      }),
      dataDir,
      logger: pino({ level: 'silent' }),
      env: { PATH: process.env.PATH, HOME: os.homedir(), GITLAB_TOKEN: TOKEN },
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

  /** The devops worker loop runs one pending task of `type` (deterministic: no session) to its end. */
  async function runDevops(type: string): Promise<string> {
    const stop = new AbortController();
    let settled!: (outcome: string) => void;
    const ended = new Promise<string>((resolve) => (settled = resolve));
    const loop = runWorker({
      queue,
      workerId: 'devops-1',
      types: [type],
      signal: stop.signal,
      idleWaitMs: 20,
      handler: createAgentTaskHandler(runtime, 'devops'),
      onDeadLetter: agentDeadLetterHook(runtime, 'devops-1'),
      onTaskEnd: (_task, outcome) => settled(outcome),
    });
    const outcome = await ended;
    stop.abort();
    await loop;
    return outcome;
  }

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
    await complete('build_product', proposal(name));
    const [project] = await listProjects(t.handle.db, { status: 'proposed' });
    await decideApproval(t.handle.db, deps, {
      id: (await pendingApproval('project')).id,
      decision: 'approved',
      actor: 'cli:alice',
    });
    return project!;
  }

  it('an approved project gets a GitLab project (a crashed first attempt found, not made twice); its story merges there', async () => {
    const project = await approvedProject();
    const fullPath = `${GROUP}/${name}`;
    // A first attempt made the project and crashed before its first commit and the registration.
    const crashed = await projectRepositoryCreator(runtime.settings.products, {
      dataDir,
      env: runtime.env,
    }).ensureProject({ name, title: project.title, marker: projectMarker(project.id) });
    expect(crashed).toMatchObject({ project: fullPath, created: true });

    expect(await runDevops('create_project_repo')).toBe('completed');
    expect(gitlab.projectPaths().filter((p) => p === fullPath)).toHaveLength(1);
    expect(gitlab.project(fullPath).description).toContain(projectMarker(project.id));
    const repoDir = path.join(dataDir, 'projects', name);
    const repo = await t.handle.db
      .selectFrom('repositories')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    expect(repo).toMatchObject({ forge: 'gitlab', location: repoDir, remote_url: gitlab.remoteUrl(fullPath) });
    expect(JSON.parse(repo.settings)).toMatchObject({ forge_project: fullPath, forge_base_url: gitlab.url });
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
    const sha = await branchWithFiles(repoDir, branch, 'main', productFiles(name));
    await complete('implement_feature', implementation(branch, sha, Object.keys(productFiles(name))));
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
    const [mr] = gitlab.project(fullPath).mergeRequests;
    expect(mr).toMatchObject({ sourceBranch: branch, targetBranch: 'main', state: 'merged' });
    const merged = await bareGit(gitlab.project(fullPath).bare, ['show', 'main:product.json']);
    expect(merged.stdout).toContain(name);
    const row = await t.handle.db
      .selectFrom('merge_requests')
      .selectAll()
      .where('source_branch', '=', branch)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'merged', external_id: String(mr!.iid) });
    // The clone at the product directory follows the forge's main, files and all.
    expect(await gitOutput(repoDir, ['rev-parse', 'main'])).toBe(
      (await bareGit(gitlab.project(fullPath).bare, ['rev-parse', 'main'])).stdout.trim(),
    );
    expect(fs.readFileSync(path.join(repoDir, 'product.json'), 'utf8')).toContain(name);

    expect(await runDevops('deploy')).toBe('completed');
    const ready = await projectDetail(t.handle.db, project.id);
    expect(ready).toMatchObject({ status: 'awaiting_publish', product_dir: repoDir });
  });

  it('a GitLab project of that name made by someone else fails the task with PROJECT_REPO_TAKEN; nothing is registered', async () => {
    await gitlab.createProject(`${GROUP}/${name}`);
    const project = await approvedProject();
    const outcome = await runDevops('create_project_repo');
    expect(outcome).toBe('failed');
    const task = await t.handle.db
      .selectFrom('tasks')
      .select(['status', 'error'])
      .where('type', '=', 'create_project_repo')
      .executeTakeFirstOrThrow();
    expect(task.error).toMatch(/GitLab already has acme\/products\/slugger-.* which Auto-Dev did not make/);
    expect(await t.handle.db.selectFrom('repositories').select('id').execute()).toEqual([]);
    expect(fs.existsSync(path.join(dataDir, 'projects', name))).toBe(false);
    // Nothing was pushed to someone else's project.
    expect(
      (await bareGit(gitlab.project(`${GROUP}/${name}`).bare, ['rev-list', '--count', 'main'])).stdout.trim(),
    ).toBe('1');
    expect((await projectDetail(t.handle.db, project.id)).repo).toBeNull();
  });
});
