/**
 * @module `autodev approvals list|approve ID|reject ID --reason R`: the human gates (spec, merge) from the shell.
 * A decision records who (`cli:<user>`), when and why, and moves the approval's workflow on.
 */
import os from 'node:os';
import { AutodevError } from '../../errors.js';
import { assertStorableText, parseIdText, TEXT_LIMITS } from '../../domain/input-policy.js';
import { approvalToJson, decideApproval, listApprovals } from '../../workflow/approvals.js';
import { workflowDeps } from '../../workflow/workflow-deps.js';
import { withContext, type CliDeps, type GlobalOptions } from '../context.js';
import { formatAge, formatTable, writeJson, writeLine } from '../format.js';

export type ApprovalsArgs =
  | { action: 'list'; globals: GlobalOptions; status?: string | undefined; json?: boolean | undefined }
  | { action: 'approve'; globals: GlobalOptions; id: string; reason?: string | undefined; json?: boolean | undefined }
  | { action: 'reject'; globals: GlobalOptions; id: string; reason?: string | undefined; json?: boolean | undefined };

export function parseApprovalId(text: string): number {
  return parseIdText('approval id', text, '; "autodev approvals list" shows the ids');
}

export function cliActor(deps: CliDeps): string {
  const user = deps.env.USER || deps.env.LOGNAME || os.userInfo().username;
  return `cli:${user}`;
}

export async function run(args: ApprovalsArgs, deps: CliDeps): Promise<number> {
  if (args.action === 'list') {
    const rows = await withContext(args.globals, deps, (ctx) =>
      listApprovals(ctx.handle.db, args.status === undefined ? {} : { status: args.status }),
    );
    if (args.json) {
      writeJson(deps.stdout, { approvals: rows.map(approvalToJson) });
      return 0;
    }
    if (rows.length === 0) {
      writeLine(deps.stdout, 'no approvals');
      return 0;
    }
    const now = deps.now();
    writeLine(
      deps.stdout,
      formatTable(
        ['ID', 'KIND', 'STATUS', 'WORKFLOW', 'AGE', 'DECIDED BY', 'TITLE'],
        rows.map((r) => [
          String(r.id),
          r.kind,
          r.status,
          r.workflow_id === null ? '-' : String(r.workflow_id),
          formatAge(now - r.created_at),
          r.decided_by ?? '-',
          r.title,
        ]),
      ),
    );
    return 0;
  }
  const id = parseApprovalId(args.id);
  if (args.reason !== undefined) assertStorableText('--reason', args.reason, TEXT_LIMITS.reason);
  const decision = args.action === 'approve' ? 'approved' : 'rejected';
  if (decision === 'rejected' && (args.reason ?? '').trim() === '') {
    throw new AutodevError('REASON_REQUIRED', `rejecting approval ${id} needs a reason: --reason "..."`);
  }
  const row = await withContext(args.globals, deps, async (ctx) => {
    const workflow = workflowDeps(ctx.queue, ctx.settings.workflow.max_fix_rounds);
    return decideApproval(ctx.handle.db, workflow, { id, decision, reason: args.reason, actor: cliActor(deps) });
  });
  if (args.json) writeJson(deps.stdout, approvalToJson(row));
  else writeLine(deps.stdout, `approval ${row.id} (${row.kind}) ${row.status} by ${row.decided_by ?? '?'}`);
  return 0;
}
