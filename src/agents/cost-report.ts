/**
 * @module Tokens and cost of the agents' sessions grouped by task, story, role, provider or UTC day, since a time:
 * what `autodev costs`, `GET /api/costs` and the dashboard's `/costs` page show. One grouped query over `sessions`
 * (`sessions_started_idx` for `since`), joined to tasks and stories for their labels, and one for the totals.
 */
import { sql, type Kysely } from 'kysely';
import type { CostGrouping } from '../domain/cost-grouping.js';
import type { CostsResponse } from '../domain/costs-schema.js';
import type { Database } from '../store/schema.js';

export const MAX_COST_ROWS = 500;
const DAY_MS = 86_400_000;

interface Row {
  key: string | number | null;
  label: string | null;
  sessions: number | string;
  tokens_in: number | string | null;
  tokens_out: number | string | null;
  tokens_cache: number | string | null;
  cost_usd: number | string | null;
}

const SUMS = sql`count(*) as sessions, sum(s.tokens_in) as tokens_in, sum(s.tokens_out) as tokens_out,
  sum(s.tokens_cache) as tokens_cache, sum(s.cost_usd) as cost_usd`;

function grouping(by: CostGrouping) {
  switch (by) {
    case 'task':
      return { key: sql`s.task_id`, label: sql`max(t.type)`, join: sql`left join tasks t on t.id = s.task_id` };
    case 'story':
      return {
        key: sql`t.workflow_id`,
        label: sql`max(w.title)`,
        join: sql`left join tasks t on t.id = s.task_id left join workflows w on w.id = t.workflow_id`,
      };
    case 'role':
      return { key: sql`s.role`, label: sql`max(s.role)`, join: sql`` };
    case 'provider':
      return { key: sql`s.provider`, label: sql`max(s.provider)`, join: sql`` };
    case 'day':
      return { key: sql`(s.started_at / ${sql.lit(DAY_MS)})`, label: sql`''`, join: sql`` };
  }
}

const num = (value: number | string | null) => Number(value ?? 0);

function usage(row: Omit<Row, 'key' | 'label'>) {
  const tokensIn = num(row.tokens_in);
  const tokensOut = num(row.tokens_out);
  return {
    sessions: num(row.sessions),
    tokens_in: tokensIn,
    tokens_out: tokensOut,
    tokens_cache: num(row.tokens_cache),
    tokens: tokensIn + tokensOut,
    cost_usd: num(row.cost_usd),
  };
}

function keyAndLabel(by: CostGrouping, row: Row): { key: string | null; label: string } {
  if (row.key === null) return { key: null, label: by === 'task' ? 'no task' : 'no story' };
  if (by === 'day') {
    const day = new Date(Number(row.key) * DAY_MS).toISOString().slice(0, 10);
    return { key: day, label: day };
  }
  return { key: String(row.key), label: row.label ?? '' };
}

export async function costReport(
  db: Kysely<Database>,
  options: { by: CostGrouping; since?: number | undefined },
): Promise<CostsResponse> {
  const { key, label, join } = grouping(options.by);
  const since = options.since === undefined ? sql`` : sql`where s.started_at >= ${options.since}`;
  const order = options.by === 'day' ? sql`order by key` : sql`order by cost_usd desc, tokens_in desc, key`;
  const { rows } = await sql<Row>`
    select ${key} as key, ${label} as label, ${SUMS}
    from sessions s ${join} ${since}
    group by ${key} ${order} limit ${MAX_COST_ROWS}`.execute(db);
  const totals = await sql<Omit<Row, 'key' | 'label'>>`select ${SUMS} from sessions s ${since}`.execute(db);
  return {
    by: options.by,
    since: options.since === undefined ? null : new Date(options.since).toISOString(),
    rows: rows.map((row) => ({ ...keyAndLabel(options.by, row), ...usage(row) })),
    totals: usage(totals.rows[0] ?? { sessions: 0, tokens_in: 0, tokens_out: 0, tokens_cache: 0, cost_usd: 0 }),
  };
}
