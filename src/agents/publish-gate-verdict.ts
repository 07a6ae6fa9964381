/**
 * @module A gate's verdict on the story's merge request in its GitLab/GitHub forge, at gate time: the handler of a
 * gate task (review, tests, security) on a remote-forge repository, after its session and deterministic gate and
 * before the completing transaction, has the task branch pushed and the merge request opened or refreshed and
 * recorded (`forge/open-in-forge.ts`), then posts the gate's verdict as a note (passed or failed, with its findings)
 * and each finding that names a file and line (the reviewer's and security's findings, the secret scan's) as a line
 * comment on the pushed head. A line the forge refuses to comment on (not in the diff) is listed in the note instead.
 * What was posted goes to the task's result (`result.forge`); a forge that cannot be reached is recorded there with
 * its error and changes no verdict (the merge step opens the request again before merging).
 */
import type { Kysely } from 'kysely';
import type { ForgeClient, ForgeClientContext } from '../forge/forge-client.js';
import { forgeClientFor } from '../forge/forge-clients.js';
import { openMergeRequestInForge } from '../forge/open-in-forge.js';
import type { Task } from '../queue/task-record.js';
import type { Database } from '../store/schema.js';
import {
  GATE_NAMES,
  GATE_TASK_TYPES,
  gateVerdict,
  type GateName,
  type GateVerdict,
} from '../workflow/workflow-steps.js';

export interface PublishGateDeps {
  db: Kysely<Database>;
  serializesWriters: boolean;
  forge: ForgeClientContext;
  clock: () => number;
  /** Who records the merge request (the worker). */
  actor: string;
}

interface LocatedFinding {
  path: string;
  line: number;
  body: string;
}

const GATE_TITLES: Record<GateName, string> = {
  review: 'Review (reviewer)',
  tests: 'Tests (tester)',
  security: 'Security (security)',
};

/** Findings listed in one note at most (the rest counted). */
const MAX_NOTE_FINDINGS = 30;
/** Line comments posted per gate at most. */
const MAX_LINE_COMMENTS = 20;

function gateOfTask(type: string): GateName | undefined {
  return GATE_NAMES.find((gate) => GATE_TASK_TYPES[gate] === type);
}

/** The findings of a result (the agent's `findings`, the secret scan's) that point at a file and line. */
export function locatedFindings(gate: GateName, result: Record<string, unknown>): LocatedFinding[] {
  const located: LocatedFinding[] = [];
  const agent = Array.isArray(result.findings) ? (result.findings as Record<string, unknown>[]) : [];
  for (const f of agent) {
    if (typeof f.file !== 'string' || typeof f.line !== 'number' || f.line < 1) continue;
    const severity = typeof f.severity === 'string' ? `[${f.severity}] ` : '';
    located.push({ path: f.file, line: f.line, body: `${gate}: ${severity}${String(f.message ?? '')}` });
  }
  const gates = (result.gates ?? {}) as { secret_scan?: { findings?: Record<string, unknown>[] } };
  for (const f of gates.secret_scan?.findings ?? []) {
    if (typeof f.file !== 'string' || typeof f.line !== 'number') continue;
    located.push({
      path: f.file,
      line: f.line,
      body: `security: [secret] ${String(f.rule)}: ${String(f.message)} (remove it and rotate the credential)`,
    });
  }
  return located;
}

/** The verdict note's Markdown. */
export function verdictNote(
  gate: GateName,
  verdict: GateVerdict,
  round: number,
  sha: string | null,
  unplaced: string[],
) {
  const head = `**${GATE_TITLES[gate]}: ${verdict.passed ? 'passed' : 'failed'}** (Auto-Dev, round ${round}${sha ? `, head ${sha.slice(0, 12)}` : ''})`;
  const findings = verdict.findings.slice(0, MAX_NOTE_FINDINGS).map((f) => {
    const [first = '', ...rest] = f.split('\n');
    return rest.length > 0 ? `- ${first}\n\n  \`\`\`\n${rest.map((l) => `  ${l}`).join('\n')}\n  \`\`\`` : `- ${first}`;
  });
  const more =
    verdict.findings.length > MAX_NOTE_FINDINGS ? [`- … and ${verdict.findings.length - MAX_NOTE_FINDINGS} more`] : [];
  const squash = verdict.squash ? [`The merge will squash the branch: ${verdict.squash}.`] : [];
  const notPlaced =
    unplaced.length > 0 ? ['Findings on lines outside the change:', ...unplaced.map((u) => `- ${u}`)] : [];
  return [
    head,
    ...(findings.length > 0 ? ['', ...findings, ...more] : []),
    ...(squash.length ? ['', ...squash] : []),
    ...(notPlaced.length ? ['', ...notPlaced] : []),
  ].join('\n');
}

/**
 * Publishes the verdict of gate task `task` (result as it will be stored, deterministic verdict) on its story's merge
 * request in the forge; returns what to store under `result.forge`, or undefined when there is nothing to publish
 * (no gate, no story, a local repository, no branch).
 */
export async function publishGateVerdict(
  deps: PublishGateDeps,
  task: Task,
  result: Record<string, unknown>,
  deterministic?: GateVerdict,
): Promise<Record<string, unknown> | undefined> {
  const gate = gateOfTask(task.type);
  const branch = typeof task.payload.branch === 'string' ? task.payload.branch : undefined;
  if (!gate || task.workflowId === null || task.repoId === null || !branch) return undefined;
  const repo = await deps.db.selectFrom('repositories').selectAll().where('id', '=', task.repoId).executeTakeFirst();
  if (!repo || repo.forge === 'local' || branch === repo.default_branch) return undefined;
  const workflow = await deps.db
    .selectFrom('workflows')
    .select(['id', 'state'])
    .where('id', '=', task.workflowId)
    .executeTakeFirst();
  if (!workflow) return undefined;
  const state = JSON.parse(workflow.state) as { title?: string; body?: string };
  const round = typeof task.payload.round === 'number' ? task.payload.round : 0;
  const verdict = gateVerdict(gate, result, deterministic);
  try {
    const client = forgeClientFor(repo, deps.forge);
    const { row, opened } = await openMergeRequestInForge(
      { db: deps.db, serializesWriters: deps.serializesWriters, clock: deps.clock },
      client,
      {
        workflowId: workflow.id,
        branch,
        title: state.title ?? String(task.payload.title ?? branch),
        description: state.body ?? '',
        actor: deps.actor,
      },
    );
    const comments = await postLineComments(client, opened.externalId, opened.headSha, locatedFindings(gate, result));
    const note = await client.addNote(
      opened.externalId,
      verdictNote(gate, verdict, round, opened.headSha, comments.unplaced),
    );
    return {
      merge_request: { id: row.id, external_id: opened.externalId, url: opened.url, head_sha: opened.headSha },
      note: { id: note.id, url: note.url, passed: verdict.passed },
      line_comments: comments.posted,
      ...(comments.unplaced.length > 0 ? { unplaced_findings: comments.unplaced } : {}),
    };
  } catch (error) {
    return { error: `the verdict was not published in ${repo.forge}: ${(error as Error).message}`.slice(0, 2000) };
  }
}

async function postLineComments(
  client: ForgeClient,
  externalId: string,
  headSha: string | null,
  findings: LocatedFinding[],
): Promise<{ posted: number; unplaced: string[] }> {
  let posted = 0;
  const unplaced: string[] = [];
  for (const finding of findings.slice(0, MAX_LINE_COMMENTS)) {
    if (!headSha) {
      unplaced.push(`${finding.path}:${finding.line}: ${finding.body}`);
      continue;
    }
    try {
      await client.addLineComment(externalId, { path: finding.path, line: finding.line, headSha, body: finding.body });
      posted += 1;
    } catch {
      // The forge places line comments only on lines of the change; the note lists the others.
      unplaced.push(`${finding.path}:${finding.line}: ${finding.body}`);
    }
  }
  return { posted, unplaced };
}
