/**
 * @module Publishing a gate's verdict on the story's merge request: what the note says and which findings become line
 * comments (pure), and, on both engines, that a forge that cannot be reached is recorded in the result with its
 * error, records no merge request and leaves the verdict alone; a local repository publishes nothing. The forge that
 * answers is covered end to end by test/e2e/forge-story.test.ts (GitLab and GitHub stand-ins).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locatedFindings, publishGateVerdict, verdictNote } from '../../src/agents/publish-gate-verdict.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { startStoryWorkflow } from '../../src/workflow/advance-workflow.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { git } from '../../src/workspace/git.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { makeRepo, type TestRepo } from '../workspace/git-fixtures.js';

describe('the verdict note and its line comments', () => {
  it('says the gate, the outcome, the round and the head, and lists findings with their log tails', () => {
    const note = verdictNote(
      'tests',
      { passed: false, findings: ['tests: adds: expected 3', 'tests: pipeline job "unit" failed\nnot ok 1\nboom'] },
      2,
      'f'.repeat(40),
      ['a.ts:9: review: [minor] outside the change'],
    );
    expect(note.split('\n')).toEqual([
      '**Tests (tester): failed** (Auto-Dev, round 2, head ffffffffffff)',
      '',
      '- tests: adds: expected 3',
      '- tests: pipeline job "unit" failed',
      '',
      '  ```',
      '  not ok 1',
      '  boom',
      '  ```',
      '',
      'Findings on lines outside the change:',
      '- a.ts:9: review: [minor] outside the change',
    ]);
    expect(
      verdictNote('security', { passed: true, findings: [], squash: 'an earlier commit held a secret' }, 0, null, []),
    ).toBe(
      '**Security (security): passed** (Auto-Dev, round 0)\n\nThe merge will squash the branch: an earlier commit held a secret.',
    );
  });

  it('takes the findings that name a file and a line, from the agent and from the secret scan', () => {
    const located = locatedFindings('security', {
      findings: [
        { severity: 'major', file: 'src/a.ts', line: 4, message: 'eval of input' },
        { severity: 'minor', file: 'src/b.ts', message: 'no line' },
        { severity: 'minor', message: 'no file' },
      ],
      gates: {
        secret_scan: { findings: [{ file: '.env', line: 1, rule: 'aws-access-key-id', message: 'AKIA***' }] },
      },
    });
    expect(located).toEqual([
      { path: 'src/a.ts', line: 4, body: 'security: [major] eval of input' },
      {
        path: '.env',
        line: 1,
        body: 'security: [secret] aws-access-key-id: AKIA*** (remove it and rotate the credential)',
      },
    ]);
  });
});

describe.each(DIALECTS)('%s: publishing a gate verdict', (dialect) => {
  const t = useTestDatabase(dialect);
  let fixture: TestRepo;
  let dataDir: string;
  // Port 1 (tcpmux): nothing listens there, so the forge cannot be reached.
  const closedPort = 1;

  beforeAll(async () => {
    fixture = await makeRepo();
    await git(fixture.repo, ['branch', 'autodev/1-add-sum']);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'publish-gate-'));
  });
  afterAll(async () => {
    await fixture.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function gateTask(forge: 'gitlab' | 'local') {
    const now = Date.now();
    const repo = await t.handle.db
      .insertInto('repositories')
      .values({
        name: `app-${forge}`,
        forge,
        location: fixture.repo,
        remote_url: forge === 'gitlab' ? `http://127.0.0.1:${closedPort}/acme/app.git` : null,
        default_branch: 'main',
        settings: JSON.stringify(
          forge === 'gitlab'
            ? {
                forge_base_url: `http://127.0.0.1:${closedPort}`,
                forge_project: 'acme/app',
                forge_token_env: 'GITLAB_TOKEN',
              }
            : {},
        ),
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const queue = new TaskQueue(t.handle);
    const deps = workflowDeps(queue, 3);
    const workflow = await startStoryWorkflow(t.handle.db, deps, {
      title: 'Add sum',
      body: 'b',
      repoId: repo.id,
      createdBy: 'test',
    });
    const task = await queue.enqueue({
      type: 'review_mr',
      payload: { title: 'Add sum', branch: 'autodev/1-add-sum', round: 0 },
      workflowId: workflow.id,
      repoId: repo.id,
      createdBy: 'test',
    });
    return { queue, task };
  }

  const publishDeps = () => ({
    db: t.handle.db,
    serializesWriters: t.handle.dialect.serializesWriters,
    forge: { dataDir, env: { GITLAB_TOKEN: 'glpat-unused' } },
    clock: Date.now,
    actor: 'w1',
  });

  it('records an unreachable forge in the result with its error and no merge request', async () => {
    const { queue, task } = await gateTask('gitlab');
    const published = await publishGateVerdict(publishDeps(), task, {
      status: 'done',
      summary: 's',
      verdict: 'approve',
      findings: [],
    });
    expect(published).toEqual({
      error: expect.stringMatching(
        /^the verdict was not published in gitlab: GitLab \(repository "app-gitlab", git push of autodev\/1-add-sum\) /,
      ),
    });
    expect(await t.handle.db.selectFrom('merge_requests').selectAll().execute()).toEqual([]);
    await queue.close();
  });

  it('publishes nothing for a repository on the local forge', async () => {
    const { queue, task } = await gateTask('local');
    expect(await publishGateVerdict(publishDeps(), task, { status: 'done', verdict: 'approve', findings: [] })).toBe(
      undefined,
    );
    await queue.close();
  });
});
