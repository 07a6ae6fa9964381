/**
 * @module The product pipeline's deterministic DevOps tasks (no LLM session): `create_project_repo` makes an
 * approved project's own repository where `products.forge` says (`forge/create-remote-project.ts`: a local git
 * repository at `<data-dir>/projects/<name>/`, or a new GitLab/GitHub project with a first commit, cloned to that
 * directory) and registers it (idempotent: a retry finds both), and `publish_product` publishes the checked product
 * directory to each target through `publish/publish-product.ts` (its journals make a retry publish only what is
 * missing), records each target's outcome and URL in the project, and fails the task, naming the targets, when any
 * target is not published.
 * Side effects run outside any transaction; the completing transaction moves the product workflow on.
 */
import path from 'node:path';
import { AutodevError } from '../errors.js';
import { recordEvent } from '../events/record-event.js';
import { addForgeRepository } from '../forge/add-forge-repository.js';
import { projectMarker, projectRepositoryCreator, type ProjectRepository } from '../forge/create-remote-project.js';
import { addRepository } from '../forge/repositories.js';
import { productDirPath } from '../publish/product-dir.js';
import { publishProduct } from '../publish/publish-product.js';
import type { HandlerOutcome, TaskContext } from '../queue/run-worker.js';
import type { Task } from '../queue/task-record.js';
import { environmentProvider } from '../secrets/environment-provider.js';
import { SecretMasker } from '../secrets/secret-masker.js';
import { SecretStore } from '../secrets/secret-store.js';
import { inTransaction } from '../store/in-transaction.js';
import type { Publication } from '../domain/project-schema.js';
import { onWorkflowTaskCompleted } from '../workflow/advance-workflow.js';
import { getProject } from '../workflow/projects.js';
import { workflowDeps } from '../workflow/workflow-deps.js';
import type { AgentRuntimeDeps } from './run-agent-task.js';

function projectIdOf(task: Task): number {
  const id = (task.payload as { project_id?: unknown }).project_id;
  if (typeof id !== 'number') throw new AutodevError('VALIDATION_FAILED', `task ${task.id} names no project_id`);
  return id;
}

function completing(deps: AgentRuntimeDeps, task: Task, context: TaskContext, result: Record<string, unknown>) {
  return {
    result,
    onComplete: async (tx: Parameters<NonNullable<HandlerOutcome['onComplete']>>[0]) => {
      const workflow = workflowDeps(deps.queue, deps.settings.workflow.max_fix_rounds, deps.dataDir);
      await onWorkflowTaskCompleted(tx, workflow, task, result, context.holder.workerId);
    },
  } satisfies HandlerOutcome;
}

export async function runCreateProjectRepoTask(
  deps: AgentRuntimeDeps,
  task: Task,
  context: TaskContext,
): Promise<HandlerOutcome> {
  const db = deps.queue.handle.db;
  const project = await getProject(db, projectIdOf(task));
  const dir = productDirPath(deps.dataDir, project.name);
  let repo = await db.selectFrom('repositories').selectAll().where('name', '=', project.name).executeTakeFirst();
  if (repo && path.resolve(repo.location) !== path.resolve(dir)) {
    throw new AutodevError(
      'REPO_EXISTS',
      `a repository named "${project.name}" already exists at ${repo.location}, not the project's ${dir}`,
    );
  }
  let made: ProjectRepository | undefined;
  if (!repo) {
    const forgeContext = { dataDir: deps.dataDir, env: deps.env };
    const creator = projectRepositoryCreator(deps.settings.products, forgeContext);
    const input = { name: project.name, title: project.title, marker: projectMarker(project.workflow_id) };
    made = await creator.ensureProject(input);
    await creator.ensureInitialCommit(made, input);
    if (context.signal.aborted) throw context.signal.reason ?? new Error('aborted');
    const registration = { name: project.name, actor: context.holder.workerId, now: deps.queue.clock() };
    repo =
      made.forge === 'local'
        ? await addRepository(db, { ...registration, path: dir }, deps.dataDir)
        : await addForgeRepository(
            db,
            {
              ...registration,
              forge: made.forge,
              baseUrl: creator.baseUrl ?? undefined,
              project: made.project,
              tokenEnv: creator.tokenEnv ?? undefined,
              checkoutPath: dir,
            },
            forgeContext,
          );
  }
  const where =
    repo.forge === 'local'
      ? `the local git repository ${repo.name} at ${repo.location}`
      : `the ${repo.forge} repository ${repo.name} (${repo.remote_url ?? '?'}), cloned to ${repo.location}`;
  return completing(deps, task, context, {
    status: 'done',
    summary: `Created and registered ${where}.`,
    repo_id: repo.id,
    repo: repo.name,
    location: repo.location,
    forge: repo.forge,
    ...(repo.remote_url ? { remote_url: repo.remote_url } : {}),
    ...(made?.webUrl ? { web_url: made.webUrl } : {}),
    deterministic: true,
  });
}

/** No store given (tests, the demo): the environment provider over `deps.env`. */
function secretStoreOf(deps: AgentRuntimeDeps): SecretStore {
  if (deps.secrets) return deps.secrets;
  const settings = deps.settings.secrets;
  const provider = environmentProvider({ prefix: settings.prefix, env: deps.env, knownNames: [] });
  return new SecretStore(provider, settings.prefix, new SecretMasker());
}

export async function runPublishProductTask(
  deps: AgentRuntimeDeps,
  task: Task,
  context: TaskContext,
): Promise<HandlerOutcome> {
  const db = deps.queue.handle.db;
  const id = projectIdOf(task);
  const project = await getProject(db, id);
  if (project.product_dir === null) {
    throw new AutodevError('PRODUCT_INVALID', `project ${id} has no checked product directory to publish`);
  }
  const store = secretStoreOf(deps);
  const masker = new SecretMasker();
  const published = await publishProduct({
    productDir: project.product_dir,
    stateDir: path.join(deps.dataDir, 'publish-state'),
    endpoints: deps.publishEndpoints,
    readSecret: (name) => store.readSecret(name),
    masker,
    signal: context.signal,
  });
  const at = new Date(deps.queue.clock()).toISOString();
  const publications: Publication[] = published.outcomes.map((o) => ({
    target: o.target,
    status: o.status === 'published' || o.status === 'already_published' ? o.status : 'failed',
    url: o.url,
    error: o.error,
    at,
  }));
  // The outcome is recorded whatever it is: a human sees which targets are out and why the others are not.
  await inTransaction(db, async (tx) => {
    await tx
      .updateTable('projects')
      .set({ publications: JSON.stringify(publications), updated_at: deps.queue.clock() })
      .where('workflow_id', '=', id)
      .execute();
    await recordEvent(tx, {
      kind: 'project.publications_recorded',
      subjectType: 'project',
      subjectId: id,
      actor: context.holder.workerId,
      data: { task_id: task.id, status: published.status, publications },
      now: deps.queue.clock(),
    });
  });
  if (published.status !== 'published') {
    const failedTargets = publications.filter((p) => p.status === 'failed');
    throw new AutodevError(
      'PUBLISH_FAILED',
      `published ${publications.length - failedTargets.length} of ${publications.length} targets; ` +
        failedTargets.map((p) => `${p.target}: ${p.error ?? 'failed'}`).join('; ') +
        ` — retry with "autodev projects publish-retry ${id}" (what is published is not sent again)`,
    );
  }
  return completing(deps, task, context, {
    status: 'done',
    summary: `Published ${published.product}@${published.version} to ${publications.map((p) => p.target).join(', ')}.`,
    target: publications.map((p) => p.target).join(','),
    outcome: 'published',
    version: published.version,
    publications,
    deterministic: true,
  });
}
