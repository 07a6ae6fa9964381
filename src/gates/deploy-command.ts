/**
 * @module The deployment: the repository's deploy command on the merged commit, in a sandboxed throwaway checkout
 * WITH network (a deployment talks to its target), with only the secrets the repository's settings name
 * (`deploy_secrets`), their values taken from `env` (the caller puts the secret store's values there). Secret values never leave this module:
 * the output tail is masked before it is returned. No deploy command is a recorded no-op, said plainly.
 */
import type { SandboxMode } from '../workspace/sandbox.js';
import { outputTail, runInCheckout } from './checkout-command.js';

export interface DeployOptions {
  repoName: string;
  repoPath: string;
  /** The merged commit to deploy. */
  ref: string;
  command: string | null;
  /** Environment variable names passed to the command (values from `env`). */
  secretNames: readonly string[];
  mode: SandboxMode;
  timeoutMs: number;
  env: Readonly<Record<string, string | undefined>>;
  bwrapPath?: string;
  hiddenPaths?: readonly string[];
  signal?: AbortSignal;
}

export interface DeployRecord {
  outcome: 'succeeded' | 'failed' | 'skipped';
  summary: string;
  command: string | null;
  commit: string | null;
  exit_code: number | null;
  timed_out: boolean;
  duration_ms: number;
  /** Secret values replaced by `***`. */
  output_tail: string;
  /** The secrets passed (names only), and the named ones Auto-Dev's environment lacks. */
  secrets_passed: string[];
  secrets_missing: string[];
}

/** Replaces every occurrence of each secret value (4 characters or longer) with `***`. Pure. */
export function maskSecrets(text: string, values: readonly string[]): string {
  let masked = text;
  for (const value of [...values].filter((v) => v.length >= 4).sort((a, b) => b.length - a.length)) {
    masked = masked.split(value).join('***');
  }
  return masked;
}

export function noDeployCommandSummary(repoName: string): string {
  return `no deploy command is configured for repository ${repoName}; nothing was deployed`;
}

export async function runDeploy(options: DeployOptions): Promise<DeployRecord> {
  const passed = options.secretNames.filter((name) => options.env[name] !== undefined);
  const missing = options.secretNames.filter((name) => options.env[name] === undefined);
  if (options.command === null) {
    return {
      outcome: 'skipped',
      summary: noDeployCommandSummary(options.repoName),
      command: null,
      commit: null,
      exit_code: null,
      timed_out: false,
      duration_ms: 0,
      output_tail: '',
      secrets_passed: [],
      secrets_missing: [],
    };
  }
  const run = await runInCheckout({
    repoPath: options.repoPath,
    ref: options.ref,
    command: options.command,
    mode: options.mode,
    timeoutMs: options.timeoutMs,
    env: options.env,
    allowEnv: passed,
    network: true,
    ...(options.bwrapPath ? { bwrapPath: options.bwrapPath } : {}),
    ...(options.hiddenPaths ? { hiddenPaths: options.hiddenPaths } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const values = passed.map((name) => options.env[name] as string);
  const ok = run.exitCode === 0 && !run.timedOut;
  const what = run.timedOut
    ? `timed out after ${Math.round(run.durationMs / 1000)}s`
    : `exit code ${String(run.exitCode)}`;
  return {
    outcome: ok ? 'succeeded' : 'failed',
    summary: ok
      ? `deployed ${run.commit.slice(0, 12)} of ${options.repoName} with "${options.command}"`
      : `the deployment of ${run.commit.slice(0, 12)} of ${options.repoName} failed (${what})`,
    command: options.command,
    commit: run.commit,
    exit_code: run.exitCode,
    timed_out: run.timedOut,
    duration_ms: run.durationMs,
    // Masked before the tail is cut, so a value split at the cut cannot leak either.
    output_tail: outputTail(maskSecrets(run.output, values)),
    secrets_passed: passed,
    secrets_missing: missing,
  };
}
