/**
 * @module `autodev stories create --repo NAME --title T [--body B]`, `stories list`, `stories show ID`, `stories resume
 * ID [--note TEXT]`: start a story workflow at the PM, follow its stage, tasks, approvals and merge request, and
 * continue one that waits for a human.
 */
import { assertStorableText, parseIdText, TEXT_LIMITS } from '../../domain/input-policy.js';
import { resumeWorkflow } from '../../workflow/advance-workflow.js';
import { createStory, listStories, showStory, storyToJson } from '../../workflow/stories.js';
import { workflowDeps } from '../../workflow/workflow-deps.js';
import { withContext, type CliDeps, type GlobalOptions } from '../context.js';
import { formatTable, writeJson, writeLine } from '../format.js';
import { cliActor } from './approvals.js';

export type StoriesArgs =
  | {
      action: 'create';
      globals: GlobalOptions;
      repo: string;
      title: string;
      body?: string | undefined;
      json?: boolean | undefined;
    }
  | { action: 'list'; globals: GlobalOptions; json?: boolean | undefined }
  | { action: 'show'; globals: GlobalOptions; id: string; json?: boolean | undefined }
  | { action: 'resume'; globals: GlobalOptions; id: string; note?: string | undefined; json?: boolean | undefined };

function parseStoryId(text: string): number {
  return parseIdText('story id', text, '; "autodev stories list" shows the ids');
}

export async function run(args: StoriesArgs, deps: CliDeps): Promise<number> {
  if (args.action === 'create') {
    assertStorableText('--repo', args.repo, TEXT_LIMITS.name);
    assertStorableText('--title', args.title, TEXT_LIMITS.title);
    if (args.body !== undefined) assertStorableText('--body', args.body, TEXT_LIMITS.body);
    const row = await withContext(args.globals, deps, (ctx) =>
      createStory(ctx.handle.db, workflowDeps(ctx.queue, ctx.settings.workflow.max_fix_rounds), {
        repo: args.repo,
        title: args.title,
        body: args.body,
        actor: cliActor(deps),
      }),
    );
    if (args.json) writeJson(deps.stdout, storyToJson(row));
    else writeLine(deps.stdout, `story ${row.id} created; the PM writes it up next (stage ${row.stage})`);
    return 0;
  }
  if (args.action === 'resume') {
    const id = parseStoryId(args.id);
    if (args.note !== undefined) assertStorableText('--note', args.note, TEXT_LIMITS.reason);
    const row = await withContext(args.globals, deps, (ctx) =>
      resumeWorkflow(ctx.handle.db, workflowDeps(ctx.queue, ctx.settings.workflow.max_fix_rounds), id, {
        note: args.note,
        actor: cliActor(deps),
      }),
    );
    if (args.json) writeJson(deps.stdout, storyToJson(row));
    else writeLine(deps.stdout, `story ${row.id} resumed (stage ${row.stage}, fix rounds ${row.fix_rounds})`);
    return 0;
  }
  if (args.action === 'show') {
    const id = parseStoryId(args.id);
    const story = await withContext(args.globals, deps, (ctx) => showStory(ctx.handle.db, id));
    if (args.json) {
      writeJson(deps.stdout, story);
      return 0;
    }
    writeLine(deps.stdout, `story ${story.id}: ${story.title}`);
    writeLine(deps.stdout, `status ${story.status}, stage ${story.stage}, fix rounds ${story.fix_rounds}`);
    if (story.branch) writeLine(deps.stdout, `branch ${story.branch}`);
    if (story.human_summary) writeLine(deps.stdout, `waiting for a human: ${story.human_summary}`);
    if (story.halt?.reason)
      writeLine(deps.stdout, `stopped on task ${story.halt.task_id ?? '?'}: ${story.halt.reason}`);
    if (story.halt?.branch) {
      writeLine(deps.stdout, `"autodev stories resume ${story.id} --note ..." continues branch ${story.halt.branch}`);
    }
    if (story.deployment) writeLine(deps.stdout, `deployment ${story.deployment.outcome}: ${story.deployment.summary}`);
    writeLine(deps.stdout, '');
    writeLine(
      deps.stdout,
      formatTable(
        ['TASK', 'TYPE', 'STATUS'],
        story.tasks.map((t) => [String(t.id), t.type, t.status]),
      ),
    );
    for (const a of story.approvals) {
      writeLine(deps.stdout, `approval ${a.id} (${a.kind}): ${a.status}${a.reason ? ` - ${a.reason}` : ''}`);
    }
    for (const mr of story.merge_requests) {
      writeLine(deps.stdout, `merge request ${mr.id}: ${mr.source_branch} -> ${mr.target_branch} ${mr.status}`);
    }
    const cleanup = story.workspace_cleanup;
    if (cleanup) {
      writeLine(
        deps.stdout,
        `cleaned up: ${cleanup.removed_checkouts.length} checkout(s) removed, ` +
          `${cleanup.deleted_branches.length} merged branch(es) deleted`,
      );
      for (const kept of cleanup.kept_branches) {
        writeLine(deps.stdout, `kept ${kept.branch} in ${kept.repository}: ${kept.reason}`);
      }
    }
    return 0;
  }
  const rows = await withContext(args.globals, deps, (ctx) => listStories(ctx.handle.db));
  if (args.json) {
    writeJson(deps.stdout, { stories: rows.map(storyToJson) });
    return 0;
  }
  if (rows.length === 0) {
    writeLine(deps.stdout, 'no stories; start one with "autodev stories create --repo NAME --title T"');
    return 0;
  }
  writeLine(
    deps.stdout,
    formatTable(
      ['ID', 'STATUS', 'STAGE', 'FIXES', 'TITLE'],
      rows.map((r) => [String(r.id), r.status, r.stage, String(r.fix_rounds), r.title]),
    ),
  );
  return 0;
}
