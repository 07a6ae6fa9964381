/**
 * @module `autodev swarm ...` (also `claude-swarm ...`, as the guide types it): `discuss --recent [N] | --topic T
 * [--post MESSAGE] [--reply ID]`, `proposals [--approved | --status S]`, `propose --title T --body B [--kind K]
 * [--repo R]`, `vote ID up|down [--reason R]`, `approve ID [--repo R] [--reason R]`, `reject ID --reason R`,
 * `status`. A human's posts and votes are signed `cli:<user>`. Every command takes `--json`.
 */
import { readSwarmStatus } from '../../agents/swarm-status.js';
import { parseIdText, parseWholeNumberText } from '../../domain/input-policy.js';
import { AutodevError } from '../../errors.js';
import {
  DEFAULT_RECENT_MESSAGES,
  discussionToJson,
  listDiscussions,
  MAX_RECENT_MESSAGES,
  postDiscussion,
  type DiscussionRow,
} from '../../workflow/discussions.js';
import {
  createProposal,
  decideProposal,
  isProposalKind,
  isVoteDirection,
  listProposals,
  PROPOSAL_KINDS,
  proposalsToJson,
  voteOnProposal,
  type ProposalJson,
} from '../../workflow/proposals.js';
import { workflowDeps } from '../../workflow/workflow-deps.js';
import { withContext, type CliDeps, type GlobalOptions } from '../context.js';
import { formatAge, formatTable, writeJson, writeLine } from '../format.js';
import { cliActor } from './approvals.js';

interface Common {
  globals: GlobalOptions;
  json?: boolean | undefined;
}

export type SwarmArgs =
  | (Common & {
      action: 'discuss';
      recent?: string | boolean | undefined;
      topic?: string | undefined;
      post?: string | undefined;
      reply?: string | undefined;
    })
  | (Common & { action: 'proposals'; approved?: boolean | undefined; status?: string | undefined })
  | (Common & {
      action: 'propose';
      title: string;
      body: string;
      kind?: string | undefined;
      repo?: string | undefined;
    })
  | (Common & { action: 'vote'; id: string; vote: string; reason?: string | undefined })
  | (Common & { action: 'approve'; id: string; repo?: string | undefined; reason?: string | undefined })
  | (Common & { action: 'reject'; id: string; reason?: string | undefined })
  | (Common & { action: 'status' });

function parseProposalId(text: string): number {
  return parseIdText('proposal id', text, '; "autodev swarm proposals" shows the ids');
}

export async function run(args: SwarmArgs, deps: CliDeps): Promise<number> {
  switch (args.action) {
    case 'discuss':
      return discuss(args, deps);
    case 'proposals':
      return proposals(args, deps);
    case 'propose': {
      const kind = args.kind ?? 'story';
      if (!isProposalKind(kind)) {
        throw new AutodevError('VALIDATION_FAILED', `--kind must be ${PROPOSAL_KINDS.join(' or ')} (got "${kind}")`);
      }
      const json = await withContext(args.globals, deps, async (ctx) => {
        const row = await createProposal(ctx.handle.db, {
          title: args.title,
          body: args.body,
          kind,
          repo: args.repo,
          author: cliActor(deps),
          now: deps.now(),
        });
        return (await proposalsToJson(ctx.handle.db, [row]))[0]!;
      });
      if (args.json) writeJson(deps.stdout, json);
      else writeLine(deps.stdout, `proposal ${json.id} (${json.kind}) opened: ${json.title}`);
      return 0;
    }
    case 'vote': {
      const id = parseProposalId(args.id);
      if (!isVoteDirection(args.vote)) {
        throw new AutodevError('VALIDATION_FAILED', `a vote is up or down (got "${args.vote}")`);
      }
      const vote = args.vote;
      const json = await withContext(args.globals, deps, async (ctx) => {
        const row = await voteOnProposal(ctx.handle.db, {
          proposalId: id,
          voter: cliActor(deps),
          vote,
          reason: args.reason,
          now: deps.now(),
        });
        return (await proposalsToJson(ctx.handle.db, [row]))[0]!;
      });
      if (args.json) writeJson(deps.stdout, json);
      else writeLine(deps.stdout, `voted ${vote} on proposal ${id}: ${json.votes_for} up, ${json.votes_against} down`);
      return 0;
    }
    case 'approve':
    case 'reject': {
      const id = parseProposalId(args.id);
      const decision = args.action === 'approve' ? 'approved' : 'rejected';
      const json = await withContext(args.globals, deps, async (ctx) => {
        const row = await decideProposal(ctx.handle.db, workflowDeps(ctx.queue, ctx.settings.workflow.max_fix_rounds), {
          id,
          decision,
          reason: args.reason,
          repo: args.action === 'approve' ? args.repo : undefined,
          actor: cliActor(deps),
        });
        return (await proposalsToJson(ctx.handle.db, [row]))[0]!;
      });
      if (args.json) writeJson(deps.stdout, json);
      else writeLine(deps.stdout, `proposal ${id} ${json.status} by ${json.decided_by ?? '?'}${describeWork(json)}`);
      return 0;
    }
    case 'status':
      return status(args, deps);
  }
}

function describeWork(p: ProposalJson): string {
  if (p.workflow_id !== null) return `; story ${p.workflow_id} started ("autodev stories show ${p.workflow_id}")`;
  if (p.task_id !== null) return `; build_product task ${p.task_id} queued`;
  if (p.status === 'rejected' && p.reason) return `: ${p.reason}`;
  return '';
}

async function discuss(args: Extract<SwarmArgs, { action: 'discuss' }>, deps: CliDeps): Promise<number> {
  const replyTo = args.reply === undefined ? undefined : parseIdText('--reply', args.reply);
  if (args.post === undefined && replyTo !== undefined) {
    throw new AutodevError('VALIDATION_FAILED', '--reply ID needs the message: --post "..."');
  }
  if (args.post !== undefined) {
    if (args.recent !== undefined) {
      throw new AutodevError('VALIDATION_FAILED', '--post writes a message; --recent reads them: use one at a time');
    }
    const row = await withContext(args.globals, deps, (ctx) =>
      postDiscussion(ctx.handle.db, {
        topic: args.topic,
        body: args.post!,
        replyTo,
        author: cliActor(deps),
        authorKind: 'human',
        now: deps.now(),
      }),
    );
    if (args.json) writeJson(deps.stdout, discussionToJson(row));
    else
      writeLine(
        deps.stdout,
        `posted message ${row.id} in "${row.topic}"${row.reply_to === null ? '' : ` (reply to ${row.reply_to})`}`,
      );
    return 0;
  }
  if (args.recent === undefined && args.topic === undefined) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      'say what to show: --recent [N] (the newest messages) or --topic T (one topic), or --topic T --post "..."',
    );
  }
  const recent =
    args.recent === undefined || args.recent === true
      ? DEFAULT_RECENT_MESSAGES
      : parseWholeNumberText('--recent', String(args.recent), 1, MAX_RECENT_MESSAGES);
  const rows = await withContext(args.globals, deps, (ctx) =>
    listDiscussions(ctx.handle.db, { topic: args.topic, recent }),
  );
  if (args.json) {
    writeJson(deps.stdout, { discussions: rows.map(discussionToJson) });
    return 0;
  }
  if (rows.length === 0) {
    writeLine(
      deps.stdout,
      args.topic === undefined
        ? 'no discussions yet; post one with: autodev swarm discuss --topic T --post "..."'
        : `no messages in "${args.topic}" yet`,
    );
    return 0;
  }
  printThreads(rows, deps);
  return 0;
}

/** Oldest first, each reply under the message it answers (when that message is in the page). */
function printThreads(rows: readonly DiscussionRow[], deps: CliDeps): void {
  const ordered = [...rows].sort((a, b) => Number(a.id) - Number(b.id));
  const ids = new Set(ordered.map((r) => Number(r.id)));
  const children = new Map<number, DiscussionRow[]>();
  const roots: DiscussionRow[] = [];
  for (const row of ordered) {
    const parent = row.reply_to === null ? undefined : Number(row.reply_to);
    if (parent !== undefined && ids.has(parent)) children.set(parent, [...(children.get(parent) ?? []), row]);
    else roots.push(row);
  }
  const now = deps.now();
  const print = (row: DiscussionRow, depth: number) => {
    const indent = '  '.repeat(depth);
    const reply = row.reply_to === null ? '' : ` (reply to #${row.reply_to})`;
    writeLine(
      deps.stdout,
      `${indent}#${row.id} [${row.topic}] ${row.author} ${formatAge(now - Number(row.created_at))} ago${reply}`,
    );
    for (const line of row.body.split('\n')) writeLine(deps.stdout, `${indent}  ${line}`);
    for (const child of children.get(Number(row.id)) ?? []) print(child, depth + 1);
  };
  for (const root of roots) print(root, 0);
}

async function proposals(args: Extract<SwarmArgs, { action: 'proposals' }>, deps: CliDeps): Promise<number> {
  if (args.approved && args.status !== undefined && args.status !== 'approved') {
    throw new AutodevError('VALIDATION_FAILED', '--approved and --status disagree; use one');
  }
  const status = args.approved ? 'approved' : args.status;
  const rows = await withContext(args.globals, deps, async (ctx) =>
    proposalsToJson(ctx.handle.db, await listProposals(ctx.handle.db, { status })),
  );
  if (args.json) {
    writeJson(deps.stdout, { proposals: rows });
    return 0;
  }
  if (rows.length === 0) {
    writeLine(deps.stdout, status === undefined ? 'no proposals yet' : `no ${status} proposals`);
    return 0;
  }
  writeLine(
    deps.stdout,
    formatTable(
      ['ID', 'STATUS', 'KIND', 'VOTES', 'AUTHOR', 'WORK', 'TITLE'],
      rows.map((p) => [
        String(p.id),
        p.status,
        p.kind,
        `+${p.votes_for}/-${p.votes_against}`,
        p.author,
        p.workflow_id !== null ? `story ${p.workflow_id}` : p.task_id !== null ? `task ${p.task_id}` : '-',
        p.title,
      ]),
    ),
  );
  for (const p of rows) {
    if (p.status === 'rejected' && p.reason) writeLine(deps.stdout, `proposal ${p.id} rejected: ${p.reason}`);
  }
  return 0;
}

async function status(args: Extract<SwarmArgs, { action: 'status' }>, deps: CliDeps): Promise<number> {
  const s = await withContext(args.globals, deps, (ctx) =>
    readSwarmStatus(ctx.handle.db, { now: deps.now(), dailyBudget: ctx.settings.tokens.daily_budget }),
  );
  if (args.json) {
    writeJson(deps.stdout, s);
    return 0;
  }
  writeLine(deps.stdout, `agents (${s.agents.length} live)`);
  if (s.agents.length === 0) writeLine(deps.stdout, '  none running; start them with "autodev up"');
  for (const a of s.agents) {
    const task = a.current_task_id === null ? '-' : `task ${a.current_task_id}`;
    writeLine(
      deps.stdout,
      `  ${a.role.padEnd(11)} ${a.state.padEnd(12)} ${task.padEnd(10)} ${(a.provider ?? '-').padEnd(7)} ${a.instance_id}` +
        (a.detail ? ` (${a.detail})` : ''),
    );
  }
  if (s.agents_folded_text) writeLine(deps.stdout, `  ${s.agents_folded_text}`);
  const q = s.queue;
  writeLine(
    deps.stdout,
    `queue: ${q.pending} pending, ${q.in_progress} in progress, ${q.completed} completed, ${q.failed} failed, ` +
      `${q.cancelled} cancelled`,
  );
  const budget =
    s.today.daily_budget > 0
      ? ` of ${s.today.daily_budget} (${Math.round((s.today.budget_used ?? 0) * 100)}%)`
      : ' (no daily budget)';
  writeLine(deps.stdout, `today: ${s.today.tokens} tokens${budget}, $${s.today.cost_usd.toFixed(2)}`);
  if (s.rate_limited.length === 0) writeLine(deps.stdout, 'rate limits: none');
  for (const r of s.rate_limited) writeLine(deps.stdout, `rate limited: ${r.provider} until ${r.until}`);
  writeLine(
    deps.stdout,
    `waiting for a human: ${s.open_approvals.length} approval(s), ${s.open_proposals.length} open proposal(s)`,
  );
  for (const a of s.open_approvals) writeLine(deps.stdout, `  approval ${a.id} (${a.kind}): ${a.title}`);
  for (const p of s.open_proposals) {
    writeLine(deps.stdout, `  proposal ${p.id} (${p.kind}, +${p.votes_for}/-${p.votes_against}): ${p.title}`);
  }
  const d = s.latest_discussion;
  if (d === null) writeLine(deps.stdout, 'latest discussion: none yet');
  else {
    const firstLine = d.body.split('\n')[0] ?? '';
    writeLine(deps.stdout, `latest discussion: #${d.id} [${d.topic}] ${d.author}: ${firstLine.slice(0, 120)}`);
  }
  return 0;
}
