/**
 * @module The tests gate's pipeline input against the GitLab and GitHub STAND-INS (documented payloads; a pipeline
 * with its jobs and traces, check runs with Actions job logs behind a 302): a failed pipeline fails the gate with the
 * failing job's log tail read through the real client, a passed one passes, one still running at the deadline fails
 * with a timeout finding, none at all leaves the gate to the local run, and a pipeline the forge creates while the
 * gate waits is waited for. No database: the gate reads only the forge.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ForgeRepository } from '../../src/forge/forge-client.js';
import { GitHubClient } from '../../src/forge/github-client.js';
import { GitLabClient } from '../../src/forge/gitlab-client.js';
import { combineVerdicts, pipelineGateVerdict, waitForPipeline } from '../../src/gates/pipeline-gate.js';
import { GitHubStandIn } from '../support/github-stand-in.js';
import { GitLabStandIn } from '../support/gitlab-stand-in.js';

const TOKEN = 'pipeline-gate-token';
const SHA = 'a'.repeat(40);
const WAIT = { timeoutMs: 30_000, appearMs: 0, pollMs: 50 };

let gitlab: GitLabStandIn;
let github: GitHubStandIn;
let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-gate-'));
  gitlab = await new GitLabStandIn().start();
  gitlab.addUser(TOKEN, 'swarm-bot');
  github = await new GitHubStandIn().start();
  github.addUser(TOKEN, 'swarm-bot');
});
afterAll(async () => {
  await gitlab?.close();
  await github?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function repository(kind: 'gitlab' | 'github', project: string, baseUrl: string, remoteUrl: string): ForgeRepository {
  return {
    id: ++n,
    name: project,
    kind,
    localPath: dir,
    remoteUrl,
    defaultBranch: 'main',
    mergeMethod: 'merge',
    settings: { forge_base_url: baseUrl, forge_project: project, forge_token_env: 'FORGE_TOKEN' },
  };
}

async function gitlabClient(): Promise<{ client: GitLabClient; project: string }> {
  const project = `gates/app-${++n}`;
  await gitlab.createProject(project);
  const repo = repository('gitlab', project, gitlab.url, gitlab.remoteUrl(project));
  return { client: new GitLabClient(repo, { dataDir: dir, env: { FORGE_TOKEN: TOKEN } }), project };
}

async function githubClient(): Promise<{ client: GitHubClient; project: string }> {
  const project = `gates/web-${++n}`;
  await github.createRepo(project);
  const repo = repository('github', project, github.url, github.remoteUrl(project));
  return { client: new GitHubClient(repo, { dataDir: dir, env: { FORGE_TOKEN: TOKEN } }), project };
}

describe('the pipeline as an input to the tests gate (forge stand-ins)', () => {
  it('fails the gate on a failed GitLab pipeline with the failing job trace as the finding', async () => {
    const { client, project } = await gitlabClient();
    const trace = ['$ npm test', ...Array.from({ length: 60 }, (_, i) => `line ${i}`), 'not ok 3 - sum adds'].join(
      '\n',
    );
    gitlab.addPipeline(project, SHA, 'failed', [
      { name: 'lint', status: 'success' },
      { name: 'unit', status: 'failed', trace },
    ]);
    const run = await waitForPipeline(client, SHA, WAIT);
    expect(run).toMatchObject({ outcome: 'failed', status: 'failed', sha: SHA });
    expect(run.failed_jobs.map((j) => j.name)).toEqual(['unit']);
    const verdict = pipelineGateVerdict(run)!;
    expect(verdict.passed).toBe(false);
    expect(verdict.findings).toHaveLength(1);
    expect(verdict.findings[0]!.split('\n')[0]).toMatch(/^tests: pipeline job "unit" failed \(http:\/\/127\.0\.0\.1/);
    expect(verdict.findings[0]).toContain('not ok 3 - sum adds');
    // Only the log's tail: the first lines are left out.
    expect(verdict.findings[0]).not.toContain('$ npm test');
  });

  it('fails the gate on failed GitHub checks with the Actions job log, and passes on successful ones', async () => {
    const { client, project } = await githubClient();
    github.addChecks(project, SHA, [
      { name: 'build', status: 'completed', conclusion: 'success' },
      { name: 'test', status: 'completed', conclusion: 'failure', log: 'FAIL test/sum.test.ts\nexpected 3, got -1\n' },
    ]);
    const failed = pipelineGateVerdict(await waitForPipeline(client, SHA, WAIT))!;
    expect(failed.passed).toBe(false);
    expect(failed.findings[0]).toContain('pipeline job "test" failed');
    expect(failed.findings[0]).toContain('expected 3, got -1');

    const other = 'b'.repeat(40);
    github.addChecks(project, other, [{ name: 'test', status: 'completed', conclusion: 'success' }]);
    const passed = await waitForPipeline(client, other, WAIT);
    expect(passed.outcome).toBe('passed');
    expect(pipelineGateVerdict(passed)).toEqual({ passed: true, findings: [] });
  });

  it('fails with a timeout finding when the pipeline is still running at the deadline', async () => {
    const { client, project } = await gitlabClient();
    gitlab.addPipeline(project, SHA, 'running', [{ name: 'unit', status: 'running' }]);
    const run = await waitForPipeline(client, SHA, { timeoutMs: 300, appearMs: 0, pollMs: 50 });
    expect(run).toMatchObject({ outcome: 'timed_out', status: 'running', timeout_ms: 300 });
    expect(run.waited_ms).toBeGreaterThanOrEqual(300);
    expect(pipelineGateVerdict(run)).toEqual({
      passed: false,
      findings: [expect.stringMatching(/^tests: the pipeline of aaaaaaaaaaaa was still running after 0 s \(http/)],
    });
  });

  it('leaves the gate to the local run when the commit has no pipeline, and waits for one the forge creates', async () => {
    const { client, project } = await gitlabClient();
    const none = await waitForPipeline(client, SHA, WAIT);
    expect(none).toMatchObject({ outcome: 'none', status: 'none' });
    expect(pipelineGateVerdict(none)).toBeUndefined();

    // The forge creates the pipeline after the push: the gate's first read sees none, a later one the pipeline.
    const later = 'c'.repeat(40);
    let reads = 0;
    const reading = {
      pipeline: async (sha: string) => {
        reads += 1;
        if (reads === 2) gitlab.addPipeline(project, later, 'success', [{ name: 'unit', status: 'success' }]);
        return client.pipeline(sha);
      },
      jobLog: (id: string) => client.jobLog(id),
    } as unknown as GitLabClient;
    const run = await waitForPipeline(reading, later, { timeoutMs: 30_000, appearMs: 30_000, pollMs: 20 });
    expect(run.outcome).toBe('passed');
    expect(reads).toBe(2);
  });

  it('passes the tests gate only when both the local run and the pipeline pass', () => {
    const pass = { passed: true, findings: [] };
    const local = { passed: false, findings: ['tests: adds: expected 3'] };
    const pipeline = { passed: false, findings: ['tests: pipeline job "unit" failed'] };
    expect(combineVerdicts(pass, undefined)).toBe(pass);
    expect(combineVerdicts(undefined, pipeline)).toBe(pipeline);
    expect(combineVerdicts(undefined, undefined)).toBeUndefined();
    expect(combineVerdicts(pass, pass)).toEqual(pass);
    expect(combineVerdicts(local, pipeline)).toEqual({
      passed: false,
      findings: [...local.findings, ...pipeline.findings],
    });
    expect(combineVerdicts(pass, pipeline)).toEqual(pipeline);
  });
});
