/**
 * @module The polling fallback, for installations the forge cannot reach: a repository whose settings say
 * `forge_events: poll` has its forge asked, each poll, for what its webhooks would have said, and each fact goes
 * through `handleDelivery`, the webhook handler itself, as a delivery with a poll id (`poll:issue:12:<updated at>`):
 * same action keys, so a poll and a webhook of one fact act once whichever comes first, and the same poll twice is a
 * replay. Read: open issues labelled `webhooks.swarm_label` updated since the repository's cursor (`forge_poll_cursors`,
 * the newest `updated_at` seen; issues updated at that very instant are read again and replay); for each open swarm
 * merge request with a forge id, its approvals while its story waits on a merge approval, and the pipeline of its
 * head when that failed. A spec approval by label is never taken from a poll: who added the label is unknown.
 */
import type { Kysely } from 'kysely';
import type { ForgeClient } from '../forge/forge-client.js';
import { repositorySettings, type RepositoryRow } from '../forge/repositories.js';
import type { Database } from '../store/schema.js';
import { handleDelivery, type DeliveryResult, type WebhookDeps } from './handle-delivery.js';
import type { ProjectRef } from './forge-events.js';

export interface PollDeps extends WebhookDeps {
  /** The repository's forge client (`forgeClientFor` in the service). */
  clientFor: (repository: RepositoryRow) => ForgeClient;
}

export interface PollOutcome {
  repository: string;
  /** Each fact polled and what the webhook handler did with it. */
  deliveries: { deliveryId: string; result: DeliveryResult }[];
  /** The issues cursor after this poll. */
  cursor: string | null;
}

const ISSUES_STREAM = 'issues';

/** The GitLab/GitHub repositories whose settings ask for polling. */
export async function polledRepositories(db: Kysely<Database>): Promise<RepositoryRow[]> {
  const rows = await db.selectFrom('repositories').selectAll().where('forge', 'in', ['gitlab', 'github']).execute();
  return rows.filter((row) => repositorySettings(row).forge_events === 'poll');
}

/** Polls one repository's forge once and feeds what it finds to the webhook handler. */
export async function pollRepository(deps: PollDeps, repository: RepositoryRow): Promise<PollOutcome> {
  const forge = repository.forge;
  if (forge !== 'gitlab' && forge !== 'github') {
    return { repository: repository.name, deliveries: [], cursor: null };
  }
  const db = deps.queue.handle.db;
  const client = deps.clientFor(repository);
  const project: ProjectRef = { path: repositorySettings(repository).forge_project ?? repository.name, urls: [] };
  const outcome: PollOutcome = { repository: repository.name, deliveries: [], cursor: null };
  const pollDeps: WebhookDeps = {
    ...deps,
    resolveRepository: async () => repository,
    fetchFailedJobLog: deps.fetchFailedJobLog ?? (({ jobId }) => client.jobLog(String(jobId))),
  };
  const deliver = async (deliveryId: string, event: string, parsed: Parameters<typeof handleDelivery>[1]['parsed']) => {
    const result = await handleDelivery(pollDeps, { forge, deliveryId, event, parsed });
    outcome.deliveries.push({ deliveryId, result });
  };

  // Issues labelled for the swarm.
  const cursor = await readCursor(db, repository.id);
  const issues = await client.listLabelledIssues(deps.settings.swarm_label, cursor);
  let newest = cursor;
  for (const issue of issues) {
    await deliver(`poll:issue:${issue.externalId}:${issue.updatedAt}`, 'poll: labelled issue', {
      kind: 'issue_labels',
      project,
      issue: {
        number: Number(issue.externalId),
        title: issue.title,
        body: issue.body,
        url: issue.url ?? '',
        labels: issue.labels.filter((l) => l !== deps.settings.spec_approval_label),
      },
      labelsAdded: [],
      actor: issue.author,
    });
    if (newest === null || Date.parse(issue.updatedAt) > Date.parse(newest)) newest = issue.updatedAt;
  }
  if (newest !== null && newest !== cursor) await writeCursor(db, repository.id, newest, deps.queue.clock());
  outcome.cursor = newest;

  // The swarm's open merge requests: approvals given in the forge, and a failed pipeline of the head.
  const mergeRequests = await db
    .selectFrom('merge_requests')
    .select(['external_id', 'workflow_id', 'source_branch'])
    .where('repo_id', '=', repository.id)
    .where('status', '=', 'open')
    .where('external_id', 'is not', null)
    .orderBy('id')
    .execute();
  for (const mr of mergeRequests) {
    const number = Number(mr.external_id);
    if (!Number.isInteger(number)) continue;
    if (client.capabilities.approvals && mr.workflow_id !== null) {
      const pending = await db
        .selectFrom('approvals')
        .select('id')
        .where('workflow_id', '=', mr.workflow_id)
        .where('kind', '=', 'merge')
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (pending) {
        for (const user of await client.listApprovals(String(number))) {
          await deliver(`poll:mr:${number}:approval:${pending.id}:${user}`, 'poll: approval', {
            kind: 'merge_request_approved',
            project,
            mergeRequest: { number },
            actor: user,
          });
        }
      }
    }
    if (client.capabilities.pipelines) {
      const current = await client.getMergeRequest(String(number));
      if (!current?.headSha) continue;
      const pipeline = await client.pipeline(current.headSha);
      if (pipeline.status !== 'failed' || pipeline.id === undefined) continue;
      await deliver(`poll:pipeline:${pipeline.id}`, 'poll: failed pipeline', {
        kind: 'pipeline_failed',
        project,
        branch: mr.source_branch,
        pipelineId: Number(pipeline.id),
        failedJobs: pipeline.jobs.filter((j) => j.status === 'failed').map((j) => ({ id: Number(j.id), name: j.name })),
      });
    }
  }
  return outcome;
}

async function readCursor(db: Kysely<Database>, repoId: number): Promise<string | null> {
  const row = await db
    .selectFrom('forge_poll_cursors')
    .select('cursor')
    .where('repo_id', '=', repoId)
    .where('stream', '=', ISSUES_STREAM)
    .executeTakeFirst();
  return row?.cursor ?? null;
}

/** Moves the cursor forward only (two pollers racing leave the later time). */
async function writeCursor(db: Kysely<Database>, repoId: number, cursor: string, now: number): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const current = await readCursor(tx, repoId);
    if (current !== null && Date.parse(current) >= Date.parse(cursor)) return;
    await tx
      .insertInto('forge_poll_cursors')
      .values({ repo_id: repoId, stream: ISSUES_STREAM, cursor, updated_at: now })
      .onConflict((c) => c.columns(['repo_id', 'stream']).doUpdateSet({ cursor, updated_at: now }))
      .execute();
  });
}
