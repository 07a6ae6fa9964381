/**
 * @module The deterministic verdicts the workflow's gate join uses instead of an agent's: today the secret scan of
 * the branch's changes for the security gate (a finding fails it; a clean scan leaves the agent's verdict standing).
 */
import type { Kysely } from 'kysely';
import type { Task } from '../queue/task-record.js';
import type { Database } from '../store/schema.js';
import type { WorkflowRow } from '../workflow/advance-workflow.js';
import type { GateVerdict, StoryState } from '../workflow/workflow-steps.js';
import { scanBranchForSecrets } from './secret-scan.js';

export async function deterministicGateVerdict(
  tx: Kysely<Database>,
  workflow: WorkflowRow,
  state: StoryState,
  task: Task,
): Promise<GateVerdict | undefined> {
  if (task.type !== 'security_scan' || workflow.repo_id === null || !state.branch) return undefined;
  const repo = await tx.selectFrom('repositories').selectAll().where('id', '=', workflow.repo_id).executeTakeFirst();
  if (!repo) return undefined;
  const findings = await scanBranchForSecrets(repo.location, repo.default_branch, state.branch);
  if (findings.length === 0) return undefined;
  return {
    passed: false,
    findings: findings.map(
      (f) => `security: [secret] ${f.file}:${f.line} ${f.rule}: ${f.message} (remove it and rotate the credential)`,
    ),
  };
}
