/**
 * @module The PM's and the reviewer's results written into GitLab and GitHub (`agents/forge-writes.ts`), on both
 * engines, against the forge stand-ins (documented REST payloads; test/support/gitlab-stand-in.ts, github-stand-in.ts)
 * through the real clients chosen by `forgeClientFor`: epics (a GitLab group epic, a parent issue where the group has
 * none, GitHub sub-issues) with their stories, priorities, review line comments; a retry, after a forge failure or
 * a crash mid-call, writes nothing twice.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeResultToForge, type ForgeWriteDeps } from '../../src/agents/forge-writes.js';
import type { ForgeClient } from '../../src/forge/forge-client.js';
import { forgeClientFor } from '../../src/forge/forge-clients.js';
import type { RepositoryRow } from '../../src/forge/repositories.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import type { Task } from '../../src/queue/task-record.js';
import { cloneForTest, commitOnBranch } from '../support/forge-clone.js';
import { runCliInProcessOn } from '../support/in-process-cli.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { GitHubStandIn } from '../support/github-stand-in.js';
import { GitLabStandIn } from '../support/gitlab-stand-in.js';

const TOKEN = 'pm-token';
let gitlab: GitLabStandIn;
let github: GitHubStandIn;
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-writes-'));
  gitlab = await new GitLabStandIn({ maxPerPage: 2 }).start();
  gitlab.addUser(TOKEN, 'swarm-bot');
  github = await new GitHubStandIn({ maxPerPage: 2 }).start();
  github.addUser(TOKEN, 'swarm-bot');
});
afterAll(async () => {
  await gitlab?.close();
  await github?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const EPIC_RESULT = {
  status: 'done' as const,
  summary: 'An epic for sign-in, in two stories.',
  epic: { title: 'Sign-in', body: 'Users sign in with email.' },
  stories: [
    {
      title: 'Sign in with email',
      body: 'As a user, I want to sign in with my email, so that I see my data.',
      acceptance_criteria: ['A wrong password is refused'],
      priority: 8,
      labels: ['auth'],
    },
    {
      title: 'Reset a password',
      body: 'As a user, I want to reset my password, so that I can get back in.',
      acceptance_criteria: ['The reset link expires after an hour'],
    },
  ],
};

describe.each(DIALECTS)('%s: PM and reviewer results in the forge', (dialect) => {
  const t = useTestDatabase(dialect);
  let queue: TaskQueue;

  beforeAll(() => {
    queue = new TaskQueue(t.handle, DEFAULT_QUEUE_SETTINGS);
  });
  afterAll(async () => {
    await queue.close();
  });

  function deps(): ForgeWriteDeps {
    return {
      db: t.handle.db,
      clock: () => Date.now(),
      clientFor: (row) => forgeClientFor(row, { dataDir: dir, env: { FORGE_TOKEN: TOKEN } }),
      swarmLabel: 'autodev',
      actor: 'worker-test',
    };
  }

  async function gitlabRepository(options: { epics: boolean }) {
    const project = `${options.epics ? 'premium' : 'free'}-${++n}/app`;
    const state = await gitlab.createProject(project, { epics: options.epics });
    return { project, state, row: await register('gitlab', project, gitlab.remoteUrl(project), gitlab.url) };
  }

  async function githubRepository() {
    const project = `owner-${++n}/web`;
    const state = await github.createRepo(project);
    return { project, state, row: await register('github', project, github.remoteUrl(project), github.url) };
  }

  async function register(forge: 'gitlab' | 'github', project: string, remoteUrl: string, baseUrl: string) {
    const clone = await cloneForTest(remoteUrl, TOKEN, path.join(dir, `${dialect}-${project}`));
    return t.handle.db
      .insertInto('repositories')
      .values({
        name: project.replace('/', '-'),
        forge,
        location: clone,
        remote_url: remoteUrl,
        default_branch: 'main',
        test_command: null,
        deploy_command: null,
        lint_command: null,
        settings: JSON.stringify({ forge_base_url: baseUrl, forge_project: project, forge_token_env: 'FORGE_TOKEN' }),
        created_at: 1,
        updated_at: 1,
      })
      .returningAll()
      .executeTakeFirstOrThrow() as Promise<RepositoryRow>;
  }

  function pmTask(type: string, repo: RepositoryRow, payload: Record<string, unknown> = {}): Promise<Task> {
    return queue.enqueue({ type, payload, repoId: repo.id, createdBy: 'pm-agent' });
  }

  it('files a GitLab group epic (stand-in with epics) and its stories labelled for the swarm; a retry files nothing twice', async () => {
    const { project, state, row } = await gitlabRepository({ epics: true });
    const task = await pmTask('create_epic', row);
    const first = await writeResultToForge(deps(), task, row, EPIC_RESULT);
    expect(first?.epic).toMatchObject({ form: 'epic', external_id: '1' });
    const epics = gitlab.epics(project.split('/')[0]!);
    expect(epics.map((e) => e.title)).toEqual(['Sign-in']);
    expect(state.issues.map((i) => [i.title, i.labels])).toEqual([
      ['Sign in with email', ['autodev', 'auth', 'priority::8']],
      ['Reset a password', ['autodev']],
    ]);
    expect(state.issues[0]!.description).toContain('- [ ] A wrong password is refused');
    expect(epics[0]!.issueIds.sort()).toEqual(state.issues.map((i) => i.id).sort());

    const again = await writeResultToForge(deps(), task, row, EPIC_RESULT);
    expect(again).toEqual(first);
    expect(gitlab.epics(project.split('/')[0]!)).toHaveLength(1);
    expect(state.issues).toHaveLength(2);
    const written = await t.handle.db.selectFrom('events').select('kind').where('kind', 'like', 'forge.%').execute();
    expect(written.map((e) => e.kind)).toEqual(Array(5).fill('forge.written'));
  });

  it('files a parent issue with linked stories where the GitLab group has no epics (stand-in), and says so', async () => {
    const { project, state, row } = await gitlabRepository({ epics: false });
    const task = await pmTask('create_epic', row);
    const summary = await writeResultToForge(deps(), task, row, EPIC_RESULT);
    expect(summary?.epic).toMatchObject({ form: 'parent_issue', external_id: '1' });
    expect(gitlab.epics(project.split('/')[0]!)).toEqual([]);
    expect(state.issues.map((i) => i.title)).toEqual(['Sign-in', 'Sign in with email', 'Reset a password']);
    expect(state.issues[0]!.labels).toEqual([]);
    expect(state.issues[0]!.links).toEqual([2, 3]);

    // `autodev tasks show` says which form the epic took.
    await t.handle.db
      .updateTable('tasks')
      .set({ result: JSON.stringify({ ...EPIC_RESULT, forge: summary }) })
      .where('id', '=', task.id)
      .execute();
    const shown = await runCliInProcessOn(t, ['tasks', 'show', String(task.id)]);
    expect(shown.stdout).toMatch(
      /forge:\s+5 of 5 writes done in GitLab; epic 1 \S+ is a parent issue its stories link to \(the group has no epics\)/,
    );
  });

  it('files a GitHub issue with the stories as its sub-issues (stand-in)', async () => {
    const { state, row } = await githubRepository();
    const task = await pmTask('create_epic', row);
    const summary = await writeResultToForge(deps(), task, row, EPIC_RESULT);
    expect(summary?.epic).toMatchObject({ form: 'epic', external_id: '1' });
    expect(state.issues.map((i) => i.title)).toEqual(['Sign-in', 'Sign in with email', 'Reset a password']);
    expect(state.issues[0]!.subIssueIds).toEqual([state.issues[1]!.id, state.issues[2]!.id]);
    expect(state.issues[1]!.labels).toEqual(['autodev', 'auth', 'priority::8']);
  });

  it('after a forge failure mid-plan the retry carries out the rest of the same plan, once (GitHub stand-in)', async () => {
    const { state, row } = await githubRepository();
    const task = await pmTask('create_user_story', row);
    const stories = { status: 'done' as const, summary: 'Two stories.', stories: EPIC_RESULT.stories };
    // The second story's call fails as a dropped connection would (a stand-in for the network, around the client).
    let posts = 0;
    const failing = deps();
    const original = failing.clientFor;
    failing.clientFor = (r) => {
      const client = original(r);
      const createIssue = client.createIssue.bind(client);
      client.createIssue = async (input) => {
        if (++posts === 2) throw new Error('stand-in: connection reset by the forge');
        return createIssue(input);
      };
      return client;
    };
    await expect(writeResultToForge(failing, task, row, stories)).rejects.toThrow(/connection reset/);
    expect(state.issues.map((i) => i.title)).toEqual(['Sign in with email']);

    // The retried session answered differently: the recorded plan stands.
    const retried = { ...stories, stories: [{ ...EPIC_RESULT.stories[1]!, title: 'Something else' }] };
    const summary = await writeResultToForge(deps(), task, row, retried);
    expect(summary?.writes.map((w) => [w.key, w.status, w.external_id])).toEqual([
      [`task:${task.id}:story:0`, 'done', '1'],
      [`task:${task.id}:story:1`, 'done', '2'],
    ]);
    expect(state.issues.map((i) => i.title)).toEqual(['Sign in with email', 'Reset a password']);
  });

  it('a crash between a forge call and its record leaves the write uncertain, never repeated (GitLab stand-in)', async () => {
    const { state, row } = await gitlabRepository({ epics: false });
    const task = await pmTask('create_epic', row);
    await writeResultToForge(deps(), task, row, EPIC_RESULT);
    // As if the process had died during the second story's call on an earlier attempt.
    await t.handle.db
      .updateTable('forge_writes')
      .set({ status: 'calling', external_id: null })
      .where('write_key', '=', `task:${task.id}:story:1`)
      .execute();
    await t.handle.db
      .updateTable('forge_writes')
      .set({ status: 'planned' })
      .where('write_key', '=', `task:${task.id}:link:1`)
      .execute();
    const summary = await writeResultToForge(deps(), task, row, EPIC_RESULT);
    const byKey = Object.fromEntries(summary!.writes.map((w) => [w.key, w.status]));
    expect(byKey[`task:${task.id}:story:1`]).toBe('uncertain');
    expect(byKey[`task:${task.id}:link:1`]).toBe('uncertain');
    expect(state.issues).toHaveLength(3);
  });

  it('writes nothing for a story workflow’s own create_user_story, nor for a local repository', async () => {
    const { row } = await githubRepository();
    const task = { ...(await pmTask('create_user_story', row)), workflowId: 99, createdBy: 'workflow' };
    expect(await writeResultToForge(deps(), task, row, EPIC_RESULT)).toBeUndefined();
    const local = { ...row, forge: 'local' as const };
    expect(await writeResultToForge(deps(), await pmTask('create_epic', row), local, EPIC_RESULT)).toBeUndefined();
  });

  it('sets priority labels and GitLab weights on the ranked issues (GitLab and GitHub stand-ins)', async () => {
    const ranked = {
      status: 'done' as const,
      summary: 'Ranked.',
      ranked: [
        { ref: '#2', title: 'Reset', priority: 9, rationale: 'Locked-out users' },
        { ref: 'issue 1', title: 'Sign in', priority: 4, rationale: 'Works already' },
        { ref: 'task 7', title: 'Not an issue', priority: 2, rationale: 'Internal' },
      ],
    };
    const lab = await gitlabRepository({ epics: false });
    const hub = await githubRepository();
    for (const { row } of [lab, hub]) {
      const client = forgeClientFor(row, { dataDir: dir, env: { FORGE_TOKEN: TOKEN } });
      await client.createIssue({ title: 'Sign in', body: 'x', labels: ['autodev', 'priority::1'] });
      await client.createIssue({ title: 'Reset', body: 'y', labels: ['autodev'] });
      const summary = await writeResultToForge(deps(), await pmTask('prioritize_backlog', row), row, ranked);
      expect(summary?.writes.map((w) => [w.external_id, w.status])).toEqual([
        ['2', 'done'],
        ['1', 'done'],
      ]);
    }
    expect(lab.state.issues.map((i) => [i.labels, i.weight])).toEqual([
      [['autodev', 'priority::4'], 4],
      [['autodev', 'priority::9'], 9],
    ]);
    expect(hub.state.issues.map((i) => i.labels)).toEqual([
      ['autodev', 'priority::4'],
      ['autodev', 'priority::9'],
    ]);
  });

  async function openedMergeRequest(row: RepositoryRow, client: ForgeClient) {
    const head = await commitOnBranch(row.location, 'autodev/login', { 'src/login.ts': 'a\nb\nc\n' }, 'Add login');
    await client.pushBranch('autodev/login');
    const mr = await client.openMergeRequest({ sourceBranch: 'autodev/login', title: 'Add login', description: '' });
    const record = await t.handle.db
      .insertInto('merge_requests')
      .values({
        repo_id: row.id,
        workflow_id: null,
        source_branch: 'autodev/login',
        target_branch: 'main',
        title: 'Add login',
        description: '',
        status: 'open',
        head_sha: head,
        target_sha: null,
        merge_sha: null,
        external_id: mr.externalId,
        created_at: 1,
        updated_at: 1,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { head, mr, id: record.id };
  }

  const REVIEW = {
    status: 'done' as const,
    summary: 'One bug, one nit.',
    verdict: 'request_changes' as const,
    findings: [
      { severity: 'major' as const, file: 'src/login.ts', line: 2, message: 'b is never checked' },
      { severity: 'minor' as const, message: 'The module lacks a header comment' },
    ],
  };

  it('posts review findings as line comments at the reviewed commit and the rest as one note, once (GitLab stand-in)', async () => {
    const { state, row } = await gitlabRepository({ epics: false });
    const client = forgeClientFor(row, { dataDir: dir, env: { FORGE_TOKEN: TOKEN } });
    const { head, id } = await openedMergeRequest(row, client);
    const task = await queue.enqueue({
      type: 'review_mr',
      payload: { merge_request_id: id },
      repoId: row.id,
      createdBy: 'x',
    });
    await writeResultToForge(deps(), task, row, REVIEW, { reviewedSha: head });
    await writeResultToForge(deps(), task, row, REVIEW, { reviewedSha: head });
    const notes = state.mergeRequests[0]!.notes;
    expect(notes.map((note) => note.position)).toEqual([
      { new_path: 'src/login.ts', new_line: 2, head_sha: head },
      null,
    ]);
    expect(notes[0]!.body).toBe('**major**: b is never checked');
    expect(notes[1]!.body).toContain('requests changes');
    expect(notes[1]!.body).toContain('The module lacks a header comment');
  });

  it('a line comment the forge will not place (an outdated head) goes into the review note instead (GitLab stand-in)', async () => {
    const { state, row } = await gitlabRepository({ epics: false });
    const client = forgeClientFor(row, { dataDir: dir, env: { FORGE_TOKEN: TOKEN } });
    const { id } = await openedMergeRequest(row, client);
    const task = await queue.enqueue({
      type: 'review_mr',
      payload: { merge_request_id: id },
      repoId: row.id,
      createdBy: 'x',
    });
    const outdated = 'f'.repeat(40);
    const summary = await writeResultToForge(deps(), task, row, REVIEW, { reviewedSha: outdated });
    expect(summary?.writes.map((w) => [w.kind, w.status])).toEqual([
      ['line_comment', 'failed'],
      ['note', 'done'],
    ]);
    const notes = state.mergeRequests[0]!.notes;
    expect(notes).toHaveLength(1);
    expect(notes[0]!.body).toContain('`src/login.ts:2` **major**: b is never checked');
  });

  it('posts review findings as pull request review comments and one comment (GitHub stand-in)', async () => {
    const { state, row } = await githubRepository();
    const client = forgeClientFor(row, { dataDir: dir, env: { FORGE_TOKEN: TOKEN } });
    const { head, id } = await openedMergeRequest(row, client);
    const task = await queue.enqueue({
      type: 'review_mr',
      payload: { merge_request_id: id },
      repoId: row.id,
      createdBy: 'x',
    });
    await writeResultToForge(deps(), task, row, REVIEW, { reviewedSha: head });
    await writeResultToForge(deps(), task, row, REVIEW, { reviewedSha: head });
    const pull = state.pulls[0]!;
    expect(pull.reviewComments.map((c) => [c.path, c.line, c.commitId])).toEqual([['src/login.ts', 2, head]]);
    expect(pull.comments).toHaveLength(1);
    expect(pull.comments[0]!.body).toContain('The module lacks a header comment');
  });

  it('says when the merge request is not in the forge yet, and writes nothing', async () => {
    const { row } = await githubRepository();
    const task = await queue.enqueue({ type: 'review_mr', payload: {}, repoId: row.id, createdBy: 'x' });
    expect(await writeResultToForge(deps(), task, row, REVIEW)).toEqual({
      forge: 'github',
      writes: [],
      skipped: 'the review names no merge request',
    });
  });
});
