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

/**
 * Closes the sessions of a task still marked `running`: called by the worker that now holds the task's lease, so
 * they belong to an earlier attempt whose worker died (SIGKILL, a lost machine) and will never finish them.
 */
export async function abortOrphanedSessions(db: Kysely<Database>, taskId: number, now: number): Promise<number[]> {
  const orphaned = await db
    .updateTable('sessions')
    .set({
      status: 'aborted',
      outcome: 'the worker running this session was lost (its task lease expired); the task moved on',
      finished_at: now,
    })
    .where('task_id', '=', taskId)
    .where('status', '=', 'running')
    .returning('id')
    .execute();
  for (const { id } of orphaned) {
    await recordEvent(db, {
      kind: 'session.finished',
      subjectType: 'session',
      subjectId: id,
      actor: 'system',
      data: { status: 'aborted', reason: 'worker lost' },
      now,
    });
  }
  return orphaned.map((row) => row.id);
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

/** The last provider session id of a task, so a task resumed on another worker can resume the CLI session. */
export async function lastProviderSessionId(
  db: Kysely<Database>,
  taskId: number,
  provider: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('sessions')
    .select('provider_session_id')
    .where('task_id', '=', taskId)
    .where('provider', '=', provider)
    .where('provider_session_id', 'is not', null)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.provider_session_id ?? undefined;
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
