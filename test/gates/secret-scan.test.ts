/**
 * @module The secret-scan gate: secretlint with the AWS key-id rule finds a planted key (masked), passes clean code,
 * and, in the story workflow on both engines, a key planted in the builder's change fails the security gate even
 * though the security agent passed it, so no merge approval opens and the builder gets the finding. The scan runs
 * before the completing transaction, as the security role's handler runs it (`completeWithGates`).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addRepository } from '../../src/forge/repositories.js';
import { scanBranchForSecrets, scanFilesForSecrets } from '../../src/gates/secret-scan.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { git, gitOutput } from '../../src/workspace/git.js';
import { startStoryWorkflow } from '../../src/workflow/advance-workflow.js';
import { decideApproval, listApprovals } from '../../src/workflow/approvals.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { commitAll, makeRepo, type TestRepo } from '../workspace/git-fixtures.js';
import { completeWithGates, gateDeps } from '../workflow/pipeline-fixtures.js';

// Split so this file does not itself look like it holds a key.
const PLANTED_KEY = ['AKIA', 'QYLPMN5HFIQR7XYA'].join('');

describe('scanFilesForSecrets', () => {
  it('finds an AWS access key id and never repeats the key', async () => {
    const findings = await scanFilesForSecrets([
      { path: 'src/config.js', content: `// config\nexport const key = "${PLANTED_KEY}";\n` },
      { path: 'src/sum.js', content: 'export const sum = (a, b) => a + b;\n' },
    ]);
    expect(findings).toEqual([
      expect.objectContaining({ file: 'src/config.js', line: 2, rule: '@secretlint/secretlint-rule-aws' }),
    ]);
    expect(JSON.stringify(findings)).not.toContain(PLANTED_KEY);
  });

  it('passes clean code', async () => {
    expect(await scanFilesForSecrets([{ path: 'a.js', content: 'const id = "user-1234";\n' }])).toEqual([]);
  });
});

describe('scanBranchForSecrets', () => {
  let fixture: TestRepo;
  beforeEach(async () => {
    fixture = await makeRepo();
  });
  afterEach(async () => {
    await fixture.cleanup();
  });

  it('scans only what the branch adds or changes', async () => {
    await writeFile(join(fixture.repo, 'old.js'), `const k = "${PLANTED_KEY}";\n`);
    await commitAll(fixture.repo, 'an old key already on main');
    await git(fixture.repo, ['checkout', '--quiet', '-b', 'feature']);
    await writeFile(join(fixture.repo, 'new.js'), `export const key = "${PLANTED_KEY}";\n`);
    await commitAll(fixture.repo, 'plant');
    const scan = await scanBranchForSecrets(fixture.repo, 'main', 'feature');
    expect(scan.atHead.map((f) => f.file)).toEqual(['new.js']);
    expect(scan.inHistory).toEqual([]);
  });
});

describe.each(DIALECTS)('%s: a planted secret in the workflow', (dialect) => {
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

  const complete = (type: string, result: Record<string, unknown>) =>
    completeWithGates(queue, workflowDeps(queue, 3), gateDeps(queue), type, result);

  it('is caught and blocks the merge approval', async () => {
    const repo = await addRepository(t.handle.db, { path: fixture.repo, actor: 'test', now: Date.now() }, '/');
    await git(fixture.repo, ['checkout', '--quiet', '-b', 'autodev/3-config']);
    await writeFile(join(fixture.repo, 'config.js'), `export const awsKey = "${PLANTED_KEY}";\n`);
    const sha = await commitAll(fixture.repo, 'add config');
    await git(fixture.repo, ['checkout', '--quiet', 'main']);

    const deps = workflowDeps(queue, 3);
    const wf = await startStoryWorkflow(t.handle.db, deps, {
      title: 'Config',
      body: 'b',
      repoId: repo.id,
      createdBy: 'cli',
    });
    await complete('create_user_story', {
      status: 'done',
      summary: 's',
      stories: [{ title: 'T', body: 'B', acceptance_criteria: ['a'] }],
    });
    await complete('write_spec', {
      status: 'done',
      summary: 's',
      spec_markdown: '#',
      files_to_touch: ['config.js'],
      test_plan: 't',
      risks: [],
    });
    const [spec] = await listApprovals(t.handle.db, { status: 'pending' });
    await decideApproval(t.handle.db, deps, { id: spec!.id, decision: 'approved', actor: 'cli:alice' });
    await complete('implement_feature', {
      status: 'done',
      summary: 's',
      branch: 'autodev/3-config',
      commits: [{ sha, message: 'add config' }],
      files_changed: ['config.js'],
    });
    await complete('review_mr', { status: 'done', summary: 's', verdict: 'approve', findings: [] });
    await complete('run_tests', {
      status: 'done',
      summary: 's',
      command: 'x',
      passed: 1,
      failed: 0,
      skipped: 0,
      failures: [],
    });
    // The security agent misses it; the deterministic scan does not.
    const security = await complete('security_scan', { status: 'done', summary: 's', verdict: 'pass', findings: [] });
    const stored = await t.handle.db
      .selectFrom('tasks')
      .select('result')
      .where('id', '=', security.id)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(stored.result!).gates).toMatchObject({
      secret_scan: { passed: false, ref: 'autodev/3-config', findings: [{ file: 'config.js', line: 1 }] },
      verdict: { passed: false },
    });
    expect(stored.result).not.toContain(PLANTED_KEY);

    expect((await listApprovals(t.handle.db, { status: 'pending' })).filter((a) => a.kind === 'merge')).toEqual([]);
    const row = await t.handle.db.selectFrom('workflows').selectAll().where('id', '=', wf.id).executeTakeFirstOrThrow();
    expect(row.stage).toBe('implement');
    const fix = await queue.claim('w1', ['implement_fix']);
    const findings = fix?.payload.findings as string[];
    expect(findings).toEqual([
      expect.stringContaining('security: [secret] config.js:1 @secretlint/secretlint-rule-aws'),
    ]);
    expect(fix?.payload.round).toBe(1);
    expect(JSON.stringify(fix?.payload)).not.toContain(PLANTED_KEY);
    const allEvents = await t.handle.db.selectFrom('events').select('data').execute();
    expect(JSON.stringify(allEvents)).not.toContain(PLANTED_KEY);
    expect(await gitOutput(fixture.repo, ['rev-parse', '--abbrev-ref', 'HEAD'])).toBe('main');
  });
});
