/**
 * @module The forge's pipeline (GitLab) or checks (GitHub) of the pushed head as an input to the tests gate: waits,
 * bounded, until the pipeline of that commit finishes, then reads it. A failed pipeline fails the gate with each
 * failing job's log tail (fetched through the forge client: GitLab's job trace, GitHub's Actions job log) as findings
 * for `implement_fix`; a pipeline still running at the deadline fails it with a finding that says so (the timeout is
 * the outcome, not a guess); a commit with no pipeline once `appearMs` has passed leaves the gate to the local run.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { ForgeClient, ForgeJob, PipelineStatus } from '../forge/forge-client.js';
import type { GateVerdict } from '../workflow/workflow-steps.js';

export interface PipelineWait {
  /** The longest wait for a running pipeline to finish. */
  timeoutMs: number;
  /** How long a commit may show no pipeline before it counts as having none (the forge creates it after the push). */
  appearMs: number;
  /** Between two reads. */
  pollMs: number;
  signal?: AbortSignal | undefined;
}

export const DEFAULT_PIPELINE_APPEAR_MS = 30_000;
export const DEFAULT_PIPELINE_POLL_MS = 5_000;

/** Lines of a failing job's log kept in its finding. */
const LOG_TAIL_LINES = 40;
/** Failing jobs whose logs are fetched (the rest are named). */
const MAX_JOB_LOGS = 3;

export interface FailedJob {
  name: string;
  url: string | null;
  /** The log's last lines; null when the forge would not give it (the reason in `log_error`). */
  log_tail: string | null;
  log_error?: string;
}

export interface PipelineRun {
  sha: string;
  /** The pipeline's status when read last; `timed_out` when it had not finished by the deadline. */
  outcome: 'passed' | 'failed' | 'none' | 'timed_out';
  status: PipelineStatus;
  url: string | null;
  jobs: { name: string; status: PipelineStatus }[];
  failed_jobs: FailedJob[];
  waited_ms: number;
  timeout_ms: number;
}

const FINISHED: ReadonlySet<PipelineStatus> = new Set(['success', 'failed', 'canceled', 'skipped']);

function tail(text: string, lines: number): string {
  return text.replace(/\r\n?/g, '\n').trimEnd().split('\n').slice(-lines).join('\n');
}

/** Waits for the pipeline of `sha` (see the module comment) and reads its failing jobs' logs. */
export async function waitForPipeline(client: ForgeClient, sha: string, wait: PipelineWait): Promise<PipelineRun> {
  const started = Date.now();
  const deadline = started + wait.timeoutMs;
  for (;;) {
    const pipeline = await client.pipeline(sha);
    const waited = Date.now() - started;
    const base = {
      sha,
      status: pipeline.status,
      url: pipeline.url,
      jobs: pipeline.jobs.map((j) => ({ name: j.name, status: j.status })),
      waited_ms: waited,
      timeout_ms: wait.timeoutMs,
    };
    if (pipeline.status === 'none' && waited >= Math.min(wait.appearMs, wait.timeoutMs)) {
      return { ...base, outcome: 'none', failed_jobs: [] };
    }
    if (FINISHED.has(pipeline.status)) {
      if (pipeline.status !== 'failed' && pipeline.status !== 'canceled') {
        return { ...base, outcome: 'passed', failed_jobs: [] };
      }
      const failing = pipeline.jobs.filter((j) => j.status === 'failed' || j.status === 'canceled');
      return { ...base, outcome: 'failed', failed_jobs: await failedJobs(client, failing) };
    }
    if (Date.now() >= deadline) return { ...base, outcome: 'timed_out', failed_jobs: [] };
    if (wait.signal?.aborted) throw wait.signal.reason ?? new Error('aborted');
    await delay(Math.max(0, Math.min(wait.pollMs, deadline - Date.now())), undefined, {
      ...(wait.signal ? { signal: wait.signal } : {}),
    });
  }
}

async function failedJobs(client: ForgeClient, jobs: ForgeJob[]): Promise<FailedJob[]> {
  return Promise.all(
    jobs.map(async (job, index): Promise<FailedJob> => {
      if (index >= MAX_JOB_LOGS) return { name: job.name, url: job.url, log_tail: null, log_error: 'not fetched' };
      try {
        return { name: job.name, url: job.url, log_tail: tail(await client.jobLog(job.id), LOG_TAIL_LINES) };
      } catch (error) {
        return { name: job.name, url: job.url, log_tail: null, log_error: (error as Error).message.slice(0, 500) };
      }
    }),
  );
}

/** The tests gate's verdict from the pipeline; undefined when there is none (the local run decides alone). */
export function pipelineGateVerdict(run: PipelineRun): GateVerdict | undefined {
  const where = run.url ? ` (${run.url})` : '';
  switch (run.outcome) {
    case 'none':
      return undefined;
    case 'passed':
      return { passed: true, findings: [] };
    case 'timed_out':
      return {
        passed: false,
        findings: [
          `tests: the pipeline of ${run.sha.slice(0, 12)} was still ${run.status} after ${Math.round(run.timeout_ms / 1000)} s${where}; ` +
            'it must finish (and pass) before the merge',
        ],
      };
    case 'failed': {
      const jobs = run.failed_jobs.map(
        (job) =>
          `tests: pipeline job "${job.name}" failed${job.url ? ` (${job.url})` : ''}\n` +
          (job.log_tail ?? `(its log could not be read: ${job.log_error ?? 'unknown'})`),
      );
      return {
        passed: false,
        findings: jobs.length > 0 ? jobs : [`tests: the pipeline of ${run.sha.slice(0, 12)} ${run.status}${where}`],
      };
    }
  }
}

/** Both verdicts of the tests gate (the local run's and the pipeline's) as one: it passes only if both pass. */
export function combineVerdicts(
  local: GateVerdict | undefined,
  pipeline: GateVerdict | undefined,
): GateVerdict | undefined {
  if (!local) return pipeline;
  if (!pipeline) return local;
  if (local.passed && pipeline.passed) return local;
  return {
    passed: false,
    findings: [...(local.passed ? [] : local.findings), ...(pipeline.passed ? [] : pipeline.findings)],
  };
}
