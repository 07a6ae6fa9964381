/**
 * @module The discussion a session is shown: the topics its task concerns (`taskTopics`: its story's, its
 * repository's, the proposal it came from) and their newest messages, plus the newest open proposals (so it can
 * vote), as untrusted blocks for `renderTaskPrompt` (agents and people wrote them: data, never instructions).
 */
import type { Kysely } from 'kysely';
import type { Task } from '../queue/task-record.js';
import type { Database } from '../store/schema.js';
import { recentMessagesOfTopics, taskTopics, type DiscussionRow } from '../workflow/discussions.js';
import type { UntrustedText } from './render-prompt.js';

/** Newest messages per topic quoted into a prompt. */
export const PROMPT_MESSAGES_PER_TOPIC = 10;
/** Newest open proposals quoted into a prompt (the agent may vote on them), each body cut to a paragraph. */
export const PROMPT_OPEN_PROPOSALS = 10;
const PROPOSAL_BODY_CHARS = 600;

export interface TaskDiscussion {
  topics: string[];
  blocks: UntrustedText[];
}

export async function taskDiscussion(
  db: Kysely<Database>,
  task: Pick<Task, 'workflowId' | 'payload'>,
  repoName: string | undefined,
): Promise<TaskDiscussion> {
  const topics = taskTopics({ workflowId: task.workflowId, repoName, proposalId: await proposalOf(db, task) });
  const threads = await recentMessagesOfTopics(db, topics, PROMPT_MESSAGES_PER_TOPIC);
  const blocks: UntrustedText[] = threads.map(({ topic, messages }) => ({
    label: `discussion "${topic}": its ${messages.length} newest message(s), oldest first`,
    text: messages.map(formatMessage).join('\n\n'),
  }));
  const proposals = await db
    .selectFrom('proposals')
    .select(['id', 'kind', 'title', 'body', 'author', 'votes_for', 'votes_against'])
    .where('status', '=', 'open')
    .orderBy('id', 'desc')
    .limit(PROMPT_OPEN_PROPOSALS)
    .execute();
  if (proposals.length > 0) {
    blocks.push({
      label: `open swarm proposals (the ${proposals.length} newest; the vote tool takes their ids)`,
      text: proposals
        .map(
          (p) =>
            `#${p.id} [${p.kind}] ${p.title} (+${p.votes_for}/-${p.votes_against}) by ${p.author}:\n` +
            (p.body.length > PROPOSAL_BODY_CHARS ? `${p.body.slice(0, PROPOSAL_BODY_CHARS)}...` : p.body),
        )
        .join('\n\n'),
    });
  }
  return { topics, blocks };
}

/** The proposal a task came from: a build_product task names it; a story knows it on its workflow row. */
async function proposalOf(db: Kysely<Database>, task: Pick<Task, 'workflowId' | 'payload'>) {
  const named = task.payload.proposal_id;
  if (typeof named === 'number' && Number.isSafeInteger(named) && named > 0) return named;
  if (task.workflowId === null) return undefined;
  const row = await db
    .selectFrom('workflows')
    .select('proposal_id')
    .where('id', '=', task.workflowId)
    .executeTakeFirst();
  return row?.proposal_id == null ? undefined : Number(row.proposal_id);
}

export function formatMessage(row: DiscussionRow): string {
  const reply = row.reply_to === null ? '' : `, reply to #${row.reply_to}`;
  const who = row.author_kind === 'human' ? `${row.author} (human)` : row.author;
  return `#${row.id} by ${who} at ${new Date(Number(row.created_at)).toISOString()}${reply}:\n${row.body}`;
}
