/**
 * @module The swarm's discussion board: messages by topic, threads by `reply_to`, written by agents (through the
 * session outbox, applied when their task completes) and by humans (CLI, API, dashboard). One writer,
 * `postDiscussion`: it validates, inserts the message and its `discussion.posted` event in one transaction. Readers:
 * the newest messages (optionally of one topic), the topics, and the recent messages of the topics a task concerns
 * (`taskTopics`), which the agent runtime quotes into a session's prompt as untrusted data.
 */
import type { Kysely, Selectable } from 'kysely';
import { assertStorableText } from '../domain/input-policy.js';
import { AutodevError } from '../errors.js';
import { recordEvent } from '../events/record-event.js';
import { inTransaction } from '../store/in-transaction.js';
import type { Database, DiscussionAuthorKind, DiscussionsTable } from '../store/schema.js';

export type DiscussionRow = Selectable<DiscussionsTable>;

/** The same limits the MCP tool enforces (`mcp/session-files.ts` OUTBOX_LIMITS). */
export const DISCUSSION_LIMITS = { topicMaxChars: 100, bodyMaxChars: 20_000 } as const;
export const DEFAULT_RECENT_MESSAGES = 20;
export const MAX_RECENT_MESSAGES = 500;

export interface NewDiscussion {
  /** Required for a new thread; a reply takes its parent's topic (a different one given is refused). */
  topic?: string | undefined;
  body: string;
  replyTo?: number | undefined;
  /** An agent's instance id, or a human's `api:<token name>` / `cli:<user>`. */
  author: string;
  authorKind: DiscussionAuthorKind;
  taskId?: number | undefined;
  now: number;
}

/**
 * Posts one message. Refuses (VALIDATION_FAILED) an empty or oversized topic or body, a reply whose topic differs
 * from its parent's, and (DISCUSSION_NOT_FOUND) a reply to a message that does not exist; nothing is written then.
 *
 * ### Examples
 * ```ts
 * await postDiscussion(db, { topic: 'repo:shop', body: 'CI is flaky', author: 'cli:ann', authorKind: 'human', now });
 * ```
 */
export async function postDiscussion(db: Kysely<Database>, input: NewDiscussion): Promise<DiscussionRow> {
  const body = assertStorableText('the message', input.body, DISCUSSION_LIMITS.bodyMaxChars).trim();
  if (body === '') throw new AutodevError('VALIDATION_FAILED', 'the message is empty; write something to post');
  const givenTopic = input.topic === undefined ? undefined : normalizeTopic(input.topic);
  return inTransaction(db, async (tx) => {
    let topic = givenTopic;
    if (input.replyTo !== undefined) {
      const parent = await tx
        .selectFrom('discussions')
        .select(['id', 'topic'])
        .where('id', '=', input.replyTo)
        .executeTakeFirst();
      if (!parent) {
        throw new AutodevError(
          'DISCUSSION_NOT_FOUND',
          `no discussion message has id ${input.replyTo}; "autodev swarm discuss --recent" shows the ids`,
        );
      }
      if (topic !== undefined && topic !== parent.topic) {
        throw new AutodevError(
          'VALIDATION_FAILED',
          `message ${parent.id} is in topic "${parent.topic}"; a reply stays in its thread's topic`,
        );
      }
      topic = parent.topic;
    }
    if (topic === undefined) {
      throw new AutodevError(
        'VALIDATION_FAILED',
        'a new message needs a topic (--topic T), or reply to one (--reply ID)',
      );
    }
    const row = await tx
      .insertInto('discussions')
      .values({
        topic,
        body,
        author: input.author,
        author_kind: input.authorKind,
        reply_to: input.replyTo ?? null,
        task_id: input.taskId ?? null,
        created_at: input.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEvent(tx, {
      kind: 'discussion.posted',
      subjectType: 'discussion',
      subjectId: row.id,
      actor: input.author,
      data: { topic, reply_to: row.reply_to, ...(input.taskId !== undefined ? { task_id: input.taskId } : {}) },
      now: input.now,
    });
    return row;
  });
}

/** A topic as stored: trimmed, 1..100 characters, storable. */
export function normalizeTopic(text: string): string {
  const topic = assertStorableText('the topic', text).trim();
  if (topic === '' || topic.length > DISCUSSION_LIMITS.topicMaxChars) {
    throw new AutodevError('VALIDATION_FAILED', `the topic must be 1 to ${DISCUSSION_LIMITS.topicMaxChars} characters`);
  }
  return topic;
}

/** The newest `recent` messages, newest first, optionally of one topic. */
export function listDiscussions(
  db: Kysely<Database>,
  filter: { topic?: string | undefined; recent: number },
): Promise<DiscussionRow[]> {
  let query = db.selectFrom('discussions').selectAll();
  if (filter.topic !== undefined) query = query.where('topic', '=', filter.topic);
  return query.orderBy('id', 'desc').limit(filter.recent).execute();
}

/** The most recently active topics with their message counts. */
export async function listTopics(db: Kysely<Database>, limit: number) {
  const rows = await db
    .selectFrom('discussions')
    .select((eb) => ['topic', eb.fn.countAll<number>().as('messages'), eb.fn.max('created_at').as('last_at')])
    .groupBy('topic')
    .orderBy('last_at', 'desc')
    .orderBy('topic')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ topic: row.topic, messages: Number(row.messages), last_at: Number(row.last_at) }));
}

export function discussionToJson(row: DiscussionRow) {
  return {
    id: Number(row.id),
    topic: row.topic,
    author: row.author,
    author_kind: row.author_kind,
    body: row.body,
    reply_to: row.reply_to === null ? null : Number(row.reply_to),
    task_id: row.task_id === null ? null : Number(row.task_id),
    created_at: new Date(Number(row.created_at)).toISOString(),
  };
}

/**
 * The topics a task concerns, by convention: its story's (`story:<workflow id>`), its repository's
 * (`repo:<name>`), and the proposal it was started for (`proposal:<id>`). Agents are told to post there.
 */
export function taskTopics(task: {
  workflowId: number | null;
  repoName?: string | undefined;
  proposalId?: number | undefined;
}): string[] {
  const topics: string[] = [];
  if (task.workflowId !== null) topics.push(`story:${task.workflowId}`);
  if (task.repoName !== undefined) topics.push(`repo:${task.repoName}`);
  if (task.proposalId !== undefined) topics.push(`proposal:${task.proposalId}`);
  return topics;
}

/** The newest `perTopic` messages of each topic, oldest first within a topic (for a prompt). */
export async function recentMessagesOfTopics(
  db: Kysely<Database>,
  topics: readonly string[],
  perTopic: number,
): Promise<{ topic: string; messages: DiscussionRow[] }[]> {
  const out: { topic: string; messages: DiscussionRow[] }[] = [];
  for (const topic of topics) {
    const rows = await listDiscussions(db, { topic, recent: perTopic });
    if (rows.length > 0) out.push({ topic, messages: rows.reverse() });
  }
  return out;
}
