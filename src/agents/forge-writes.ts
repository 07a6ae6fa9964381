/**
 * @module The PM's and the reviewer's results written into the repository's GitLab/GitHub forge, outside any
 * transaction and before the task completes: `create_epic` files the epic (a real epic where the forge has them, else
 * a parent issue; the summary says which) and its stories as issues labelled for the swarm and linked to it;
 * `create_user_story` files its stories; `prioritize_backlog` sets a priority label (and GitLab's weight) on each
 * ranked issue its `ref` names (`#12`, `issue 12`, an issue URL); `review_mr` posts each finding with a file and line
 * as a line comment on the merge request at the reviewed commit, and the verdict with the other findings (and any the
 * forge would not place on the diff) as one note. The writes are planned from the result, recorded before the first
 * forge call and carried out one by one through `forge-write-log.ts`, so a retried task never writes twice. A story
 * workflow's own `create_user_story` (created by the workflow) writes nothing (its story is the issue it came from,
 * or none): filing it again would start a second story. A forge failure fails the attempt (the retry carries out the rest of the same plan).
 */
import type { Kysely } from 'kysely';
import { isAutodevError } from '../errors.js';
import type { ForgeClient, ForgeEpic } from '../forge/forge-client.js';
import {
  markForgeWriteCalling,
  recordForgeWriteOutcome,
  recordForgeWritePlan,
  type ForgeWriteRow,
  type PlannedForgeWrite,
} from '../forge/forge-write-log.js';
import { openMergeRequestOf } from '../forge/merge-request-records.js';
import type { RepositoryRow } from '../forge/repositories.js';
import type { Task } from '../queue/task-record.js';
import type { Database, ForgeWriteStatus } from '../store/schema.js';
import { WORKFLOW_ACTOR } from '../workflow/advance-workflow.js';
import type { DoneResult } from './result-contracts.js';

export interface ForgeWriteDeps {
  db: Kysely<Database>;
  clock: () => number;
  /** The repository's forge client (`forgeClientFor` in the runtime; the stand-ins' clients in tests). */
  clientFor: (repository: RepositoryRow) => ForgeClient;
  /** The label that puts an issue in front of the swarm (`webhooks.swarm_label`). */
  swarmLabel: string;
  /** Who writes (the worker), for the events. */
  actor: string;
}

/** Labels starting with this are an issue's priority (`priority::8`; a scoped label on GitLab). */
export const PRIORITY_LABEL_PREFIX = 'priority::';

export interface ForgeWriteView {
  key: string;
  kind: string;
  status: ForgeWriteStatus;
  external_id: string | null;
  url: string | null;
  detail: Record<string, unknown>;
}

/** What the task's result keeps of its forge writes (`result.forge`). */
export interface ForgeWriteSummary {
  forge: 'gitlab' | 'github';
  /** The epic and the form it took: a real epic, or a parent issue its stories link to. */
  epic?: { form: 'epic' | 'parent_issue'; external_id: string | null; url: string | null };
  writes: ForgeWriteView[];
  /** Why nothing was written (e.g. the merge request is not in the forge yet). */
  skipped?: string;
}

const PM_WRITES = new Set(['create_epic', 'create_user_story', 'prioritize_backlog']);

interface Story {
  title: string;
  body: string;
  acceptance_criteria: string[];
  priority?: number | undefined;
  labels?: string[] | undefined;
}

type AnyDone = DoneResult<'create_epic'> | DoneResult<'create_user_story'> | Record<string, unknown>;

/**
 * Writes a done result of `task` into its repository's forge; undefined when the task type or the repository has
 * nothing to write there (a local repository, a story workflow's own story).
 */
export async function writeResultToForge(
  deps: ForgeWriteDeps,
  task: Task,
  repository: RepositoryRow,
  result: AnyDone,
  options: { reviewedSha?: string | undefined } = {},
): Promise<ForgeWriteSummary | undefined> {
  if (repository.forge !== 'gitlab' && repository.forge !== 'github') return undefined;
  const forge = repository.forge;
  // A story workflow's own `create_user_story` refines its story: filing it would start a second one.
  if (task.type === 'create_user_story' && task.createdBy === WORKFLOW_ACTOR) return undefined;
  if (!PM_WRITES.has(task.type) && task.type !== 'review_mr') return undefined;
  // A story's review is a gate: its verdict and line comments go on the merge request at gate time
  // (`publish-gate-verdict.ts`); a review asked for outside a story (a forge comment) is posted here.
  if (task.type === 'review_mr' && task.workflowId !== null && typeof task.payload.branch === 'string') {
    return undefined;
  }
  const planned = await planWrites(deps, task, result, options);
  if ('skipped' in planned) return { forge, writes: [], skipped: planned.skipped };
  const rows = await recordForgeWritePlan(deps.db, {
    taskId: task.id,
    repoId: repository.id,
    plan: planned.plan,
    now: deps.clock(),
  });
  if (rows.length === 0) return { forge, writes: [], skipped: 'the result names nothing to write' };
  const client = deps.clientFor(repository);
  const byKey = new Map(rows.map((r) => [r.write_key, r]));
  for (const row of rows) {
    if (row.status === 'done' || row.status === 'uncertain' || placedInNote(row)) continue;
    const done = await carryOut(deps, client, row, byKey);
    byKey.set(done.write_key, done);
  }
  return summaryOf(
    forge,
    [...byKey.values()].sort((a, b) => a.id - b.id),
  );
}

// ---------------------------------------------------------------------------------------------------------- plans

async function planWrites(
  deps: ForgeWriteDeps,
  task: Task,
  result: AnyDone,
  options: { reviewedSha?: string | undefined },
): Promise<{ plan: PlannedForgeWrite[] } | { skipped: string }> {
  const key = (suffix: string) => `task:${task.id}:${suffix}`;
  const r = result as Record<string, unknown>;
  switch (task.type) {
    case 'create_epic': {
      const epic = r.epic as { title: string; body: string };
      const stories = r.stories as Story[];
      return {
        plan: [
          { key: key('epic'), kind: 'epic', request: { title: epic.title, body: epic.body, labels: [] } },
          ...storyWrites(stories, key, deps.swarmLabel),
          ...stories.map((_s, i): PlannedForgeWrite => ({
            key: key(`link:${i}`),
            kind: 'link',
            request: { epic: key('epic'), issue: key(`story:${i}`) },
          })),
        ],
      };
    }
    case 'create_user_story':
      return { plan: storyWrites(r.stories as Story[], key, deps.swarmLabel) };
    case 'prioritize_backlog': {
      const ranked = r.ranked as { ref: string; priority: number }[];
      const plan: PlannedForgeWrite[] = [];
      ranked.forEach((item, i) => {
        const issue = issueRef(item.ref);
        if (issue === undefined) return;
        plan.push({
          key: key(`priority:${i}`),
          kind: 'priority',
          request: { issue, label: `${PRIORITY_LABEL_PREFIX}${item.priority}`, weight: item.priority },
        });
      });
      return plan.length === 0 ? { skipped: 'no ranked item names a forge issue (#N, issue N or its URL)' } : { plan };
    }
    case 'review_mr':
      return reviewWrites(deps, task, r, key, options.reviewedSha);
    default:
      return { skipped: `${task.type} writes nothing to the forge` };
  }
}

function storyWrites(stories: readonly Story[], key: (s: string) => string, swarmLabel: string): PlannedForgeWrite[] {
  return stories.map((story, i) => {
    const labels = [
      swarmLabel,
      ...(story.labels ?? []),
      ...(story.priority === undefined ? [] : [`${PRIORITY_LABEL_PREFIX}${story.priority}`]),
    ];
    const criteria = story.acceptance_criteria.map((c) => `- [ ] ${c}`).join('\n');
    return {
      key: key(`story:${i}`),
      kind: 'issue',
      request: {
        title: story.title,
        body: `${story.body.trim()}\n\n## Acceptance criteria\n\n${criteria}`,
        labels: [...new Set(labels)],
      },
    };
  });
}

/** `#12`, `issue 12`, `issue #12` or a URL ending in `/issues/12` -> `12`; anything else is not an issue. */
export function issueRef(ref: string): string | undefined {
  const text = ref.trim();
  const match =
    /^#(\d+)$/.exec(text) ?? /^issue\s+#?(\d+)$/i.exec(text) ?? /^https?:\/\/\S+\/issues\/(\d+)\/?$/.exec(text);
  return match?.[1];
}

interface Finding {
  severity: string;
  file?: string | undefined;
  line?: number | undefined;
  message: string;
}

async function reviewWrites(
  deps: ForgeWriteDeps,
  task: Task,
  result: Record<string, unknown>,
  key: (s: string) => string,
  reviewedSha: string | undefined,
): Promise<{ plan: PlannedForgeWrite[] } | { skipped: string }> {
  const payload = task.payload as { merge_request_id?: unknown };
  const mr =
    typeof payload.merge_request_id === 'number'
      ? await deps.db
          .selectFrom('merge_requests')
          .selectAll()
          .where('id', '=', payload.merge_request_id)
          .executeTakeFirst()
      : task.workflowId !== null
        ? await openMergeRequestOf(deps.db, task.workflowId)
        : undefined;
  if (!mr) return { skipped: 'the review names no merge request' };
  if (mr.external_id === null) return { skipped: `merge request ${mr.id} is not in the forge yet` };
  const headSha = reviewedSha ?? mr.head_sha;
  const findings = result.findings as Finding[];
  const placed = headSha ? findings.filter((f) => f.file !== undefined && f.line !== undefined) : [];
  const unplaced = findings.filter((f) => !placed.includes(f));
  const plan: PlannedForgeWrite[] = placed.map((f, i) => ({
    key: key(`finding:${i}`),
    kind: 'line_comment',
    request: {
      merge_request: mr.external_id,
      path: f.file,
      line: f.line,
      head_sha: headSha,
      body: `**${f.severity}**: ${f.message}`,
    },
  }));
  const verdict = result.verdict === 'approve' ? 'approves' : 'requests changes';
  const lines = unplaced.map((f) => `- **${f.severity}**${f.file ? ` \`${f.file}\`` : ''}: ${f.message}`);
  plan.push({
    key: key('review-note'),
    kind: 'note',
    request: {
      merge_request: mr.external_id,
      body:
        `Auto-Dev review (task ${task.id}) ${verdict}.\n\n${String(result.summary)}` +
        (lines.length > 0 ? `\n\nFindings without a line:\n${lines.join('\n')}` : ''),
    },
  });
  return { plan };
}

// ---------------------------------------------------------------------------------------------------- carrying out

async function carryOut(
  deps: ForgeWriteDeps,
  client: ForgeClient,
  row: ForgeWriteRow,
  byKey: ReadonlyMap<string, ForgeWriteRow>,
): Promise<ForgeWriteRow> {
  const request = JSON.parse(row.request) as Record<string, unknown>;
  const meta = () => ({ actor: deps.actor, now: deps.clock() });
  if (row.kind === 'link') {
    const waiting = [String(request.epic), String(request.issue)].map((k) => byKey.get(k));
    if (waiting.some((w) => w?.status === 'uncertain')) {
      return recordForgeWriteOutcome(
        deps.db,
        row,
        { status: 'uncertain', detail: { reason: 'what it links was left uncertain by a crash' } },
        meta(),
      );
    }
  }
  await markForgeWriteCalling(deps.db, row.id, deps.clock());
  try {
    const done = await call(client, row, request, byKey);
    return await recordForgeWriteOutcome(deps.db, row, { status: 'done', ...done }, meta());
  } catch (error) {
    if (row.kind === 'line_comment' && refusedPlacement(error)) {
      // The forge would not place it on the diff (a line outside the change): the review note carries it instead.
      return recordForgeWriteOutcome(
        deps.db,
        row,
        { status: 'failed', detail: { reason: (error as Error).message.slice(0, 500), in_note: true } },
        meta(),
      );
    }
    await recordForgeWriteOutcome(
      deps.db,
      row,
      { status: 'failed', detail: { reason: (error as Error).message.slice(0, 500) } },
      meta(),
    );
    throw error;
  }
}

async function call(
  client: ForgeClient,
  row: ForgeWriteRow,
  request: Record<string, unknown>,
  byKey: ReadonlyMap<string, ForgeWriteRow>,
): Promise<{ externalId: string | null; url: string | null; detail?: Record<string, unknown> }> {
  const issueInput = () => ({
    title: String(request.title),
    body: String(request.body),
    labels: request.labels as string[],
  });
  switch (row.kind) {
    case 'epic': {
      const epic = await client.createEpic(issueInput());
      return { externalId: epic.externalId, url: epic.url, detail: { form: epic.kind } };
    }
    case 'issue': {
      const issue = await client.createIssue(issueInput());
      return { externalId: issue.externalId, url: issue.url };
    }
    case 'link': {
      const epicRow = byKey.get(String(request.epic));
      const issueRow = byKey.get(String(request.issue));
      if (epicRow?.status !== 'done' || issueRow?.status !== 'done' || !epicRow.external_id || !issueRow.external_id) {
        throw new Error(`${row.write_key}: its epic or story was not created`);
      }
      const detail = JSON.parse(epicRow.detail) as { form?: ForgeEpic['kind'] };
      const epic: ForgeEpic = { externalId: epicRow.external_id, url: epicRow.url, kind: detail.form ?? 'epic' };
      await client.linkToEpic(epic, issueRow.external_id);
      return { externalId: issueRow.external_id, url: issueRow.url, detail: { form: epic.kind } };
    }
    case 'priority': {
      const issue = String(request.issue);
      await client.setIssuePriority(issue, {
        label: String(request.label),
        labelPrefix: PRIORITY_LABEL_PREFIX,
        weight: Number(request.weight),
      });
      return { externalId: issue, url: null, detail: { label: request.label } };
    }
    case 'line_comment': {
      const note = await client.addLineComment(String(request.merge_request), {
        path: String(request.path),
        line: Number(request.line),
        headSha: String(request.head_sha),
        body: String(request.body),
      });
      return { externalId: note.id, url: note.url };
    }
    case 'note': {
      const refused = [...byKey.values()].filter(
        (r) => r.kind === 'line_comment' && r.task_id === row.task_id && placedInNote(r),
      );
      const extra = refused.map((r) => {
        const c = JSON.parse(r.request) as { path: string; line: number; body: string };
        return `- \`${c.path}:${c.line}\` ${c.body}`;
      });
      const body =
        String(request.body) + (extra.length > 0 ? `\n\nFindings not placed on the diff:\n${extra.join('\n')}` : '');
      const note = await client.addNote(String(request.merge_request), body);
      return { externalId: note.id, url: note.url };
    }
  }
}

/** A line comment the forge would not place, carried by the review note instead: final, never retried. */
function placedInNote(row: ForgeWriteRow): boolean {
  return row.status === 'failed' && (JSON.parse(row.detail || '{}') as { in_note?: boolean }).in_note === true;
}

/** The forge refused a line comment's position (400/422, or no diff to comment on), not the request as a whole. */
function refusedPlacement(error: unknown): boolean {
  if (!isAutodevError(error)) return false;
  if (error.code === 'FORGE_CONFLICT') return true;
  const status = (error.details as { status?: number } | undefined)?.status;
  return error.code === 'FORGE_REQUEST_FAILED' && (status === 400 || status === 422);
}

function summaryOf(forge: 'gitlab' | 'github', rows: readonly ForgeWriteRow[]): ForgeWriteSummary {
  const writes = rows.map((r): ForgeWriteView => ({
    key: r.write_key,
    kind: r.kind,
    status: r.status,
    external_id: r.external_id,
    url: r.url,
    detail: JSON.parse(r.detail || '{}') as Record<string, unknown>,
  }));
  const epic = writes.find((w) => w.kind === 'epic');
  const form = epic?.detail.form;
  return {
    forge,
    ...(epic && (form === 'epic' || form === 'parent_issue')
      ? { epic: { form, external_id: epic.external_id, url: epic.url } }
      : {}),
    writes,
  };
}
