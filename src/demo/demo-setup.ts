/**
 * @module Where a demo run starts: the unfinished (running) demo story of this data dir when there is one (resume),
 * else a clean start — a new sample repository in the first free `<data-dir>/demo/sample-repo[-N]`, registered like `repos
 * add` does (test command `node --test`), and a new story on it. An earlier run's repository, branches and rows are
 * never touched, so running the demo again cannot corrupt anything.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { addRepository, type RepositoryRow } from '../forge/repositories.js';
import type { Database } from '../store/schema.js';
import type { WorkflowDeps, WorkflowRow } from '../workflow/advance-workflow.js';
import { createStory } from '../workflow/stories.js';
import { createSampleRepo, SAMPLE_STORY, SAMPLE_TEST_COMMAND } from './sample-repo.js';

/** The actor of everything the demo does itself (creating the story, approving on a human's behalf). */
export const DEMO_ACTOR = 'demo';
const REPO_NAME = 'demo-sample';
const MAX_SLOTS = 1000;

export interface DemoStart {
  kind: 'resumed' | 'clean';
  workflow: WorkflowRow;
  repo: RepositoryRow;
  /** The sample repository's commit on `main` when the story started (a clean start: now). */
  initialCommit: string | null;
  /** A clean start after an earlier demo story of this data dir: that story's id and status. */
  previous?: { id: number; status: string };
}

/** The directory demo repositories of this data dir live in. */
export function demoDir(dataDir: string): string {
  return path.join(dataDir, 'demo');
}

/** The demo stories whose sample repository lives in this data dir, newest first. */
async function demoStories(db: Kysely<Database>, dataDir: string) {
  const root = demoDir(fs.realpathSync(dataDir)) + path.sep;
  const rows = await db
    .selectFrom('workflows')
    .innerJoin('repositories', 'repositories.id', 'workflows.repo_id')
    .selectAll('workflows')
    .select(['repositories.location as repo_location'])
    .where('workflows.created_by', '=', DEMO_ACTOR)
    .where('workflows.kind', '=', 'story')
    .orderBy('workflows.id', 'desc')
    .execute();
  return rows.filter((row) => row.repo_location.startsWith(root));
}

export async function startOrResumeDemo(
  db: Kysely<Database>,
  deps: WorkflowDeps,
  options: { dataDir: string; now: number },
): Promise<DemoStart> {
  const stories = await demoStories(db, options.dataDir);
  const found = stories.find((story) => story.status === 'running');
  if (found) {
    const { repo_location: _location, ...workflow } = found;
    const repo = await db
      .selectFrom('repositories')
      .selectAll()
      .where('id', '=', workflow.repo_id as number)
      .executeTakeFirstOrThrow();
    return { kind: 'resumed', workflow, repo, initialCommit: null };
  }
  const dir = freeDirectory(demoDir(options.dataDir));
  const name = await freeName(db);
  const sample = await createSampleRepo(dir);
  const repo = await addRepository(
    db,
    { path: sample.path, name, testCommand: SAMPLE_TEST_COMMAND, actor: DEMO_ACTOR, now: options.now },
    options.dataDir,
  );
  const workflow = await createStory(db, deps, {
    repo: repo.name,
    title: SAMPLE_STORY.title,
    body: SAMPLE_STORY.body,
    actor: DEMO_ACTOR,
  });
  const last = stories[0];
  return {
    kind: 'clean',
    workflow,
    repo,
    initialCommit: sample.head,
    ...(last ? { previous: { id: last.id, status: last.status } } : {}),
  };
}

/** `sample-repo`, else `sample-repo-2`, `-3`, ...: the first that does not exist. */
function freeDirectory(parent: string): string {
  for (let n = 1; n <= MAX_SLOTS; n++) {
    const dir = path.join(parent, n === 1 ? 'sample-repo' : `sample-repo-${n}`);
    if (!fs.existsSync(dir)) return dir;
  }
  throw new Error(`${parent} already holds ${MAX_SLOTS} sample repositories; remove some`);
}

/** `demo-sample`, else `demo-sample-2`, ...: the first name no repository has (the database may be shared). */
async function freeName(db: Kysely<Database>): Promise<string> {
  const taken = new Set(
    (await db.selectFrom('repositories').select('name').where('name', 'like', `${REPO_NAME}%`).execute()).map(
      (r) => r.name,
    ),
  );
  for (let n = 1; n <= MAX_SLOTS; n++) {
    const name = n === 1 ? REPO_NAME : `${REPO_NAME}-${n}`;
    if (!taken.has(name)) return name;
  }
  throw new Error(`${MAX_SLOTS} demo repositories are registered; remove some with "autodev repos remove"`);
}
