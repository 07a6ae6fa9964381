/**
 * @module The swarm at a glance (`autodev swarm status`, `claude-swarm status`, `GET /api/swarm/status`): every
 * live agent (role, instance, state, current task, provider), the queue's counts by status, tokens and cost today
 * against `tokens.daily_budget`, the rate-limited providers with their reset times, what waits for a human (pending
 * approvals, open proposals) and the latest discussion message. Read-only; one JSON shape for the CLI and the API.
 */
import type { Kysely } from 'kysely';
import { countTasksByStatus } from '../queue/read-tasks.js';
import type { Database } from '../store/schema.js';
import { discussionToJson } from '../workflow/discussions.js';
import { describeFolded, listLiveAgents } from './agent-registry.js';
import { activeProviderLimits } from './provider-limits.js';
import { startOfUtcDay, usageSince } from './session-store.js';

const iso = (ms: number) => new Date(Number(ms)).toISOString();

export async function readSwarmStatus(db: Kysely<Database>, options: { now: number; dailyBudget: number }) {
  const { now, dailyBudget } = options;
  const { agents, folded } = await listLiveAgents(db, { now });
  const queue = await countTasksByStatus(db);
  const today = await usageSince(db, startOfUtcDay(now));
  const limits = await activeProviderLimits(db, now);
  const approvals = await db
    .selectFrom('approvals')
    .select(['id', 'kind', 'title', 'workflow_id', 'created_at'])
    .where('status', '=', 'pending')
    .orderBy('id')
    .limit(100)
    .execute();
  const proposals = await db
    .selectFrom('proposals')
    .select(['id', 'title', 'kind', 'votes_for', 'votes_against', 'created_at'])
    .where('status', '=', 'open')
    .orderBy('id')
    .limit(100)
    .execute();
  const latest = await db.selectFrom('discussions').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirst();
  return {
    agents: agents.map((a) => ({
      role: a.role,
      instance_id: a.instance_id,
      state: a.status,
      current_task_id: a.current_task_id === null ? null : Number(a.current_task_id),
      provider: a.provider,
      detail: a.status_detail,
      heartbeat_at: iso(a.heartbeat_at),
    })),
    agents_folded: folded,
    agents_folded_text: describeFolded(folded),
    queue,
    today: {
      tokens: today.tokens,
      cost_usd: today.costUsd,
      daily_budget: dailyBudget,
      budget_used: dailyBudget > 0 ? today.tokens / dailyBudget : null,
    },
    rate_limited: [...limits].map(([provider, until]) => ({ provider, until: iso(until) })),
    open_approvals: approvals.map((a) => ({
      id: Number(a.id),
      kind: a.kind,
      title: a.title,
      workflow_id: a.workflow_id === null ? null : Number(a.workflow_id),
      created_at: iso(a.created_at),
    })),
    open_proposals: proposals.map((p) => ({
      id: Number(p.id),
      title: p.title,
      kind: p.kind,
      votes_for: Number(p.votes_for),
      votes_against: Number(p.votes_against),
      created_at: iso(p.created_at),
    })),
    latest_discussion: latest ? discussionToJson(latest) : null,
  };
}

export type SwarmStatus = Awaited<ReturnType<typeof readSwarmStatus>>;
