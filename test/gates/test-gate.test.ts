/**
 * @module The test gate with real git and bubblewrap: a passing and a failing `node --test` suite on a branch,
 * counts and failing tests parsed, findings that lead with the failing tests' names, no temp path in the output, no
 * network inside, the throwaway checkout removed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VERDICT_TAIL_LINES, runTestGate, testGateVerdict } from '../../src/gates/test-gate.js';
import { git, gitOutput, listWorktrees } from '../../src/workspace/git.js';
import { commitAll, makeRepo, type TestRepo } from '../workspace/git-fixtures.js';

describe('runTestGate', () => {
  let fixture: TestRepo;
  beforeEach(async () => {
    fixture = await makeRepo();
    await mkdir(join(fixture.repo, 'test'));
    await writeFile(
      join(fixture.repo, 'test', 'sum.test.mjs'),
      "import test from 'node:test';\nimport assert from 'node:assert';\n" +
        "test('adds', () => assert.equal(1 + 2, 3));\ntest('adds more', () => assert.equal(2 + 2, 4));\n",
    );
    await commitAll(fixture.repo, 'tests');
    await git(fixture.repo, ['checkout', '--quiet', '-b', 'broken']);
    await writeFile(
      join(fixture.repo, 'test', 'net.test.mjs'),
      "import test from 'node:test';\nimport assert from 'node:assert';\n" +
        "test('broken', () => assert.equal(1, 2));\n",
    );
    await commitAll(fixture.repo, 'a failing test');
    await git(fixture.repo, ['checkout', '--quiet', 'main']);
  });
  afterEach(async () => {
    await fixture.cleanup();
  });

  const run = (ref: string, command = `${process.execPath} --test --test-reporter=tap test/`) =>
    runTestGate({ repoPath: fixture.repo, ref, command, mode: 'bubblewrap', timeoutMs: 30_000, env: process.env });

  it('passes a green suite with its counts', async () => {
    const result = await run('main');
    expect(result).toMatchObject({ passed: true, exitCode: 0, counts: { runner: 'node', passed: 2, failed: 0 } });
    expect(testGateVerdict(result)).toEqual({ passed: true, findings: [] });
    expect(await listWorktrees(fixture.repo)).toHaveLength(1);
  });

  it('fails a red suite: the failing test by name and message first, then the counts and a short tail', async () => {
    const result = await run('broken');
    expect(result).toMatchObject({
      passed: false,
      counts: { passed: 2, failed: 1 },
      failures: [{ name: 'broken', message: '1 == 2' }],
    });
    const verdict = testGateVerdict(result);
    expect(verdict.passed).toBe(false);
    expect(verdict.findings).toHaveLength(2);
    expect(verdict.findings[0]).toBe('tests: broken: 1 == 2');
    expect(verdict.findings[1]).toContain('1 failed, 2 passed');
    expect(verdict.findings[1]!.split('\n').length).toBeLessThanOrEqual(1 + VERDICT_TAIL_LINES);
    // The throwaway checkout's temporary directory is never named: it reads <checkout>.
    const scratch = /autodev-checkout-\d+-/;
    expect(result.outputTail).toContain('<checkout>/test/net.test.mjs');
    expect(result.outputTail).not.toMatch(scratch);
    expect(JSON.stringify(verdict)).not.toMatch(scratch);
  });

  it('names each failing test of the spec reporter, without durations', async () => {
    const result = await run('broken', `${process.execPath} --test --test-reporter=spec test/`);
    expect(result.failures).toEqual([{ name: 'broken', message: 'AssertionError [ERR_ASSERTION]: 1 == 2' }]);
    expect(testGateVerdict(result).findings[0]).toBe('tests: broken: AssertionError [ERR_ASSERTION]: 1 == 2');
  });

  it('fails the gate when the reported coverage is below the threshold, with a finding', async () => {
    // A suite that prints an istanbul-style summary, as vitest/jest/c8 do with coverage on.
    const report = `printf 'File | %% Stmts | %% Branch | %% Funcs | %% Lines |\\nAll files | 71.5 | 50 | 80 | 72.25 |\\n'`;
    const command = `${process.execPath} --test --test-reporter=tap test/ && ${report}`;
    const below = await runTestGate({
      repoPath: fixture.repo,
      ref: 'main',
      command,
      mode: 'bubblewrap',
      timeoutMs: 30_000,
      env: process.env,
      coverageThreshold: 80,
    });
    expect(below).toMatchObject({ passed: false, exitCode: 0, coverage: 72.25, coverageThreshold: 80 });
    expect(testGateVerdict(below)).toEqual({
      passed: false,
      findings: [`tests: coverage 72.25% is below the repository's threshold of 80% ("${command}")`],
    });
    const above = await runTestGate({
      repoPath: fixture.repo,
      ref: 'main',
      command,
      mode: 'bubblewrap',
      timeoutMs: 30_000,
      env: process.env,
      coverageThreshold: 70,
    });
    expect(above).toMatchObject({ passed: true, coverage: 72.25 });
  });

  it('runs git inside the checkout (the repository is read-only there)', async () => {
    const before = await gitOutput(fixture.repo, ['rev-parse', 'broken']);
    const result = await run('broken', 'git log --format=%s -1 && ! git commit --allow-empty -q -m nope 2>/dev/null');
    expect(result).toMatchObject({ passed: true, exitCode: 0, commit: before });
    expect(result.outputTail).toContain('a failing test');
    expect(await gitOutput(fixture.repo, ['rev-parse', 'broken'])).toBe(before);
  });

  it('runs without network', async () => {
    const result = await run(
      'main',
      `${process.execPath} -e "require('node:net').connect(80, '1.1.1.1').on('error', () => process.exit(3)).on('connect', () => process.exit(0))"`,
    );
    expect(result.exitCode).toBe(3);
    expect(result.passed).toBe(false);
  });
});
