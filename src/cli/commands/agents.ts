/**
 * @module `autodev agents status [--all]|restart ROLE|scale ROLE N`. Status shows per role the desired and running
 * workers and the live processes running it (host, pid, heartbeat, current tasks), then the agents' rows (the live
 * ones; those of gone processes counted, listed with --all), provider limits and today's usage; restart and scale
 * write the desired state (replicas across every process, a restart generation) that every supervisor converges to.
 */
import { MAX_REPLICAS_PER_ROLE, requestRestart, scaleRole } from '../../agents/agent-controls.js';
import { readAgentsOverview } from '../../agents/agents-overview.js';
import { describeFolded, listLiveAgents } from '../../agents/agent-registry.js';
import { activeProviderLimits } from '../../agents/provider-limits.js';
import { startOfUtcDay, usageSince } from '../../agents/session-store.js';
import { isRole, ROLES, type Role } from '../../domain/roles.js';
import { AutodevError } from '../../errors.js';
import { parseWholeNumberText } from '../../domain/input-policy.js';
import { withContext, type CliDeps, type GlobalOptions } from '../context.js';
import { formatAge, writeJson, writeLine } from '../format.js';

export type AgentsArgs =
  | { action: 'status'; globals: GlobalOptions; json?: boolean | undefined; all?: boolean | undefined }
  | { action: 'restart'; globals: GlobalOptions; role: string }
  | { action: 'scale'; globals: GlobalOptions; role: string; workers: string };

function parseRole(role: string): Role {
  if (!isRole(role))
    throw new AutodevError('VALIDATION_FAILED', `unknown role "${role}"; roles are ${ROLES.join(', ')}`);
  return role;
}

export async function run(args: AgentsArgs, deps: CliDeps): Promise<number> {
  if (args.action === 'restart') {
    const role = parseRole(args.role);
    const generation = await withContext(args.globals, deps, (ctx) =>
      requestRestart(ctx.handle.db, role, 'cli', deps.now()),
    );
    writeLine(
      deps.stdout,
      `restart of ${role} requested (generation ${generation}); its workers in every process restart within a few seconds`,
    );
    return 0;
  }
  if (args.action === 'scale') {
    const role = parseRole(args.role);
    const workers = parseWholeNumberText('N', args.workers, 0, MAX_REPLICAS_PER_ROLE);
    await withContext(args.globals, deps, (ctx) => scaleRole(ctx.handle.db, role, workers, 'cli', deps.now()));
    writeLine(
      deps.stdout,
      workers === 0
        ? `${role} scaled to 0: every process stops its ${role} workers (running tasks go back to the queue)`
        : `${role} scaled to ${workers} worker${workers === 1 ? '' : 's'} across every process that runs it`,
    );
    return 0;
  }
  const now = deps.now();
  const status = await withContext(args.globals, deps, async (ctx) => ({
    listing: await listLiveAgents(ctx.handle.db, { now, all: args.all === true }),
    roles: await readAgentsOverview(ctx.handle.db, ROLES, now),
    limits: await activeProviderLimits(ctx.handle.db, now),
    today: await usageSince(ctx.handle.db, startOfUtcDay(now)),
    budget: ctx.settings.tokens.daily_budget,
  }));
  const { agents, folded } = status.listing;
  if (args.json) {
    writeJson(deps.stdout, {
      agents: agents.map((a) => ({
        instance_id: a.instance_id,
        role: a.role,
        status: a.status,
        current_task_id: a.current_task_id,
        provider: a.provider,
        detail: a.status_detail,
        host: a.host,
        pid: a.pid,
        heartbeat_at: new Date(a.heartbeat_at).toISOString(),
      })),
      folded,
      desired_workers: Object.fromEntries(status.roles.map((r) => [r.role, r.replicas ?? r.per_process])),
      roles: status.roles.map((r) => ({
        ...r,
        processes: r.processes.map((p) => ({ ...p, heartbeat_at: new Date(p.heartbeat_at).toISOString() })),
      })),
      rate_limited: Object.fromEntries([...status.limits].map(([p, until]) => [p, new Date(until).toISOString()])),
      today: { tokens: status.today.tokens, cost_usd: status.today.costUsd, daily_budget: status.budget },
    });
    return 0;
  }
  for (const r of status.roles) {
    const desired = r.replicas === null ? `${r.per_process} per process` : `${r.replicas}`;
    const where = r.processes.map((p) => {
      const tasks = p.workers.flatMap((w) => (w.current_task_id === null ? [] : [`task ${w.current_task_id}`]));
      const age = formatAge(now - p.heartbeat_at);
      return `${p.host}:${p.pid} ${p.workers.length} (heartbeat ${age} ago${tasks.length ? `, ${tasks.join(', ')}` : ''})`;
    });
    writeLine(
      deps.stdout,
      `${r.role.padEnd(11)} desired ${desired.padEnd(14)} running ${String(r.running).padEnd(3)} ${where.join('; ') || 'no process runs it'}`,
    );
  }
  const foldedLine = describeFolded(folded);
  if (agents.length === 0 && foldedLine === null) {
    writeLine(deps.stdout, 'no agents have run yet; start them with "autodev up" (or "autodev serve agent:ROLE")');
  } else if (agents.length === 0) {
    writeLine(deps.stdout, 'no agents are running; start them with "autodev up" (or "autodev serve agent:ROLE")');
  }
  for (const a of agents) {
    const task = a.current_task_id === null ? '' : ` task ${a.current_task_id}`;
    const detail = a.status_detail ? ` (${a.status_detail})` : '';
    writeLine(
      deps.stdout,
      `${a.role.padEnd(11)} ${a.status.padEnd(12)} ${a.instance_id}${task}${a.provider ? ` on ${a.provider}` : ''}${detail}`,
    );
  }
  if (foldedLine) writeLine(deps.stdout, `${foldedLine} (--all lists them)`);
  for (const [provider, until] of status.limits) {
    writeLine(deps.stdout, `provider ${provider} is rate limited until ${new Date(until).toISOString()}`);
  }
  const budget = status.budget > 0 ? ` of ${status.budget}` : ' (no daily budget)';
  writeLine(deps.stdout, `today: ${status.today.tokens} tokens${budget}, $${status.today.costUsd.toFixed(2)}`);
  return 0;
}
