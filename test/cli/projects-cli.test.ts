/**
 * @module `autodev projects` in process (the program builder, both databases): list, show, reject with a reason,
 * defer with notes and a date, reopen, approve, and bad input (no reason, a bad date, an unknown id, a wrong state)
 * refused with a clear error and exit code 2, changing nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { startProductWorkflow } from '../../src/workflow/advance-workflow.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { runCliInProcessOn } from '../support/in-process-cli.js';
import { ASSESSMENT, assessProject } from '../support/project-fixtures.js';

describe.each(DIALECTS)('%s: autodev projects', (dialect) => {
  const t = useTestDatabase(dialect);
  let queue: TaskQueue;
  const cli = (...args: string[]) => runCliInProcessOn(t, args);

  beforeEach(() => {
    queue = new TaskQueue(t.handle);
  });
  afterEach(async () => {
    await queue.close();
  });

  async function proposed(name: string): Promise<number> {
    const rating = { score: 6, reason: 'ok' };
    const row = await startProductWorkflow(t.handle.db, workflowDeps(queue, 3), {
      proposal: {
        name,
        title: `The ${name}`,
        problem: 'Slow builds',
        audience: 'Teams',
        spec_markdown: '# Spec body',
        ratings: { market: rating },
        targets: ['npm', 'gumroad'],
        estimated_tokens: 120_000,
      },
      idea: 'faster builds',
      sourceTaskId: null,
      createdBy: 'pm@host:1#0',
    });
    await assessProject(queue, { ...ASSESSMENT, risk: { score: 3, reason: 'new ground' } });
    return row.id;
  }

  it('lists, shows and decides; bad input is refused and changes nothing', async () => {
    const id = await proposed('speedy');
    const list = await cli('projects', 'list');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(`^${id}\\s+speedy\\s+proposed\\s+6\\s+9\\s+8\\s+3\\s+120000\\s+The speedy$`, 'm'),
    );
    const show = await cli('projects', 'show', String(id));
    expect(show.stdout).toContain('market      6/10  (PM) ok');
    expect(show.stdout).toContain('risk        3/10  (Architect) new ground');
    expect(show.stdout).toContain('assessment: feasible, by architect-1');
    expect(show.stdout).toContain('concern:   Word boundaries differ between languages');
    expect(show.stdout).toContain('# Spec body');

    for (const args of [
      ['projects', 'reject', String(id)],
      ['projects', 'reject', String(id), '--reason', '  '],
      ['projects', 'defer', String(id), '--notes', 'later', '--until', 'soon'],
      ['projects', 'reopen', String(id)],
      ['projects', 'approve', '999'],
      ['projects', 'show', 'abc'],
      ['projects', 'list', '--status', 'nope'],
    ]) {
      const refused = await cli(...args);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr.trim().length, args.join(' ')).toBeGreaterThan(0);
    }
    const unchanged = JSON.parse((await cli('projects', 'show', String(id), '--json')).stdout);
    expect(unchanged).toMatchObject({ status: 'proposed', decisions: [] });

    const deferred = await cli('projects', 'defer', String(id), '--notes', 'After the launch', '--until', '2099-03-01');
    expect(deferred.stdout).toBe(`project ${id} (speedy) is deferred (After the launch)\n`);
    expect((await cli('projects', 'list', '--status', 'deferred', '--json')).stdout).toContain(
      '"2099-03-01T00:00:00.000Z"',
    );
    expect((await cli('projects', 'reopen', String(id))).stdout).toBe(`project ${id} (speedy) is proposed\n`);
    expect((await cli('projects', 'approve', String(id))).stdout).toBe(`project ${id} (speedy) is building\n`);

    const other = await proposed('sluggish');
    const rejected = await cli('projects', 'reject', String(other), '--reason', 'Not now', '--json');
    expect(JSON.parse(rejected.stdout)).toMatchObject({
      status: 'rejected',
      decisions: [{ decision: 'rejected', reason: 'Not now', by: expect.stringMatching(/^cli:/) }],
    });
  });
});
