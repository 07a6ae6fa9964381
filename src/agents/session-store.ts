/**
 * @module Sessions as rows: one LLM CLI run with its provider, model, tokens, cost, outcome, and its transcript
 * (`session_events`, numbered by `seq`). Started and finished sessions also land in the change log for live views.
 */
import type { Kysely } from 'kysely';
import { recordEvent } from '../events/record-event.js';
import { inTransaction } from '../store/in-transaction.js';
import type { Database, SessionsTable } from '../store/schema.js';

export interface NewSession {
  taskId: number | null;
  role: string;
  agentInstanceId: string | null;
  provider: string;
  model: string | null;
  now: number;
}

export async function startSession(db: Kysely<Database>, session: NewSession): Promise<number> {
  const row = await db
    .insertInto('sessions')
    .values({
      task_id: session.taskId,
      role: session.role,
      agent_instance_id: session.agentInstanceId,
      provider: session.provider,
      model: session.model,
      status: 'running',
      started_at: session.now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await recordEvent(db, {
    kind: 'session.started',
    subjectType: 'session',
    subjectId: row.id,
    actor: session.agentInstanceId ?? 'system',
    data: { task_id: session.taskId, role: session.role, provider: session.provider },
    now: session.now,
  });
  return row.id;
}

export interface TranscriptEntry {
  seq: number;
  kind: string;
  data: unknown;
  at: number;
}

/**
 * Appends transcript entries in one statement (the runner batches them to keep the write rate low), and announces
 * the batch on the change log (`session.output` with the seq range), so live views learn of it from `/api/events`.
 */
export async function appendTranscript(db: Kysely<Database>, sessionId: number, entries: TranscriptEntry[]) {
  const first = entries[0];
  const last = entries.at(-1);
  if (!first || !last) return;
  await inTransaction(db, async (tx) => {
    await tx
      .insertInto('session_events')
      .values(
        entries.map((e) => ({
          session_id: sessionId,
          seq: e.seq,
          kind: e.kind,
          data: JSON.stringify(e.data),
          created_at: e.at,
        })),
      )
      .execute();
    await recordEvent(tx, {
      kind: 'session.output',
      subjectType: 'session',
      subjectId: sessionId,
      actor: 'system',
      data: { first_seq: first.seq, last_seq: last.seq, count: entries.length },
      now: last.at,
    });
  });
}

export interface SessionTotals {
  status: SessionsTable['status'];
  outcome: string | null;
  providerSessionId: string | null;
  model: string | null;
  tokensIn: number;
  tokensOut: number;
  tokensCache: number;
  costUsd: number;
  now: number;
}

export async function finishSession(db: Kysely<Database>, sessionId: number, totals: SessionTotals): Promise<void> {
  await db
    .updateTable('sessions')
    .set({
      status: totals.status,
      outcome: totals.outcome,
      provider_session_id: totals.providerSessionId,
      model: totals.model,
      tokens_in: totals.tokensIn,
      tokens_out: totals.tokensOut,
      tokens_cache: totals.tokensCache,
      cost_usd: totals.costUsd,
      finished_at: totals.now,
    })
    .where('id', '=', sessionId)
    .execute();
  await recordEvent(db, {
    kind: 'session.finished',
    subjectType: 'session',
    subjectId: sessionId,
    actor: 'system',
    data: { status: totals.status, tokens_in: totals.tokensIn, tokens_out: totals.tokensOut, cost_usd: totals.costUsd },
    now: totals.now,
  });
}

/** The data of a session's last transcript event of `kind`, or `{}` when it has none. */
async function lastEventData<T extends object>(db: Kysely<Database>, sessionId: number, kind: string): Promise<T> {
  const row = await db
    .selectFrom('session_events')
    .select('data')
    .where('session_id', '=', sessionId)
    .where('kind', '=', kind)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? (JSON.parse(row.data) as T) : ({} as T);
}

/**
 * Closes the sessions of a task still marked `running`: called by the worker that now holds the task's lease, and by
 * the reclaim pass that returns an expired lease or dead-letters the task, so they belong to an attempt whose worker
 * died (SIGKILL, a lost machine) and will never finish them. Each is closed as aborted with its time and its spend
 * so far: tokens and cost from its last `usage` event.
 */
export async function abortOrphanedSessions(db: Kysely<Database>, taskId: number, now: number): Promise<number[]> {
  const running = await db
    .selectFrom('sessions')
    .select('id')
    .where('task_id', '=', taskId)
    .where('status', '=', 'running')
    .execute();
  const aborted: number[] = [];
  for (const { id } of running) {
    const spent = await lastEventData<Partial<Record<string, number>>>(db, id, 'usage');
    // The CLI's id of the conversation, so a retry on this machine can resume it.
    const conversation = await lastEventData<{ provider_session_id?: unknown }>(db, id, 'session_started');
    const tokensIn = spent.input_tokens ?? 0;
    const tokensOut = spent.output_tokens ?? 0;
    const costUsd = spent.cost_usd ?? 0;
    const updated = await db
      .updateTable('sessions')
      .set({
        status: 'aborted',
        outcome: 'the worker running this session was lost (its task lease expired); the task moved on',
        tokens_in: tokensIn,
        tokens_out: tokensOut,
        tokens_cache: (spent.cache_read_tokens ?? 0) + (spent.cache_creation_tokens ?? 0),
        cost_usd: costUsd,
        ...(typeof conversation.provider_session_id === 'string'
          ? { provider_session_id: conversation.provider_session_id }
          : {}),
        finished_at: now,
      })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .returning('id')
      .executeTakeFirst();
    if (!updated) continue;
    aborted.push(id);
    await recordEvent(db, {
      kind: 'session.finished',
      subjectType: 'session',
      subjectId: id,
      actor: 'system',
      data: { status: 'aborted', reason: 'worker lost', tokens_in: tokensIn, tokens_out: tokensOut, cost_usd: costUsd },
      now,
    });
  }
  return aborted;
}

/** The transcript after `afterSeq`, oldest first (for live views that resume). */
export async function readTranscript(db: Kysely<Database>, sessionId: number, afterSeq = -1, limit = 1000) {
  const rows = await db
    .selectFrom('session_events')
    .select(['seq', 'kind', 'data', 'created_at'])
    .where('session_id', '=', sessionId)
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ seq: r.seq, kind: r.kind, data: JSON.parse(r.data) as unknown, at: r.created_at }));
}

/**
 * The task's last session on `provider` that the CLI gave an id, so a retry can resume that conversation (when the
 * session's home still holds it: agents/session-home.ts).
 */
export async function lastProviderSession(
  db: Kysely<Database>,
  taskId: number,
  provider: string,
): Promise<{ sessionId: number; providerSessionId: string } | undefined> {
  const row = await db
    .selectFrom('sessions')
    .select(['id', 'provider_session_id'])
    .where('task_id', '=', taskId)
    .where('provider', '=', provider)
    .where('provider_session_id', 'is not', null)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.provider_session_id ? { sessionId: row.id, providerSessionId: row.provider_session_id } : undefined;
}

/** One line per event worth reading back: text, tool calls and results, commands, errors. */
function transcriptLine(kind: string, data: Record<string, unknown>): string | null {
  const clip = (value: unknown, max = 240) => {
    const text = (typeof value === 'string' ? value : JSON.stringify(value ?? '')).replace(/\s+/g, ' ').trim();
    return text.length > max ? `${text.slice(0, max)}...` : text;
  };
  switch (kind) {
    case 'text':
      return `said: ${clip(data.text)}`;
    case 'tool_call':
      return `called ${String(data.name)}: ${clip(data.input)}`;
    case 'tool_result':
      return `${data.is_error ? 'tool failed' : 'tool returned'}: ${clip(data.output, 160)}`;
    case 'command':
      return `ran: ${clip(data.command)} (exit ${String(data.exit_code ?? '?')})`;
    case 'file_change':
      return `${String(data.kind)} ${String(data.path)}`;
    case 'error':
      return `error: ${clip(data.message)}`;
    default:
      return null;
  }
}

/**
 * The end of the task's latest transcript as readable lines (at most `maxLines`), for the prompt of a retry that
 * cannot resume the CLI conversation. Empty when the task has no recorded session.
 */
export async function summarizeLastTranscript(
  db: Kysely<Database>,
  taskId: number,
  maxLines = 40,
  beforeSessionId = Number.MAX_SAFE_INTEGER,
): Promise<string> {
  const session = await db
    .selectFrom('sessions')
    .select('id')
    .where('task_id', '=', taskId)
    .where('id', '<', beforeSessionId)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!session) return '';
  const rows = await db
    .selectFrom('session_events')
    .select(['kind', 'data'])
    .where('session_id', '=', session.id)
    .where('kind', 'in', ['text', 'tool_call', 'tool_result', 'command', 'file_change', 'error'])
    .orderBy('seq', 'desc')
    .limit(maxLines)
    .execute();
  return rows
    .reverse()
    .map((row) => transcriptLine(row.kind, JSON.parse(row.data) as Record<string, unknown>))
    .filter((line): line is string => line !== null)
    .join('\n');
}

/** Tokens and cost of sessions started since `since` (the start of the day, for `tokens.daily_budget`). */
export async function usageSince(db: Kysely<Database>, since: number) {
  const row = await db
    .selectFrom('sessions')
    .select((eb) => [
      eb.fn.coalesce(eb.fn.sum<number>('tokens_in'), eb.lit(0)).as('tokens_in'),
      eb.fn.coalesce(eb.fn.sum<number>('tokens_out'), eb.lit(0)).as('tokens_out'),
      eb.fn.coalesce(eb.fn.sum<number>('cost_usd'), eb.lit(0)).as('cost_usd'),
    ])
    .where('started_at', '>=', since)
    .executeTakeFirstOrThrow();
  const tokensIn = Number(row.tokens_in);
  const tokensOut = Number(row.tokens_out);
  return { tokensIn, tokensOut, tokens: tokensIn + tokensOut, costUsd: Number(row.cost_usd) };
}

/** Midnight UTC of the day containing `now`: the daily budget resets then. */
export function startOfUtcDay(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}
