/**
 * @module What a human needs to decide a merge (`GET /api/merge-requests/:id`, the dashboard's approval card): the
 * merge request, its diff (capped, with a `truncated` flag), its notes, and the gates of the round it was opened
 * for — per gate the verdict, its findings and the deterministic run (test run, secret scan, lint) stored in the gate
 * task's `result.gates` — plus the earlier rounds' gates of its workflow. Reads rows and git; writes nothing.
 */
import { spawn } from 'node:child_process';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { AutodevError } from '../errors.js';
import { forgeRepository } from '../forge/forge-clients.js';
import type { ForgeClientContext } from '../forge/forge-client.js';
import { LocalForgeClient } from '../forge/local-forge-client.js';
import { syncWorkingCopy, workingCopyPath } from '../forge/working-copy.js';
import type { MergeRequestRow } from '../forge/merge-request-records.js';
import type { RepositoryRow } from '../forge/repositories.js';
import type { Database, TaskRow } from '../store/schema.js';
import { gitArgs, gitEnvironment } from '../workspace/git.js';
import { GATE_NAMES, GATE_TASK_TYPES, gateVerdict, type GateName, type StoryState } from './workflow-steps.js';

/** A diff above this many bytes is cut at a line end and flagged `truncated`. */
export const MAX_DIFF_BYTES = 500 * 1024;

// The shapes `agents/run-gates.ts` stores under `result.gates`; parsed leniently (a field it lacks becomes null).
const TestRunRecord = z.object({
  command: z.string(),
  commit: z.string().nullish(),
  passed: z.boolean(),
  exit_code: z.number().nullish(),
  timed_out: z.boolean().nullish(),
  counts: z
    .object({ passed: z.number(), failed: z.number(), skipped: z.number(), runner: z.string() })
    .nullish()
    .catch(null),
  coverage: z.number().nullish().catch(null),
  coverage_threshold: z.number().nullish().catch(null),
  output_tail: z.string().catch(''),
  duration_ms: z.number().nullish(),
});
const SecretFindingRecord = z.object({
  file: z.string(),
  line: z.number(),
  rule: z.string(),
  message: z.string(),
  commit: z.string().nullish(),
});
const SecretScanRecord = z.object({
  scanner: z.string().catch('secret scan'),
  passed: z.boolean(),
  findings: z.array(SecretFindingRecord).catch([]),
  history_findings: z.array(SecretFindingRecord).catch([]),
  squash: z.string().nullish().catch(null),
  duration_ms: z.number().nullish(),
});
type SecretFindingView = { file: string; line: number; rule: string; message: string; commit: string | null };
const secretFinding = (f: z.infer<typeof SecretFindingRecord>): SecretFindingView => ({
  ...f,
  commit: f.commit ?? null,
});
const LintRecord = z.object({
  command: z.string(),
  commit: z.string().nullish(),
  passed: z.boolean(),
  exit_code: z.number().nullish(),
  timed_out: z.boolean().nullish(),
  output_tail: z.string().catch(''),
  duration_ms: z.number().nullish(),
});

export type GateRun =
  | {
      kind: 'tests';
      command: string;
      commit: string | null;
      passed: boolean;
      exit_code: number | null;
      timed_out: boolean;
      counts: { passed: number; failed: number; skipped: number; runner: string } | null;
      coverage: number | null;
      coverage_threshold: number | null;
      output_tail: string;
      duration_ms: number | null;
    }
  | {
      kind: 'secret_scan';
      scanner: string;
      passed: boolean;
      /** Secrets the branch head still holds (each names the first commit that held it). */
      findings: SecretFindingView[];
      /** Secrets only earlier commits of the branch held: the merge squashes them away. */
      history_findings: SecretFindingView[];
      /** Why the merge squashes the branch, else null. */
      squash: string | null;
      duration_ms: number | null;
    }
  | {
      kind: 'lint';
      command: string;
      commit: string | null;
      passed: boolean;
      exit_code: number | null;
      timed_out: boolean;
      output_tail: string;
      duration_ms: number | null;
    };

export interface GateView {
  name: GateName;
  task_id: number | null;
  task_status: string | null;
  /** The gate's verdict as the workflow decides it (the deterministic run first); null while it has none. */
  passed: boolean | null;
  findings: string[];
  /** The agent's own words: its summary, verdict (`approve`/`request_changes`, `pass`/`fail`) and test counts. */
  summary: string | null;
  agent_verdict: string | null;
  agent_counts: { passed: number; failed: number; skipped: number } | null;
  run: GateRun | null;
}

export interface MergeRequestView {
  id: number;
  repo: { id: number; name: string } | null;
  workflow_id: number | null;
  title: string;
  description: string;
  source_branch: string;
  target_branch: string;
  status: string;
  head_sha: string | null;
  target_sha: string | null;
  merge_sha: string | null;
  created_at: string;
  updated_at: string;
  diff: {
    /** What was compared: the recorded target and head commits the gates passed on, else the branches. */
    base: string;
    head: string;
    text: string | null;
    bytes: number;
    truncated: boolean;
    limit_bytes: number;
    /** Why there is no diff (repository or commits gone), else null. */
    error: string | null;
  };
  notes: { id: number; author: string; kind: string; verdict: string | null; body: string; created_at: string }[];
  /** The round of the workflow the merge request was opened (or last refreshed) for; null without gate tasks. */
  round: number | null;
  gates: GateView[];
  earlier_rounds: { round: number; gates: GateView[] }[];
}

const GATE_TYPES = GATE_NAMES.map((gate) => GATE_TASK_TYPES[gate]);

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

interface GateTask {
  row: TaskRow;
  gate: GateName;
  round: number;
  branch: string | null;
  result: Record<string, unknown>;
}

function gateTask(row: TaskRow): GateTask | undefined {
  const gate = GATE_NAMES.find((name) => GATE_TASK_TYPES[name] === row.type);
  if (!gate) return undefined;
  const payload = record(parseJson(row.payload));
  return {
    row,
    gate,
    round: typeof payload.round === 'number' ? payload.round : 0,
    branch: typeof payload.branch === 'string' ? payload.branch : null,
    result: record(parseJson(row.result)),
  };
}

/** The deterministic run stored in a gate task's result, in the API's shape; null when none ran (or it is unreadable). */
function gateRun(gate: GateName, result: Record<string, unknown>): GateRun | null {
  const gates = record(result.gates);
  if (gate === 'tests') {
    const parsed = TestRunRecord.safeParse(gates.tests);
    if (!parsed.success) return null;
    const r = parsed.data;
    return {
      kind: 'tests',
      command: r.command,
      commit: r.commit ?? null,
      passed: r.passed,
      exit_code: r.exit_code ?? null,
      timed_out: r.timed_out ?? false,
      counts: r.counts ?? null,
      coverage: r.coverage ?? null,
      coverage_threshold: r.coverage_threshold ?? null,
      output_tail: r.output_tail,
      duration_ms: r.duration_ms ?? null,
    };
  }
  if (gate === 'security') {
    const parsed = SecretScanRecord.safeParse(gates.secret_scan);
    if (!parsed.success) return null;
    const r = parsed.data;
    return {
      kind: 'secret_scan',
      scanner: r.scanner,
      passed: r.passed,
      findings: r.findings.map(secretFinding),
      history_findings: r.history_findings.map(secretFinding),
      squash: r.squash ?? null,
      duration_ms: r.duration_ms ?? null,
    };
  }
  const parsed = LintRecord.safeParse(gates.lint);
  if (!parsed.success) return null;
  const r = parsed.data;
  return {
    kind: 'lint',
    command: r.command,
    commit: r.commit ?? null,
    passed: r.passed,
    exit_code: r.exit_code ?? null,
    timed_out: r.timed_out ?? false,
    output_tail: r.output_tail,
    duration_ms: r.duration_ms ?? null,
  };
}

const Verdict = z.object({ passed: z.boolean(), findings: z.array(z.string()), squash: z.string().optional() });

function gateView(gate: GateName, task: GateTask | undefined, stateVerdict?: { passed: boolean; findings: string[] }) {
  if (!task) {
    return {
      name: gate,
      task_id: null,
      task_status: null,
      passed: null,
      findings: [],
      summary: null,
      agent_verdict: null,
      agent_counts: null,
      run: null,
    } satisfies GateView;
  }
  const { result } = task;
  const completed = task.row.status === 'completed';
  // The workflow's own verdict when it still holds this round's; else the same computation it made.
  const deterministic = Verdict.safeParse(record(result.gates).verdict);
  const verdict = !completed
    ? null
    : (stateVerdict ?? gateVerdict(gate, result, deterministic.success ? deterministic.data : undefined));
  const counts =
    gate === 'tests' && typeof result.passed === 'number' && typeof result.failed === 'number'
      ? {
          passed: result.passed,
          failed: result.failed,
          skipped: typeof result.skipped === 'number' ? result.skipped : 0,
        }
      : null;
  return {
    name: gate,
    task_id: task.row.id,
    task_status: task.row.status,
    passed: verdict ? verdict.passed : null,
    findings: verdict ? verdict.findings : [],
    summary: typeof result.summary === 'string' ? result.summary : null,
    agent_verdict: typeof result.verdict === 'string' ? result.verdict : null,
    agent_counts: counts,
    run: gateRun(gate, result),
  } satisfies GateView;
}

/** Per gate, the newest task of `round` (tasks sorted by id ascending). */
function gatesOfRound(tasks: GateTask[], round: number, state: StoryState | null): GateView[] {
  return GATE_NAMES.map((gate) => {
    const task = tasks.filter((t) => t.gate === gate && t.round === round).at(-1);
    const fromState =
      state && state.round === round && task?.row.status === 'completed' ? state.gates?.[gate] : undefined;
    return gateView(gate, task, fromState);
  });
}

/**
 * The round a merge request was opened (or last refreshed) for: the newest round among the finished gate tasks on
 * its branch that finished by the time the request was last updated (opening and refreshing update it; the gates
 * that let it open are the last to finish before).
 */
function roundOf(mr: MergeRequestRow, tasks: GateTask[]): number | null {
  const onBranch = tasks.filter((t) => t.branch === mr.source_branch && t.row.finished_at !== null);
  const before = onBranch.filter((t) => (t.row.finished_at ?? 0) <= mr.updated_at);
  const chosen = (before.length > 0 ? before : onBranch).at(-1);
  return chosen ? chosen.round : null;
}

/**
 * `git diff base...head` read up to `limit` bytes: a longer one is cut at its last line end within the limit, and
 * git is stopped instead of buffering the rest.
 */
export function readDiff(
  repoPath: string,
  base: string,
  head: string,
  limit = MAX_DIFF_BYTES,
): Promise<{ text: string; bytes: number; truncated: boolean }> {
  const args = gitArgs(repoPath, ['diff', '--no-color', '--no-ext-diff', `${base}...${head}`, '--']);
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { env: gitEnvironment(process.env), stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (truncated) return;
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) {
        truncated = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4000) stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      let out = Buffer.concat(chunks);
      if (truncated) {
        out = out.subarray(0, limit);
        const lastNewline = out.lastIndexOf(0x0a);
        if (lastNewline >= 0) out = out.subarray(0, lastNewline + 1);
      } else if (code !== 0) {
        reject(
          new AutodevError(
            'GIT_FAILED',
            `git diff ${base}...${head} failed (exit ${code}): ${stderr.trim().split('\n')[0] ?? ''}`,
          ),
        );
        return;
      }
      resolve({ text: out.toString('utf8'), bytes: out.length, truncated });
    });
  });
}

/**
 * The diff from this process's working copy of the repository (`forge/working-copy.ts`). With a forge context, a diff
 * that fails there (the dashboard never fetched the branch, or has no clone yet on its disk) is read again after the
 * working copy is synced with the forge's remote.
 */
async function diffOf(
  repo: RepositoryRow | undefined,
  mr: MergeRequestRow,
  forge: ForgeClientContext | undefined,
): Promise<MergeRequestView['diff']> {
  if (!repo || !forge) return diffFrom(repo, mr);
  const first = await diffFrom({ ...repo, location: workingCopyPath(repo, forge.dataDir) }, mr);
  if (first.error === null || repo.remote_url === null || repo.forge === 'local') return first;
  const synced = await syncWorkingCopy(repo, forge).catch(() => undefined);
  return synced ? diffFrom(synced, mr) : first;
}

async function diffFrom(repo: RepositoryRow | undefined, mr: MergeRequestRow): Promise<MergeRequestView['diff']> {
  // The commits the gates passed on (they stay after the merge and after the branch moves); else the branches.
  const recorded = mr.target_sha !== null && mr.head_sha !== null;
  const base = recorded ? mr.target_sha! : mr.target_branch;
  const head = recorded ? mr.head_sha! : mr.source_branch;
  const empty = { base, head, text: null, bytes: 0, truncated: false, limit_bytes: MAX_DIFF_BYTES };
  if (!repo) return { ...empty, error: `repository ${mr.repo_id} is no longer registered` };
  try {
    const diff = recorded
      ? await readDiff(repo.location, base, head)
      : // The repository's local clone has both branches, whatever its forge.
        await new LocalForgeClient({ ...forgeRepository(repo), remoteUrl: null })
          .diff(mr.source_branch)
          .then((text) => {
            const bytes = Buffer.byteLength(text);
            if (bytes <= MAX_DIFF_BYTES) return { text, bytes, truncated: false };
            const cut = Buffer.from(text).subarray(0, MAX_DIFF_BYTES);
            const end = cut.lastIndexOf(0x0a);
            const kept = end >= 0 ? cut.subarray(0, end + 1) : cut;
            return { text: kept.toString('utf8'), bytes: kept.length, truncated: true };
          });
    return { ...empty, ...diff, error: null };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ...empty, error: `no diff: ${message}` };
  }
}

/** The merge request `id` with its diff, notes and gates; MERGE_REQUEST_NOT_FOUND when there is none. */
export async function mergeRequestView(
  db: Kysely<Database>,
  id: number,
  forge?: ForgeClientContext,
): Promise<MergeRequestView> {
  const mr = await db.selectFrom('merge_requests').selectAll().where('id', '=', id).executeTakeFirst();
  if (!mr) throw new AutodevError('MERGE_REQUEST_NOT_FOUND', `no merge request has id ${id}`);
  const repo = await db.selectFrom('repositories').selectAll().where('id', '=', mr.repo_id).executeTakeFirst();
  const notes = await db
    .selectFrom('merge_request_notes')
    .selectAll()
    .where('merge_request_id', '=', id)
    .orderBy('id')
    .execute();

  let tasks: GateTask[] = [];
  let state: StoryState | null = null;
  if (mr.workflow_id !== null) {
    const rows = await db
      .selectFrom('tasks')
      .selectAll()
      .where('workflow_id', '=', mr.workflow_id)
      .where('type', 'in', GATE_TYPES)
      .orderBy('id')
      .execute();
    tasks = rows.map(gateTask).filter((t): t is GateTask => t !== undefined);
    const workflow = await db
      .selectFrom('workflows')
      .select('state')
      .where('id', '=', mr.workflow_id)
      .executeTakeFirst();
    state = workflow ? (record(parseJson(workflow.state)) as unknown as StoryState) : null;
  }
  const round = roundOf(mr, tasks);
  const earlier = [...new Set(tasks.map((t) => t.round))]
    .filter((r) => round !== null && r < round)
    .sort((a, b) => b - a);

  return {
    id: mr.id,
    repo: repo ? { id: repo.id, name: repo.name } : null,
    workflow_id: mr.workflow_id,
    title: mr.title,
    description: mr.description,
    source_branch: mr.source_branch,
    target_branch: mr.target_branch,
    status: mr.status,
    head_sha: mr.head_sha,
    target_sha: mr.target_sha,
    merge_sha: mr.merge_sha,
    created_at: new Date(mr.created_at).toISOString(),
    updated_at: new Date(mr.updated_at).toISOString(),
    diff: await diffOf(repo, mr, forge),
    notes: notes.map((n) => ({
      id: n.id,
      author: n.author,
      kind: n.kind,
      verdict: n.verdict,
      body: n.body,
      created_at: new Date(n.created_at).toISOString(),
    })),
    round,
    gates: round === null ? GATE_NAMES.map((gate) => gateView(gate, undefined)) : gatesOfRound(tasks, round, state),
    earlier_rounds: earlier.map((r) => ({ round: r, gates: gatesOfRound(tasks, r, state) })),
  };
}
