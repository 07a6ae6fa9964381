/**
 * @module Where the swarm learns: the minimal hooks that turn a moment worth remembering into a memory note, inside
 * the transaction of the change that teaches it (so a rolled-back change leaves no note). Each builder is pure (what
 * to remember, or nothing); the writers add the note for the task's or workflow's repository.
 * - a completed `analyze_repo`: its summary and observations (`analyze_repo`);
 * - a review asking for changes: its major and critical findings (`review_lesson`);
 * - a failed round (a failing gate, failing tests, a failed security scan): why (`failed_round`);
 * - an approved spec: its title and decisions (`spec_decision`);
 * - a human's rejection: what was rejected and the reason (`human_rejection`).
 */
import type { Kysely } from 'kysely';
import type { Database, MemorySource } from '../store/schema.js';
import { addMemoryNote } from './memory-notes.js';

export interface Learning {
  source: MemorySource;
  text: string;
}

const MAX_ITEMS = 8;

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value.slice(0, MAX_ITEMS) : [];
}

/** What a completed task teaches, if anything. `gate` is the deterministic gate's verdict, when one ran. */
export function learningsFromTask(
  task: { id: number; type: string; payload: Record<string, unknown> },
  result: Record<string, unknown>,
  gate?: { passed: boolean; findings: string[] },
): Learning[] {
  const learnings: Learning[] = [];
  const summary = str(result.summary);
  const title = str(task.payload.title);
  const about = title ? ` ("${title}")` : '';
  if (task.type === 'analyze_repo' && result.status === 'done' && summary) {
    const observations = list(result.observations).map(str).filter(Boolean);
    learnings.push({
      source: 'analyze_repo',
      text: [`Repository analysis: ${summary}`, ...observations.map((o) => `- ${o}`)].join('\n'),
    });
  }
  if (task.type === 'review_mr' && result.verdict === 'request_changes') {
    const findings = list(result.findings)
      .map((f) => f as { severity?: unknown; file?: unknown; message?: unknown })
      .filter((f) => f.severity === 'critical' || f.severity === 'major')
      .map((f) => `- ${String(f.severity)}${str(f.file) ? ` in ${String(f.file)}` : ''}: ${str(f.message) ?? ''}`);
    if (findings.length > 0) {
      learnings.push({ source: 'review_lesson', text: [`Review asked for changes${about}:`, ...findings].join('\n') });
    }
  }
  if (task.type === 'run_tests' && typeof result.failed === 'number' && result.failed > 0) {
    const failures = list(result.failures)
      .map((f) => f as { name?: unknown; message?: unknown })
      .map((f) => `- ${str(f.name) ?? 'a test'}: ${str(f.message) ?? ''}`);
    learnings.push({
      source: 'failed_round',
      text: [`Tests failed${about} (${result.failed} failing): ${summary ?? ''}`, ...failures].join('\n'),
    });
  }
  if (task.type === 'security_scan' && result.verdict === 'fail') {
    learnings.push({ source: 'failed_round', text: `Security scan failed${about}: ${summary ?? ''}` });
  }
  if (gate && !gate.passed && gate.findings.length > 0) {
    learnings.push({
      source: 'failed_round',
      text: [`The ${task.type} gate failed${about}:`, ...gate.findings.slice(0, MAX_ITEMS).map((f) => `- ${f}`)].join(
        '\n',
      ),
    });
  }
  return learnings;
}

/** What a human's decision on an approval teaches: a spec's decision when approved, the reason when rejected. */
export function learningsFromDecision(approval: {
  kind: string;
  status: string;
  title: string;
  body: string;
  reason: string | null;
}): Learning[] {
  if (approval.status === 'rejected' && approval.reason) {
    return [
      {
        source: 'human_rejection',
        text: `A human rejected the ${approval.kind} "${approval.title}": ${approval.reason}`,
      },
    ];
  }
  if (approval.status === 'approved' && approval.kind === 'spec') {
    const note = approval.reason ? `\nApprover's note: ${approval.reason}` : '';
    return [{ source: 'spec_decision', text: `Approved spec "${approval.title}":\n${approval.body}${note}` }];
  }
  return [];
}

/** Adds each learning as a note of `repoId` (cut to the note limit), in the caller's transaction. */
export async function rememberLearnings(
  tx: Kysely<Database>,
  learnings: readonly Learning[],
  where: { repoId: number | null; subject: string; actor: string; now: number },
): Promise<void> {
  for (const learning of learnings) {
    await addMemoryNote(tx, {
      repoId: where.repoId,
      source: learning.source,
      text: learning.text,
      subject: where.subject,
      createdBy: where.actor,
      now: where.now,
      truncate: true,
    });
  }
}

/** The repository of a workflow (null when it has none or does not exist). */
export async function workflowRepoId(tx: Kysely<Database>, workflowId: number | null): Promise<number | null> {
  if (workflowId === null) return null;
  const row = await tx.selectFrom('workflows').select('repo_id').where('id', '=', workflowId).executeTakeFirst();
  return row?.repo_id ?? null;
}
