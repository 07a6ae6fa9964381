/**
 * @module `autodev tasks list|create|show|cancel|retry|types` (also `claude-tasks ...`). Everything a user types is
 * checked before the database is opened, so a mistake is one line on stderr and changes nothing.
 */
import {
  ROLES,
  TASK_STATUSES,
  TASK_TYPES_BY_ROLE,
  isTaskStatus,
  isTaskType,
  roleForTaskType,
} from '../../domain/roles.js';
import { AutodevError } from '../../errors.js';
import { assertStorableText, parseIdText, parseWholeNumberText, TEXT_LIMITS } from '../../domain/input-policy.js';
import { validateNewTask } from '../../queue/enqueue-task.js';
import { MAX_PAGE_SIZE } from '../../queue/read-tasks.js';
import { taskToJson, type Task } from '../../queue/task-record.js';
import { retryTaskByHand } from '../../workflow/retry-task-by-hand.js';
import { withContext, type CliDeps, type GlobalOptions } from '../context.js';
import { formatAge, formatTable, writeJson, writeLine } from '../format.js';

/** Who the CLI acts as in `created_by` and event actors. */
export const CLI_ACTOR = 'cli';

export type TasksArgs = { globals: GlobalOptions; json?: boolean | undefined } & (
  | {
      action: 'list';
      status?: string | undefined;
      type?: string | undefined;
      limit?: string | undefined;
      cursor?: string | undefined;
    }
  | { action: 'create'; type: string; priority?: string | undefined; payload?: string | undefined }
  | { action: 'show'; id: string }
  | { action: 'cancel'; id: string; reason?: string | undefined }
  | { action: 'retry'; id: string }
  | { action: 'types' }
);

export async function run(args: TasksArgs, deps: CliDeps): Promise<number> {
  switch (args.action) {
    case 'list':
      return list(args, deps);
    case 'create':
      return create(args, deps);
    case 'show': {
      const id = parseTaskId(args.id);
      const task = await withContext(args.globals, deps, (ctx) => ctx.queue.get(id));
      if (args.json) writeJson(deps.stdout, taskToJson(task));
      else writeLine(deps.stdout, describeTask(task, deps.now()));
      return 0;
    }
    case 'cancel': {
      const id = parseTaskId(args.id);
      if (args.reason !== undefined) assertStorableText('--reason', args.reason, TEXT_LIMITS.reason);
      const task = await withContext(args.globals, deps, (ctx) => ctx.queue.cancel(id, CLI_ACTOR, args.reason));
      if (args.json) writeJson(deps.stdout, taskToJson(task));
      else writeLine(deps.stdout, `cancelled task ${task.id} (${task.type})`);
      return 0;
    }
    case 'retry': {
      const id = parseTaskId(args.id);
      const task = await withContext(args.globals, deps, (ctx) => retryTaskByHand(ctx.queue, id, CLI_ACTOR));
      if (args.json) writeJson(deps.stdout, taskToJson(task));
      else
        writeLine(
          deps.stdout,
          `task ${task.id} (${task.type}) is pending again with ${task.maxAttempts} fresh attempts`,
        );
      return 0;
    }
    case 'types':
      return types(args, deps);
  }
}

async function list(args: Extract<TasksArgs, { action: 'list' }>, deps: CliDeps): Promise<number> {
  if (args.status !== undefined && !isTaskStatus(args.status)) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `unknown status "${args.status}"; use one of ${TASK_STATUSES.join(', ')}`,
    );
  }
  if (args.type !== undefined && !isTaskType(args.type)) {
    throw new AutodevError(
      'UNKNOWN_TASK_TYPE',
      `unknown task type "${args.type}"; run "autodev tasks types" to list the known ones`,
    );
  }
  const limit = args.limit === undefined ? undefined : parseWholeNumberText('--limit', args.limit, 1, MAX_PAGE_SIZE);
  if (args.cursor !== undefined) assertStorableText('--cursor', args.cursor, TEXT_LIMITS.cursor);
  const filter = { status: args.status, type: args.type, limit, cursor: args.cursor };
  const page = await withContext(args.globals, deps, (ctx) => ctx.queue.list(filter));
  if (args.json) {
    writeJson(deps.stdout, { tasks: page.tasks.map(taskToJson), next_cursor: page.nextCursor });
    return 0;
  }
  if (page.tasks.length === 0) {
    const filters = [args.status && `status ${args.status}`, args.type && `type ${args.type}`].filter(Boolean);
    writeLine(deps.stdout, filters.length > 0 ? `no tasks with ${filters.join(' and ')}` : 'no tasks yet');
    return 0;
  }
  const now = deps.now();
  const rows = page.tasks.map((t) => [
    String(t.id),
    t.type,
    t.status,
    String(t.priority),
    `${t.attempts}/${t.maxAttempts}`,
    formatAge(now - t.createdAt),
  ]);
  writeLine(deps.stdout, formatTable(['ID', 'TYPE', 'STATUS', 'PRIORITY', 'ATTEMPTS', 'AGE'], rows));
  if (page.nextCursor) writeLine(deps.stdout, `more: add --cursor ${page.nextCursor}`);
  return 0;
}

async function create(args: Extract<TasksArgs, { action: 'create' }>, deps: CliDeps): Promise<number> {
  const priority =
    args.priority === undefined
      ? undefined
      : parseWholeNumberText('priority', args.priority, 1, 10, 'INVALID_PRIORITY');
  const payload = args.payload === undefined ? undefined : parsePayload(args.payload);
  // Checks type, priority range and payload shape before anything is opened.
  const valid = validateNewTask({ type: args.type, priority, payload });
  const task = await withContext(args.globals, deps, (ctx) => ctx.queue.enqueue({ ...valid, createdBy: CLI_ACTOR }));
  if (args.json) writeJson(deps.stdout, taskToJson(task));
  else writeLine(deps.stdout, `created task ${task.id} (${task.type}, priority ${task.priority}, ${task.status})`);
  return 0;
}

function types(args: TasksArgs, deps: CliDeps): number {
  if (args.json) {
    const taskTypes = ROLES.flatMap((role) => TASK_TYPES_BY_ROLE[role].map((type) => ({ type, role })));
    writeJson(deps.stdout, { task_types: taskTypes });
    return 0;
  }
  const rows = ROLES.map((role) => [role, TASK_TYPES_BY_ROLE[role].join(', ')]);
  writeLine(deps.stdout, formatTable(['ROLE', 'TASK TYPES'], rows));
  return 0;
}

export function parseTaskId(text: string): number {
  return parseIdText('task id', text, '; "autodev tasks list" shows the ids');
}

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new AutodevError(
      'INVALID_PAYLOAD',
      `payload is not valid JSON (${(error as Error).message}); quote it for the shell, e.g. --payload '{"idea": "Stripe webhook handler"}'`,
    );
  }
}

function describeTask(task: Task, now: number): string {
  const time = (ms: number) => `${new Date(ms).toISOString()} (${formatAge(now - ms)} ago)`;
  const lines: [string, string][] = [
    ['type', `${task.type} (handled by ${roleForTaskType(task.type)})`],
    ['status', task.status],
    ['priority', String(task.priority)],
    ['attempts', `${task.attempts} of ${task.maxAttempts}`],
    ['created', `${time(task.createdAt)} by ${task.createdBy}`],
    ['updated', time(task.updatedAt)],
  ];
  if (task.status === 'pending' && task.runAfter > now)
    lines.push(['run after', new Date(task.runAfter).toISOString()]);
  if (task.leaseOwner) {
    lines.push([
      'lease',
      `${task.leaseOwner} until ${task.leaseExpiresAt === null ? '?' : new Date(task.leaseExpiresAt).toISOString()}`,
    ]);
  }
  if (task.startedAt !== null) lines.push(['started', time(task.startedAt)]);
  if (task.finishedAt !== null) lines.push(['finished', time(task.finishedAt)]);
  if (task.parentId !== null) lines.push(['parent', `task ${task.parentId}`]);
  if (task.workflowId !== null) lines.push(['workflow', String(task.workflowId)]);
  if (task.repoId !== null) lines.push(['repository', String(task.repoId)]);
  if (task.error !== null) lines.push(['error', task.error]);
  lines.push(['payload', indentJson(task.payload)]);
  if (task.result !== null) lines.push(['result', indentJson(task.result)]);
  const forge = forgeLine(task.result);
  if (forge) lines.push(['forge', forge]);
  const width = Math.max(...lines.map(([label]) => label.length)) + 1;
  return [`task ${task.id}`, ...lines.map(([label, value]) => `  ${`${label}:`.padEnd(width)} ${value}`)].join('\n');
}

/** What the task wrote into GitLab/GitHub (`result.forge`, agents/forge-writes.ts), and which form its epic took. */
function forgeLine(result: unknown): string | undefined {
  const forge = (
    result as {
      forge?: {
        forge: string;
        epic?: { form: string; external_id: string | null; url: string | null };
        writes: { status: string }[];
        skipped?: string;
      };
    } | null
  )?.forge;
  if (!forge) return undefined;
  const name = forge.forge === 'gitlab' ? 'GitLab' : 'GitHub';
  if (forge.skipped) return `nothing written to ${name}: ${forge.skipped}`;
  const done = forge.writes.filter((w) => w.status === 'done').length;
  const uncertain = forge.writes.filter((w) => w.status === 'uncertain').length;
  const parts = [`${done} of ${forge.writes.length} writes done in ${name}`];
  if (uncertain > 0) parts.push(`${uncertain} uncertain after a crash (check the forge)`);
  if (forge.epic) {
    const where = `${forge.epic.external_id ?? '?'}${forge.epic.url ? ` ${forge.epic.url}` : ''}`;
    parts.push(
      forge.epic.form === 'epic'
        ? `epic ${where} is a real ${name} epic`
        : `epic ${where} is a parent issue its stories link to (the group has no epics)`,
    );
  }
  return parts.join('; ');
}

function indentJson(value: unknown): string {
  const compact = JSON.stringify(value);
  if (compact.length <= 80) return compact;
  return JSON.stringify(value, null, 2).replace(/\n/g, '\n    ');
}
