/**
 * @module Secrets never reach the default branch: the secret scan reads every commit a merge would bring, not only the
 * branch head. On a real git repository a commit adds an AWS key and the next removes it: the scan names the commit
 * and file (masked), the security gate passes with a squash reason, and on both engines the story's merge lands as
 * one squash commit whose default-branch history (`git log -p main`) never holds the key; the merge event and a
 * note on the merge request say why. A merge commit inside the branch and a file git's helpers would run on are read
 * from the object database only, with no external diff, textconv or fsmonitor.
 */
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addRepository } from '../../src/forge/repositories.js';
import { scanBranchForSecrets, squashReasonFor } from '../../src/gates/secret-scan.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { git, gitOutput } from '../../src/workspace/git.js';
import { startStoryWorkflow } from '../../src/workflow/advance-workflow.js';
import { decideApproval, listApprovals } from '../../src/workflow/approvals.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { mergeRequestView } from '../../src/workflow/merge-request-view.js';
import { runMergeTasks } from '../support/merge-tasks.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { commitAll, makeRepo, type TestRepo } from '../workspace/git-fixtures.js';
import {
  REVIEW_OK,
  SEC_OK,
  SPEC,
  STORY,
  TESTS_CLAIMED_OK,
  completeWithGates,
  gateDeps,
} from '../workflow/pipeline-fixtures.js';

// Split so this file does not itself look like it holds a key.
const PLANTED_KEY = ['AKIA', 'QYLPMN5HFIQR7XYA'].join('');
const AWS_RULE = '@secretlint/secretlint-rule-aws';

/** On `branch` from main: a commit adding the key in config.js, then one replacing it with an environment lookup. */
async function keyAddedThenRemoved(repo: string, branch: string): Promise<{ planted: string; removed: string }> {
  await git(repo, ['checkout', '--quiet', '-b', branch]);
  await writeFile(join(repo, 'config.js'), `export const awsKey = "${PLANTED_KEY}";\n`);
  const planted = await commitAll(repo, 'add config with the key inline');
  await writeFile(join(repo, 'config.js'), 'export const awsKey = process.env.AWS_ACCESS_KEY_ID;\n');
  const removed = await commitAll(repo, 'read the key from the environment');
  await git(repo, ['checkout', '--quiet', 'main']);
  return { planted, removed };
}

describe('scanBranchForSecrets over the branch history', () => {
  let fixture: TestRepo;
  beforeEach(async () => {
    fixture = await makeRepo();
  });
  afterEach(async () => {
    await fixture.cleanup();
  });

  it('finds a key an earlier commit added and the head removed, naming the commit, masked', async () => {
    const { planted, removed } = await keyAddedThenRemoved(fixture.repo, 'feature');
    const scan = await scanBranchForSecrets(fixture.repo, 'main', 'feature');
    expect(scan).toMatchObject({ head: removed, commits: 2, atHead: [] });
    expect(scan.inHistory).toEqual([
      expect.objectContaining({ file: 'config.js', line: 1, rule: AWS_RULE, commit: planted }),
    ]);
    expect(JSON.stringify(scan)).not.toContain(PLANTED_KEY);
    expect(squashReasonFor(scan)).toBe(`an earlier commit held a secret (config.js, ${AWS_RULE})`);
  });

  it('finds a key in a file an earlier commit added and a later one deleted', async () => {
    await git(fixture.repo, ['checkout', '--quiet', '-b', 'feature']);
    await writeFile(join(fixture.repo, 'creds.txt'), `aws_access_key_id = ${PLANTED_KEY}\n`);
    const planted = await commitAll(fixture.repo, 'notes');
    await rm(join(fixture.repo, 'creds.txt'));
    await writeFile(join(fixture.repo, 'app.js'), 'export const app = 1;\n');
    await commitAll(fixture.repo, 'drop the notes');
    const scan = await scanBranchForSecrets(fixture.repo, 'main', 'feature');
    expect(scan.atHead).toEqual([]);
    expect(scan.inHistory).toEqual([expect.objectContaining({ file: 'creds.txt', commit: planted })]);
  });

  it('reports a key still at the head as at the head (no squash: the gate fails)', async () => {
    await git(fixture.repo, ['checkout', '--quiet', '-b', 'feature']);
    await writeFile(join(fixture.repo, 'config.js'), `export const awsKey = "${PLANTED_KEY}";\n`);
    const planted = await commitAll(fixture.repo, 'plant');
    await writeFile(join(fixture.repo, 'other.js'), 'export const x = 1;\n');
    await commitAll(fixture.repo, 'unrelated');
    const scan = await scanBranchForSecrets(fixture.repo, 'main', 'feature');
    expect(scan.atHead).toEqual([expect.objectContaining({ file: 'config.js', commit: planted })]);
    expect(scan.inHistory).toEqual([]);
    expect(squashReasonFor(scan)).toBeUndefined();
  });

  it('reads a merge commit inside the branch against its first parent, and runs no helper the config names', async () => {
    await writeFile(join(fixture.repo, '.gitattributes'), '*.js diff=secret\n');
    await commitAll(fixture.repo, 'attributes');
    await git(fixture.repo, ['checkout', '--quiet', '-b', 'side']);
    await writeFile(join(fixture.repo, 'side.js'), `export const k = "${PLANTED_KEY}";\n`);
    const sideCommit = await commitAll(fixture.repo, 'side plants a key');
    await writeFile(join(fixture.repo, 'side.js'), 'export const k = null;\n');
    await commitAll(fixture.repo, 'side removes it');
    await git(fixture.repo, ['checkout', '--quiet', 'main']);
    await git(fixture.repo, ['checkout', '--quiet', '-b', 'feature']);
    await writeFile(join(fixture.repo, 'feature.js'), 'export const f = 1;\n');
    await commitAll(fixture.repo, 'feature');
    await git(fixture.repo, ['merge', '--quiet', '--no-ff', '--no-edit', 'side'], { asAutodev: true });
    await git(fixture.repo, ['checkout', '--quiet', 'main']);
    // Now a repository config that would run a program on a diff, a textconv or a status: none of them may run.
    const marker = join(fixture.root, 'helper-ran');
    const helper = join(fixture.root, 'helper.sh');
    await writeFile(helper, `#!/bin/sh\necho ran >> ${marker}\n`);
    await chmod(helper, 0o755);
    await git(fixture.repo, ['config', 'diff.external', helper]);
    await git(fixture.repo, ['config', 'core.fsmonitor', helper]);
    await git(fixture.repo, ['config', 'diff.secret.textconv', helper]);
    // The helpers are live: git's own status runs the fsmonitor one (checked, then cleared).
    await git(fixture.repo, ['status', '--porcelain']);
    expect(await readFile(marker, 'utf8')).toContain('ran');
    await rm(marker);

    const scan = await scanBranchForSecrets(fixture.repo, 'main', 'feature');
    expect(scan.atHead).toEqual([]);
    expect(scan.inHistory).toEqual([expect.objectContaining({ file: 'side.js', commit: sideCommit })]);
    await expect(readFile(marker, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe.each(DIALECTS)('%s: a secret only in the branch history', (dialect) => {
  const t = useTestDatabase(dialect);
  let fixture: TestRepo;
  let queue: TaskQueue;
  beforeEach(async () => {
    fixture = await makeRepo();
    queue = new TaskQueue(t.handle);
  });
  afterEach(async () => {
    await queue.close();
    await fixture.cleanup();
  });

  it('passes the security gate with a squash reason, and the merge lands as one squash commit without the key', async () => {
    const repo = await addRepository(t.handle.db, { path: fixture.repo, actor: 'test', now: Date.now() }, '/');
    const branch = 'autodev/3-config';
    const { planted, removed } = await keyAddedThenRemoved(fixture.repo, branch);
    const mainBefore = await gitOutput(fixture.repo, ['rev-parse', 'main']);
    const deps = workflowDeps(queue, 3);
    const complete = (type: string, result: Record<string, unknown>) =>
      completeWithGates(queue, deps, gateDeps(queue), type, result);

    const wf = await startStoryWorkflow(t.handle.db, deps, {
      title: 'Config',
      body: 'b',
      repoId: repo.id,
      createdBy: 'cli',
    });
    await complete('create_user_story', STORY);
    await complete('write_spec', SPEC);
    const [spec] = await listApprovals(t.handle.db, { status: 'pending' });
    await decideApproval(t.handle.db, deps, { id: spec!.id, decision: 'approved', actor: 'cli:alice' });
    await complete('implement_feature', {
      status: 'done',
      summary: 's',
      branch,
      commits: [
        { sha: planted, message: 'add config with the key inline' },
        { sha: removed, message: 'read the key from the environment' },
      ],
      files_changed: ['config.js'],
    });
    await complete('review_mr', REVIEW_OK);
    await complete('run_tests', TESTS_CLAIMED_OK);
    const security = await complete('security_scan', SEC_OK);

    const stored = await t.handle.db
      .selectFrom('tasks')
      .select('result')
      .where('id', '=', security.id)
      .executeTakeFirstOrThrow();
    const reason = `an earlier commit held a secret (config.js, ${AWS_RULE})`;
    expect(JSON.parse(stored.result!).gates).toMatchObject({
      secret_scan: {
        passed: true,
        commit: removed,
        commits_scanned: 2,
        findings: [],
        history_findings: [{ file: 'config.js', line: 1, rule: AWS_RULE, commit: planted }],
        squash: reason,
      },
      verdict: { passed: true, squash: reason },
    });
    expect(stored.result).not.toContain(PLANTED_KEY);

    const [merge] = (await listApprovals(t.handle.db, { status: 'pending' })).filter((a) => a.kind === 'merge');
    expect(merge).toBeDefined();
    // What the approver sees before deciding: the branch will be squashed, and why.
    const open = await t.handle.db.selectFrom('merge_requests').select('id').executeTakeFirstOrThrow();
    const view = await mergeRequestView(t.handle.db, open.id);
    expect(view.gates.find((g) => g.name === 'security')).toMatchObject({
      passed: true,
      run: {
        kind: 'secret_scan',
        findings: [],
        history_findings: [{ file: 'config.js', rule: AWS_RULE, commit: planted }],
        squash: reason,
      },
    });
    await decideApproval(t.handle.db, deps, { id: merge!.id, decision: 'approved', actor: 'cli:alice' });
    expect((await runMergeTasks(queue, deps)).map((r) => r.outcome)).toEqual(['merged']);

    const row = await t.handle.db.selectFrom('workflows').selectAll().where('id', '=', wf.id).executeTakeFirstOrThrow();
    expect(row.stage).toBe('deploy');
    const mr = await t.handle.db
      .selectFrom('merge_requests')
      .selectAll()
      .where('workflow_id', '=', wf.id)
      .executeTakeFirstOrThrow();
    expect(mr.status).toBe('merged');
    // One squash commit on top of the old main: its only parent is the old main, its tree the branch head's.
    expect(await gitOutput(fixture.repo, ['rev-list', '--parents', '-n', '1', 'main'])).toBe(
      `${mr.merge_sha} ${mainBefore}`,
    );
    expect(await gitOutput(fixture.repo, ['rev-list', '--count', `${mainBefore}..main`])).toBe('1');
    expect(await gitOutput(fixture.repo, ['rev-parse', 'main^{tree}'])).toBe(
      await gitOutput(fixture.repo, ['rev-parse', `${removed}^{tree}`]),
    );
    expect(await gitOutput(fixture.repo, ['merge-base', '--is-ancestor', planted, 'main'], { okExitCodes: [1] })).toBe(
      '',
    );
    expect(
      (await git(fixture.repo, ['merge-base', '--is-ancestor', planted, 'main'], { okExitCodes: [1] })).exitCode,
    ).toBe(1);
    const history = await gitOutput(fixture.repo, ['log', '-p', 'main']);
    expect(history).toContain('process.env.AWS_ACCESS_KEY_ID');
    expect(history).not.toContain(PLANTED_KEY);
    expect(await gitOutput(fixture.repo, ['log', '-1', '--format=%B', 'main'])).toContain(
      `Squashed because ${reason}.`,
    );

    const merged = await t.handle.db
      .selectFrom('events')
      .selectAll()
      .where('kind', '=', 'merge_request.merged')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(merged.data)).toMatchObject({ merge_sha: mr.merge_sha, squashed: reason });
    const notes = await t.handle.db
      .selectFrom('merge_request_notes')
      .selectAll()
      .where('merge_request_id', '=', mr.id)
      .execute();
    expect(notes).toEqual([expect.objectContaining({ kind: 'note', body: expect.stringContaining(reason) })]);
    const everything = JSON.stringify([
      await t.handle.db.selectFrom('events').select('data').execute(),
      await t.handle.db.selectFrom('tasks').select(['payload', 'result']).execute(),
      await t.handle.db.selectFrom('workflows').select('state').execute(),
    ]);
    expect(everything).not.toContain(PLANTED_KEY);
  });
});
