/**
 * @module Swarm proposals: agents (through the session outbox) and humans propose work, anyone votes once (unique
 * `(proposal_id, voter)` in the database), and a human decides. Approving turns the proposal into the work it asks
 * for in the same transaction: a story workflow on its repository (`kind: story`, `workflows.proposal_id` links
 * back) or a `build_product` task for the product pipeline (`kind: product`, its payload names the proposal); the
 * proposal keeps `workflow_id` / `task_id`. Rejecting needs a reason, which is kept. Every change writes its
 * `proposal.*` event (who, when, why) like the other gates.
 */
import type { Kysely, Selectable } from 'kysely';
import { assertStorableText, TEXT_LIMITS } from '../domain/input-policy.js';
import { AutodevError } from '../errors.js';
import { recordEvent } from '../events/record-event.js';
import { findRepository } from '../forge/repositories.js';
import { inTransaction } from '../store/in-transaction.js';
import type {
  Database,
  ProposalKind,
  ProposalStatus,
  ProposalsTable,
  ProposalVotesTable,
  VoteDirection,
} from '../store/schema.js';
import { startStoryWorkflow, type WorkflowDeps } from './advance-workflow.js';
import { MAX_BODY_CHARS, MAX_TITLE_CHARS } from './stories.js';

export type ProposalRow = Selectable<ProposalsTable>;
export type ProposalVoteRow = Selectable<ProposalVotesTable>;

export const PROPOSAL_STATUSES: readonly ProposalStatus[] = ['open', 'approved', 'rejected'];
export const PROPOSAL_KINDS: readonly ProposalKind[] = ['story', 'product'];
export const VOTE_DIRECTIONS: readonly VoteDirection[] = ['up', 'down'];
export const MAX_LISTED_PROPOSALS = 200;

export function isProposalStatus(value: string): value is ProposalStatus {
  return (PROPOSAL_STATUSES as readonly string[]).includes(value);
}

export function isProposalKind(value: string): value is ProposalKind {
  return (PROPOSAL_KINDS as readonly string[]).includes(value);
}

export function isVoteDirection(value: string): value is VoteDirection {
  return (VOTE_DIRECTIONS as readonly string[]).includes(value);
}

export interface NewProposal {
  title: string;
  body: string;
  kind: ProposalKind;
  /** A registered repository's name (a story proposal may leave it for the approver to choose). */
  repo?: string | undefined;
  /** Set by the runtime for an agent's proposal: its task's repository. */
  repoId?: number | null | undefined;
  author: string;
  sourceTaskId?: number | undefined;
  now: number;
}

/** Validates and stores an open proposal with its `proposal.created` event; nothing is written on bad input. */
export async function createProposal(db: Kysely<Database>, input: NewProposal): Promise<ProposalRow> {
  const title = assertStorableText('the title', input.title).trim();
  if (title === '' || title.length > MAX_TITLE_CHARS) {
    throw new AutodevError('VALIDATION_FAILED', `the title must be 1 to ${MAX_TITLE_CHARS} characters`);
  }
  const body = assertStorableText('the body', input.body).trim();
  if (body === '' || body.length > MAX_BODY_CHARS) {
    throw new AutodevError('VALIDATION_FAILED', `the body must be 1 to ${MAX_BODY_CHARS} characters`);
  }
  if (!isProposalKind(input.kind)) {
    throw new AutodevError('VALIDATION_FAILED', `a proposal's kind is ${PROPOSAL_KINDS.join(' or ')}`);
  }
  return inTransaction(db, async (tx) => {
    const repoId =
      input.kind === 'product'
        ? null
        : input.repo !== undefined
          ? (await findRepository(tx, input.repo)).id
          : (input.repoId ?? null);
    const row = await tx
      .insertInto('proposals')
      .values({
        title,
        body,
        kind: input.kind,
        repo_id: repoId,
        author: input.author,
        source_task_id: input.sourceTaskId ?? null,
        status: 'open',
        created_at: input.now,
        updated_at: input.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEvent(tx, {
      kind: 'proposal.created',
      subjectType: 'proposal',
      subjectId: row.id,
      actor: input.author,
      data: { title, kind: input.kind, repo_id: repoId },
      now: input.now,
    });
    return row;
  });
}

export async function getProposal(db: Kysely<Database>, id: number): Promise<ProposalRow> {
  const row = await db.selectFrom('proposals').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) {
    throw new AutodevError('PROPOSAL_NOT_FOUND', `no proposal has id ${id}; "autodev swarm proposals" shows them`);
  }
  return row;
}

function refuseDecided(row: ProposalRow): void {
  if (row.status !== 'open') {
    throw new AutodevError(
      'PROPOSAL_ALREADY_DECIDED',
      `proposal ${row.id} is already ${row.status}${row.decided_by ? ` by ${row.decided_by}` : ''}`,
    );
  }
}

export interface NewVote {
  proposalId: number;
  voter: string;
  vote: VoteDirection;
  reason?: string | undefined;
  now: number;
}

/**
 * One vote per voter: a second one is ALREADY_VOTED (the unique key decides, so two at once cannot both count; the
 * insert does nothing on conflict, so a transaction it runs in stays usable). A decided proposal takes no votes.
 */
export async function voteOnProposal(db: Kysely<Database>, input: NewVote): Promise<ProposalRow> {
  if (!isVoteDirection(input.vote)) {
    throw new AutodevError('VALIDATION_FAILED', `a vote is up or down (got "${String(input.vote)}")`);
  }
  const reason = input.reason === undefined ? '' : assertStorableText('the reason', input.reason).trim();
  if (reason.length > TEXT_LIMITS.reason) {
    throw new AutodevError('VALIDATION_FAILED', `the reason must be at most ${TEXT_LIMITS.reason} characters`);
  }
  return inTransaction(db, async (tx) => {
    refuseDecided(await getProposal(tx, input.proposalId));
    const inserted = await tx
      .insertInto('proposal_votes')
      .values({
        proposal_id: input.proposalId,
        voter: input.voter,
        vote: input.vote,
        reason: reason === '' ? null : reason,
        created_at: input.now,
      })
      .onConflict((oc) => oc.columns(['proposal_id', 'voter']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) {
      throw new AutodevError(
        'ALREADY_VOTED',
        `${input.voter} already voted on proposal ${input.proposalId}; one vote per voter`,
      );
    }
    const column = input.vote === 'up' ? 'votes_for' : 'votes_against';
    const row = await tx
      .updateTable('proposals')
      .set((eb) => ({ [column]: eb(column, '+', 1), updated_at: input.now }))
      .where('id', '=', input.proposalId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEvent(tx, {
      kind: 'proposal.voted',
      subjectType: 'proposal',
      subjectId: input.proposalId,
      actor: input.voter,
      data: { vote: input.vote, ...(reason ? { reason } : {}) },
      now: input.now,
    });
    return row;
  });
}

export interface ProposalDecision {
  id: number;
  decision: 'approved' | 'rejected';
  /** Required to reject (kept); an optional note when approving. */
  reason?: string | undefined;
  /** For a story proposal without a repository: where the story runs. */
  repo?: string | undefined;
  actor: string;
}

/**
 * A human's decision. Approving a story proposal starts its story (on the proposal's repository, or `repo`); a
 * product proposal enqueues `build_product`. All in one transaction with the decision and its event.
 */
export async function decideProposal(
  db: Kysely<Database>,
  deps: WorkflowDeps,
  decision: ProposalDecision,
): Promise<ProposalRow> {
  const reason = decision.reason === undefined ? '' : assertStorableText('the reason', decision.reason).trim();
  if (reason.length > TEXT_LIMITS.reason) {
    throw new AutodevError('VALIDATION_FAILED', `the reason must be at most ${TEXT_LIMITS.reason} characters`);
  }
  if (decision.decision === 'rejected' && reason === '') {
    throw new AutodevError('REASON_REQUIRED', `rejecting proposal ${decision.id} needs a reason (--reason "...")`);
  }
  return inTransaction(db, async (tx) => {
    const current = await getProposal(tx, decision.id);
    refuseDecided(current);
    const now = deps.queue.clock();
    let workflowId: number | null = null;
    let taskId: number | null = null;
    let repoId = current.repo_id;
    if (decision.decision === 'approved') {
      if (current.kind === 'story') {
        if (decision.repo !== undefined) repoId = (await findRepository(tx, decision.repo)).id;
        if (repoId === null) {
          throw new AutodevError(
            'VALIDATION_FAILED',
            `proposal ${current.id} names no repository; approve it with --repo NAME (or {"repo"}) to say where`,
          );
        }
        const story = await startStoryWorkflow(tx, deps, {
          title: current.title,
          body: current.body,
          repoId,
          createdBy: decision.actor,
        });
        await tx.updateTable('workflows').set({ proposal_id: current.id }).where('id', '=', story.id).execute();
        workflowId = story.id;
      } else {
        const task = await deps.queue.enqueue(
          {
            type: 'build_product',
            payload: { idea: current.title, details: current.body, proposal_id: current.id },
            createdBy: decision.actor,
          },
          tx,
        );
        taskId = task.id;
      }
    }
    const row = await tx
      .updateTable('proposals')
      .set({
        status: decision.decision,
        decided_by: decision.actor,
        decided_at: now,
        reason: reason === '' ? null : reason,
        repo_id: repoId,
        workflow_id: workflowId,
        task_id: taskId,
        updated_at: now,
      })
      .where('id', '=', current.id)
      .where('status', '=', 'open')
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEvent(tx, {
      kind: `proposal.${decision.decision}`,
      subjectType: 'proposal',
      subjectId: current.id,
      actor: decision.actor,
      data: {
        ...(reason ? { reason } : {}),
        ...(workflowId !== null ? { workflow_id: workflowId } : {}),
        ...(taskId !== null ? { task_id: taskId } : {}),
      },
      now,
    });
    return row;
  });
}

/** Newest first (at most MAX_LISTED_PROPOSALS), optionally of one status. */
export async function listProposals(
  db: Kysely<Database>,
  filter: { status?: string | undefined } = {},
): Promise<ProposalRow[]> {
  let query = db.selectFrom('proposals').selectAll();
  if (filter.status !== undefined) {
    if (!isProposalStatus(filter.status)) {
      throw new AutodevError(
        'VALIDATION_FAILED',
        `unknown proposal status "${filter.status}"; use one of ${PROPOSAL_STATUSES.join(', ')}`,
      );
    }
    query = query.where('status', '=', filter.status);
  }
  return query.orderBy('id', 'desc').limit(MAX_LISTED_PROPOSALS).execute();
}

/** The votes of these proposals, by proposal id, oldest first. */
export async function votesOf(db: Kysely<Database>, ids: readonly number[]): Promise<Map<number, ProposalVoteRow[]>> {
  const byProposal = new Map<number, ProposalVoteRow[]>();
  if (ids.length === 0) return byProposal;
  const rows = await db
    .selectFrom('proposal_votes')
    .selectAll()
    .where('proposal_id', 'in', [...ids])
    .orderBy('id')
    .execute();
  for (const row of rows) {
    const id = Number(row.proposal_id);
    byProposal.set(id, [...(byProposal.get(id) ?? []), row]);
  }
  return byProposal;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
const idOrNull = (id: number | null) => (id === null ? null : Number(id));

export function proposalToJson(row: ProposalRow, votes: readonly ProposalVoteRow[] = []) {
  return {
    id: Number(row.id),
    title: row.title,
    body: row.body,
    kind: row.kind,
    author: row.author,
    repo_id: idOrNull(row.repo_id),
    source_task_id: idOrNull(row.source_task_id),
    votes_for: Number(row.votes_for),
    votes_against: Number(row.votes_against),
    votes: votes.map((v) => ({
      voter: v.voter,
      vote: v.vote,
      reason: v.reason,
      created_at: new Date(Number(v.created_at)).toISOString(),
    })),
    status: row.status,
    decided_by: row.decided_by,
    decided_at: iso(row.decided_at),
    reason: row.reason,
    workflow_id: idOrNull(row.workflow_id),
    task_id: idOrNull(row.task_id),
    created_at: new Date(Number(row.created_at)).toISOString(),
    updated_at: new Date(Number(row.updated_at)).toISOString(),
  };
}

export type ProposalJson = ReturnType<typeof proposalToJson>;

/** Rows with their votes, as JSON. */
export async function proposalsToJson(db: Kysely<Database>, rows: readonly ProposalRow[]): Promise<ProposalJson[]> {
  const votes = await votesOf(
    db,
    rows.map((r) => Number(r.id)),
  );
  return rows.map((row) => proposalToJson(row, votes.get(Number(row.id)) ?? []));
}
