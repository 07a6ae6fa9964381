/**
 * @module `autodev projects list|show ID|approve ID|reject ID --reason R|defer ID --notes N [--until DATE]|reopen ID|
 * publish-retry ID`: the product pipeline's project approval from the shell. Decisions record who (`cli:<user>`),
 * when and why, like the other gates. The commander definitions are `projects-command.ts`.
 */
import { assertStorableText, parseIdText, TEXT_LIMITS } from '../../domain/input-policy.js';
import {
  approveProject,
  deferProject,
  parseUntil,
  rejectProject,
  reopenProject,
  retryProject,
} from '../../workflow/project-decisions.js';
import { RATING_NAMES, type ProjectDetail, type ProjectRating } from '../../domain/project-schema.js';
import { listProjects, projectDetail } from '../../workflow/projects.js';
import { workflowDeps } from '../../workflow/workflow-deps.js';
import { withContext, type CliDeps, type GlobalOptions } from '../context.js';
import { formatTable, writeJson, writeLine } from '../format.js';
import { cliActor } from './approvals.js';

/** The subcommands that name one project. */
export type ProjectAction = 'show' | 'approve' | 'reject' | 'defer' | 'reopen' | 'publish-retry';

export type ProjectsArgs =
  | { action: 'list'; globals: GlobalOptions; status?: string | undefined; json?: boolean | undefined }
  | {
      action: ProjectAction;
      globals: GlobalOptions;
      id: string;
      reason?: string | undefined;
      notes?: string | undefined;
      until?: string | undefined;
      json?: boolean | undefined;
    };

function parseProjectId(text: string): number {
  return parseIdText('project id', text, '; "autodev projects list" shows the ids');
}

/** A rating's score, or `-` while it is not given (the Architect's, before its assessment). */
const score = (rating: ProjectRating | null) => (rating ? String(rating.score) : '-');

const RATER_NAMES = { pm: 'PM', architect: 'Architect' } as const;

/** The ratings and the Architect's assessment, each rating with who gave it. */
function writeAssessment(out: CliDeps['stdout'], detail: ProjectDetail): void {
  for (const name of RATING_NAMES) {
    const r = detail.ratings[name];
    const line = r ? `${r.score}/10  (${RATER_NAMES[r.by]}) ${r.reason}` : '-     (Architect) not assessed yet';
    writeLine(out, `  ${name.padEnd(11)} ${line}`);
  }
  const a = detail.assessment;
  if (a.status === 'pending') writeLine(out, "  assessment: pending (the Architect's evaluate_feasibility task runs)");
  if (a.status === 'failed') {
    writeLine(
      out,
      `  assessment: FAILED: ${a.error ?? '?'} ("autodev projects publish-retry ${detail.id}" asks again)`,
    );
  }
  if (a.status !== 'done') return;
  writeLine(out, `  assessment: ${a.verdict?.replace(/_/g, ' ') ?? '?'}, by ${a.by ?? '?'} at ${a.at ?? '?'}`);
  if (a.estimate) writeLine(out, `  estimate:  ${a.estimate.duration}, ${a.estimate.tokens} tokens (Architect)`);
  for (const concern of a.concerns) writeLine(out, `  concern:   ${concern}`);
  if (a.approach) writeLine(out, `  approach:  ${a.approach.replace(/\n/g, '\n             ')}`);
}

export async function run(args: ProjectsArgs, deps: CliDeps): Promise<number> {
  if (args.action === 'list') {
    const projects = await withContext(args.globals, deps, (ctx) =>
      listProjects(ctx.handle.db, { status: args.status }),
    );
    if (args.json) writeJson(deps.stdout, { projects });
    else if (projects.length === 0) writeLine(deps.stdout, 'no projects');
    else {
      writeLine(
        deps.stdout,
        formatTable(
          ['ID', 'NAME', 'STATUS', 'MARKET', 'FEASIBILITY', 'EFFORT', 'RISK', 'TOKENS', 'TITLE'],
          projects.map((p) => [
            String(p.id),
            p.name,
            p.status,
            score(p.ratings.market),
            score(p.ratings.feasibility),
            score(p.ratings.effort),
            score(p.ratings.risk),
            String(p.estimated_tokens),
            p.title,
          ]),
        ),
      );
    }
    return 0;
  }
  const id = parseProjectId(args.id);
  if (args.reason !== undefined) assertStorableText('--reason', args.reason, TEXT_LIMITS.reason);
  if (args.notes !== undefined) assertStorableText('--notes', args.notes, TEXT_LIMITS.reason);
  const until = args.action === 'defer' ? parseUntil(args.until) : null;
  const actor = cliActor(deps);
  const detail = await withContext(args.globals, deps, async (ctx) => {
    const workflow = workflowDeps(ctx.queue, ctx.settings.workflow.max_fix_rounds);
    const db = ctx.handle.db;
    if (args.action === 'approve') await approveProject(db, workflow, { id, actor });
    else if (args.action === 'reject') await rejectProject(db, workflow, { id, actor, reason: args.reason });
    else if (args.action === 'defer') await deferProject(db, workflow, { id, actor, notes: args.notes, until });
    else if (args.action === 'reopen') await reopenProject(db, workflow, { id, actor });
    else if (args.action === 'publish-retry') await retryProject(workflow, id, actor);
    return projectDetail(db, id);
  });
  if (args.json) {
    writeJson(deps.stdout, detail);
    return 0;
  }
  if (args.action !== 'show') {
    const last = detail.decisions.at(-1);
    const why = last?.reason ? ` (${last.reason})` : '';
    writeLine(deps.stdout, `project ${detail.id} (${detail.name}) is ${detail.status}${why}`);
    return 0;
  }
  writeLine(deps.stdout, `project ${detail.id}: ${detail.title} (${detail.name}), ${detail.status}`);
  writeLine(deps.stdout, `  problem:   ${detail.problem}`);
  writeLine(deps.stdout, `  audience:  ${detail.audience}`);
  writeLine(deps.stdout, `  targets:   ${detail.targets.join(', ')}; estimated tokens ${detail.estimated_tokens} (PM)`);
  writeAssessment(deps.stdout, detail);
  if (detail.deferred_until) writeLine(deps.stdout, `  deferred until ${detail.deferred_until}`);
  for (const d of detail.decisions) {
    writeLine(deps.stdout, `  ${d.at} ${d.decision} by ${d.by}${d.reason ? `: ${d.reason}` : ''}`);
  }
  if (detail.repo) writeLine(deps.stdout, `  repository: ${detail.repo}; story ${detail.story_id ?? '-'}`);
  for (const p of detail.publications) {
    writeLine(deps.stdout, `  ${p.target}: ${p.status}${p.url ? ` ${p.url}` : ''}${p.error ? ` (${p.error})` : ''}`);
  }
  writeLine(deps.stdout);
  writeLine(deps.stdout, detail.spec_markdown);
  return 0;
}
