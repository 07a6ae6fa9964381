/**
 * @module The story board and the story page, read-only: the stories as cards (column, repository, round, gate
 * badges, cost so far, who it waits for), a page at a time in four queries whatever the number of stories, and one story's whole life
 * as a timeline (stages with their tasks and sessions, gate rounds with verdicts and findings, approvals, merge
 * requests, commits, deployment, cost per role). Shapes: `server/schemas/story-board.ts`.
 */
import { sql, type Kysely } from 'kysely';
import { roleForTaskType, isTaskType, type TaskStatus } from '../domain/roles.js';
import { AutodevError } from '../errors.js';
import { decodeCursor, encodeCursor } from '../queue/read-tasks.js';
import type { Database, WorkflowsTable } from '../store/schema.js';
import type { Selectable } from 'kysely';
import {
  BOARD_COLUMNS,
  type BoardColumn,
  type StoryBoard,
  type StoryCard,
  type StoryTimeline,
} from '../domain/story-board-schema.js';
import { GATE_NAMES, GATE_TASK_TYPES, gateVerdict, type GateName, type StoryState } from './workflow-steps.js';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export interface BoardFilter {
  repo?: string | undefined;
  /** `running`, `waiting_for_human` or `completed`. */
  status?: string | undefined;
  /** Cards per page, 1..MAX_BOARD_PAGE; default DEFAULT_BOARD_PAGE. */
  limit?: number | undefined;
  /** The `next_cursor` of the previous page. */
  cursor?: string | undefined;
}

export const DEFAULT_BOARD_PAGE = 50;
export const MAX_BOARD_PAGE = 500;

function parse(text: string | null): Record<string, unknown> {
  if (text === null) return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

function columnOf(row: Pick<Selectable<WorkflowsTable>, 'status' | 'stage'>): BoardColumn {
  if (row.status === 'waiting_for_human') return 'waiting_for_human';
  if (row.status === 'completed' || row.status === 'cancelled') return 'done';
  const known: readonly string[] = BOARD_COLUMNS;
  return known.includes(row.stage) && row.stage !== 'waiting_for_human' ? (row.stage as BoardColumn) : 'story';
}

function gateBadges(state: Partial<StoryState>, column: BoardColumn): StoryCard['gates'] {
  const badge = (gate: GateName) => {
    const verdict = state.gates?.[gate];
    if (verdict) return verdict.passed ? 'passed' : 'failed';
    return column === 'gates' ? 'running' : null;
  };
  return { review: badge('review'), tests: badge('tests'), security: badge('security') };
}

/** Who a story waits for: an approver, a human, the role of its open task, or nobody. */
function waitsFor(column: BoardColumn, openTaskType: string | undefined): string | null {
  if (column === 'spec_approval' || column === 'merge_approval') return 'approver';
  if (column === 'waiting_for_human') return 'human';
  if (column === 'done') return null;
  if (openTaskType && isTaskType(openTaskType)) return roleForTaskType(openTaskType);
  return column === 'merge' ? 'merge' : null;
}

/**
 * One page of the board, newest story first (keyset on the id: `workflows_pkey` read backwards, or
 * `workflows_status_idx` with a status), and the costs and open tasks of just that page's stories (through
 * `tasks_workflow_idx` and `tasks_open_story_idx`), so a page costs the same at 20 stories or 20,000.
 */
export async function storyBoard(db: Kysely<Database>, filter: BoardFilter = {}): Promise<StoryBoard> {
  const limit = filter.limit ?? DEFAULT_BOARD_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BOARD_PAGE) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `limit must be a whole number from 1 to ${MAX_BOARD_PAGE} (got ${limit})`,
    );
  }
  let query = db
    .selectFrom('workflows')
    .leftJoin('repositories', 'repositories.id', 'workflows.repo_id')
    .select([
      'workflows.id',
      'workflows.title',
      'workflows.status',
      'workflows.stage',
      'workflows.state',
      'workflows.created_at',
      'workflows.updated_at',
      'repositories.name as repo',
    ])
    .where('workflows.kind', '=', 'story');
  if (filter.repo) query = query.where('repositories.name', '=', filter.repo);
  if (filter.status)
    query = query.where('workflows.status', '=', filter.status as Selectable<WorkflowsTable>['status']);
  if (filter.cursor) query = query.where('workflows.id', '<', decodeCursor(filter.cursor, 's'));
  const found = await query
    .orderBy('workflows.id', 'desc')
    .limit(limit + 1)
    .execute();
  const rows = found.slice(0, limit);
  const last = rows.at(-1);
  const nextCursor = found.length > limit && last ? encodeCursor(last.id, 's') : null;
  const ids = rows.map((row) => row.id);

  const costs = ids.length
    ? await db
        .selectFrom('sessions')
        .innerJoin('tasks', 'tasks.id', 'sessions.task_id')
        .select((eb) => [
          'tasks.workflow_id',
          eb.fn.sum<number>('sessions.cost_usd').as('cost'),
          eb.fn.sum<number>(eb('sessions.tokens_in', '+', eb.ref('sessions.tokens_out'))).as('tokens'),
        ])
        .where('tasks.workflow_id', 'in', ids)
        .groupBy('tasks.workflow_id')
        .execute()
    : [];
  const costOf = new Map(costs.map((c) => [Number(c.workflow_id), { cost: Number(c.cost), tokens: Number(c.tokens) }]));

  // The newest open task of each story on the page (one row a story, not every open task).
  const open = ids.length
    ? await db
        .selectFrom('tasks')
        .select(['workflow_id', 'type'])
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('tasks')
            .select((inner) => inner.fn.max('id').as('id'))
            .where('workflow_id', 'in', ids)
            // Literals, as in `tasks_open_story_idx`'s predicate, so PostgreSQL matches the partial index in any plan.
            .where('status', 'in', sql<TaskStatus>`('pending', 'in_progress')`)
            .groupBy('workflow_id'),
        )
        .execute()
    : [];
  const openTask = new Map(open.map((t) => [Number(t.workflow_id), t.type]));

  const repos = await db.selectFrom('repositories').select('name').orderBy('name').execute();
  const stories = rows.map((row): StoryCard => {
    const state = parse(row.state) as Partial<StoryState>;
    const column = columnOf(row);
    const spent = costOf.get(row.id);
    return {
      id: row.id,
      title: row.title,
      repo: row.repo ?? null,
      column,
      status: row.status,
      round: typeof state.round === 'number' ? state.round : 0,
      gates: gateBadges(state, column),
      cost_usd: spent?.cost ?? 0,
      tokens: spent?.tokens ?? 0,
      waits_for: waitsFor(column, openTask.get(row.id)),
      created_at: iso(row.created_at),
      updated_at: iso(row.updated_at),
    };
  });
  return {
    columns: [...BOARD_COLUMNS],
    stories,
    repos: repos.map((r) => r.name),
    next_cursor: nextCursor,
  };
}

const STAGE_OF_TYPE: Record<string, string> = {
  create_user_story: 'story',
  write_spec: 'spec',
  implement_feature: 'implement',
  implement_fix: 'implement',
  review_mr: 'gates',
  run_tests: 'gates',
  security_scan: 'gates',
  merge: 'merge',
  deploy: 'deploy',
};
const TIMELINE_STAGES = [
  'story',
  'spec',
  'spec_approval',
  'implement',
  'gates',
  'merge_approval',
  'merge',
  'deploy',
  'done',
];

export async function storyTimeline(db: Kysely<Database>, id: number): Promise<StoryTimeline> {
  const row = await db
    .selectFrom('workflows')
    .leftJoin('repositories', 'repositories.id', 'workflows.repo_id')
    .selectAll('workflows')
    .select('repositories.name as repo')
    .where('workflows.id', '=', id)
    .where('workflows.kind', '=', 'story')
    .executeTakeFirst();
  if (!row) throw new AutodevError('WORKFLOW_NOT_FOUND', `no story has id ${id}; "autodev stories list" shows them`);
  const state = parse(row.state) as Partial<StoryState>;
  const column = columnOf(row);
  const tasks = await db.selectFrom('tasks').selectAll().where('workflow_id', '=', id).orderBy('id').execute();
  const sessions = tasks.length
    ? await db
        .selectFrom('sessions')
        .selectAll()
        .where(
          'task_id',
          'in',
          tasks.map((t) => t.id),
        )
        .orderBy('id')
        .execute()
    : [];
  const approvals = await db.selectFrom('approvals').selectAll().where('workflow_id', '=', id).orderBy('id').execute();
  const mergeRequests = await db
    .selectFrom('merge_requests')
    .select(['id', 'status', 'source_branch', 'target_branch', 'head_sha', 'merge_sha'])
    .where('workflow_id', '=', id)
    .orderBy('id')
    .execute();

  const timelineTasks = tasks.map((task) => {
    const payload = parse(task.payload);
    return {
      id: task.id,
      type: task.type,
      role: isTaskType(task.type) ? roleForTaskType(task.type) : 'unknown',
      status: task.status,
      round: typeof payload.round === 'number' ? payload.round : null,
      error: task.error,
      created_at: iso(task.created_at),
      finished_at: isoOrNull(task.finished_at),
      sessions: sessions
        .filter((s) => s.task_id === task.id)
        .map((s) => ({
          id: s.id,
          role: s.role,
          provider: s.provider,
          status: s.status,
          tokens: s.tokens_in + s.tokens_out,
          cost_usd: s.cost_usd,
          started_at: iso(s.started_at),
          finished_at: isoOrNull(s.finished_at),
        })),
    };
  });
  const currentIndex = TIMELINE_STAGES.indexOf(
    column === 'waiting_for_human'
      ? state.halt && 'stage' in state.halt
        ? String(state.halt.stage)
        : 'implement'
      : column,
  );
  const stages = TIMELINE_STAGES.map((stage, index) => {
    const stageTasks = timelineTasks.filter((t) => STAGE_OF_TYPE[t.type] === stage);
    return { stage, reached: index <= currentIndex || stageTasks.length > 0 || column === 'done', tasks: stageTasks };
  });

  const gates = tasks.flatMap((task) => {
    const gate = GATE_NAMES.find((name) => GATE_TASK_TYPES[name] === task.type);
    if (!gate) return [];
    const payload = parse(task.payload);
    const verdict = task.status === 'completed' ? gateVerdict(gate, parse(task.result)) : null;
    return [
      {
        gate,
        round: typeof payload.round === 'number' ? payload.round : 0,
        passed: verdict ? verdict.passed : null,
        findings: verdict ? verdict.findings : [],
        task_id: task.id,
      },
    ];
  });

  // Each commit once: a fix round's result may list the branch's earlier commits again.
  const commits = [
    ...new Set(
      tasks.flatMap((task) => {
        if (task.type !== 'implement_feature' && task.type !== 'implement_fix') return [];
        const result = parse(task.result);
        return Array.isArray(result.commits)
          ? result.commits
              .map((c) => (typeof c === 'object' && c !== null ? String((c as { sha?: unknown }).sha ?? '') : ''))
              .filter(Boolean)
          : [];
      }),
    ),
  ];

  const byRole = new Map<string, { cost_usd: number; tokens: number }>();
  for (const s of sessions) {
    const entry = byRole.get(s.role) ?? { cost_usd: 0, tokens: 0 };
    entry.cost_usd += s.cost_usd;
    entry.tokens += s.tokens_in + s.tokens_out;
    byRole.set(s.role, entry);
  }
  const haltReason = state.halt && state.halt.kind === 'task' ? (state.halt.reason ?? null) : null;
  return {
    id: row.id,
    title: row.title,
    body: row.body,
    repo: row.repo ?? null,
    status: row.status,
    column,
    round: typeof state.round === 'number' ? state.round : 0,
    branch: state.branch ?? null,
    human_summary: state.humanSummary ?? null,
    halt_reason: haltReason,
    deployment: state.deployment ?? null,
    stages,
    gates,
    approvals: approvals.map((a) => ({
      id: a.id,
      kind: a.kind,
      status: a.status,
      title: a.title,
      decided_by: a.decided_by,
      reason: a.reason,
      decided_at: isoOrNull(a.decided_at),
      created_at: iso(a.created_at),
    })),
    merge_requests: mergeRequests,
    commits,
    cost: {
      total_usd: sessions.reduce((sum, s) => sum + s.cost_usd, 0),
      total_tokens: sessions.reduce((sum, s) => sum + s.tokens_in + s.tokens_out, 0),
      by_role: [...byRole].map(([role, v]) => ({ role, ...v })).sort((a, b) => b.cost_usd - a.cost_usd),
    },
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}
