/**
 * @module The database's tables as Kysely types: the single description of every row Auto-Dev stores.
 * Times are integer milliseconds since the epoch (UTC) on both engines; JSON columns hold serialized text.
 * Migrations in `./migrations/` create exactly this; `test/store/schema-snapshot.test.ts` keeps them in step.
 */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { TaskStatus } from '../domain/roles.js';
import type { ProjectStatus } from '../domain/project-schema.js';

/** Set once on insert, never updated. */
type CreatedAt = ColumnType<number, number, never>;

export interface TasksTable {
  id: Generated<number>;
  type: string;
  status: TaskStatus;
  priority: number;
  payload: string;
  result: string | null;
  error: string | null;
  attempts: Generated<number>;
  max_attempts: number;
  run_after: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  parent_id: number | null;
  workflow_id: number | null;
  repo_id: number | null;
  created_by: string;
  created_at: CreatedAt;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  /** Set by callers that must enqueue at most once (webhooks, the scheduler); unique when not null. */
  dedupe_key: ColumnType<string | null, string | null | undefined, never>;
}

/**
 * Tasks by status and type, kept by triggers on `tasks` (migration 0022). On PostgreSQL several rows per status and
 * type (signed deltas, summed on read, folded now and then); on SQLite one. Read through queue/task-counts.ts.
 */
export interface TaskCountsTable {
  status: TaskStatus;
  type: string;
  n: number;
}

/** The append-only audit and change log: every state change writes one row in the same transaction. */
export interface EventsTable {
  id: Generated<number>;
  kind: string;
  subject_type: string;
  subject_id: string;
  actor: string;
  data: string;
  created_at: CreatedAt;
}

export type ApprovalKind = 'spec' | 'merge' | 'project' | 'publish';
export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'deferred';

export interface ApprovalsTable {
  id: Generated<number>;
  kind: ApprovalKind;
  status: ApprovalStatus;
  subject_type: string;
  subject_id: string;
  title: string;
  body: string;
  workflow_id: number | null;
  decided_by: string | null;
  reason: string | null;
  decided_at: number | null;
  created_at: CreatedAt;
  updated_at: number;
}

export type WorkflowKind = 'story' | 'product';
export type WorkflowStatus = 'running' | 'waiting_for_human' | 'completed' | 'failed' | 'cancelled';

export interface WorkflowsTable {
  id: Generated<number>;
  kind: WorkflowKind;
  status: WorkflowStatus;
  stage: string;
  title: string;
  body: string;
  repo_id: number | null;
  fix_rounds: Generated<number>;
  state: string;
  created_by: string;
  created_at: CreatedAt;
  updated_at: number;
  /** The proposal whose approval started this story. */
  proposal_id: Generated<number | null>;
}

/** `waiting`: claims paused because no provider the role may use can run (not logged in, or limited with no fallback). */
export type AgentStatus = 'idle' | 'working' | 'waiting' | 'rate_limited' | 'stopped' | 'crashed';

export interface AgentsTable {
  instance_id: string;
  role: string;
  status: AgentStatus;
  current_task_id: number | null;
  provider: string | null;
  host: string;
  pid: number;
  status_detail: string | null;
  heartbeat_at: number;
  started_at: number;
}

export interface SessionsTable {
  id: Generated<number>;
  task_id: number | null;
  role: string;
  agent_instance_id: string | null;
  provider: string;
  model: string | null;
  provider_session_id: string | null;
  status: 'running' | 'succeeded' | 'failed' | 'rate_limited' | 'aborted';
  outcome: string | null;
  tokens_in: Generated<number>;
  tokens_out: Generated<number>;
  tokens_cache: Generated<number>;
  cost_usd: Generated<number>;
  started_at: number;
  finished_at: number | null;
}

export interface SessionEventsTable {
  id: Generated<number>;
  session_id: number;
  seq: number;
  kind: string;
  data: string;
  created_at: CreatedAt;
}

export type ForgeKind = 'local' | 'gitlab' | 'github';

export interface RepositoriesTable {
  id: Generated<number>;
  name: string;
  forge: ForgeKind;
  /** The local repository (a local forge) or the remote's clone cache under the data directory. */
  location: string;
  /** Where task branches are pushed and merge requests live; null: `location` is its own remote (migration 0008). */
  remote_url: string | null;
  default_branch: string;
  test_command: string | null;
  deploy_command: string | null;
  lint_command: string | null;
  settings: string;
  created_at: CreatedAt;
  updated_at: number;
}

export type MergeRequestStatus = 'open' | 'merged' | 'closed';

export interface MergeRequestsTable {
  id: Generated<number>;
  repo_id: number;
  workflow_id: number | null;
  source_branch: string;
  target_branch: string;
  title: string;
  description: string;
  status: MergeRequestStatus;
  head_sha: string | null;
  target_sha: string | null;
  merge_sha: string | null;
  external_id: string | null;
  /** The request's page in its forge (migration 0017); null on the local forge. */
  url: string | null;
  created_at: CreatedAt;
  updated_at: number;
}

export interface MergeRequestNotesTable {
  id: Generated<number>;
  merge_request_id: number;
  author: string;
  kind: 'note' | 'review';
  verdict: 'approve' | 'request_changes' | 'comment' | null;
  body: string;
  created_at: CreatedAt;
}

export type DiscussionAuthorKind = 'agent' | 'human';

export interface DiscussionsTable {
  id: Generated<number>;
  topic: string;
  /** An agent's instance id (`role@host:pid#n`) or a human's `api:<token name>` / `cli:<user>`. */
  author: string;
  body: string;
  created_at: CreatedAt;
  /** The message this one replies to (same topic), or null for a thread's first message. */
  reply_to: number | null;
  /** The task an agent posted from. */
  task_id: number | null;
  author_kind: Generated<DiscussionAuthorKind>;
}

export type ProposalStatus = 'open' | 'approved' | 'rejected';
/** What an approved proposal becomes: a story on a repository, or a `build_product` task. */
export type ProposalKind = 'story' | 'product';
export type VoteDirection = 'up' | 'down';

export interface ProposalsTable {
  id: Generated<number>;
  title: string;
  body: string;
  author: string;
  votes_for: Generated<number>;
  votes_against: Generated<number>;
  status: ProposalStatus;
  created_at: CreatedAt;
  updated_at: number;
  kind: Generated<ProposalKind>;
  /** The repository a story proposal is for (required by the time it is approved). */
  repo_id: number | null;
  /** The task an agent proposed from. */
  source_task_id: number | null;
  decided_by: string | null;
  decided_at: number | null;
  /** A rejection's reason (required), or an approval's note. */
  reason: string | null;
  /** The story an approval started. */
  workflow_id: number | null;
  /** The `build_product` task an approval started. */
  task_id: number | null;
}

export interface ProposalVotesTable {
  id: Generated<number>;
  proposal_id: number;
  /** One vote per voter and proposal (unique): an agent's instance id or a human's actor name. */
  voter: string;
  vote: VoteDirection;
  reason: string | null;
  created_at: CreatedAt;
}

export interface InstructionsTable {
  id: Generated<number>;
  role: string;
  message: string;
  created_by: string;
  delivered_at: number | null;
  delivered_to_session_id: number | null;
  created_at: CreatedAt;
}

export type TokenRole = 'viewer' | 'approver' | 'admin';

export interface ApiTokensTable {
  id: Generated<number>;
  name: string;
  role: TokenRole;
  token_hash: string;
  created_at: CreatedAt;
  revoked_at: number | null;
}

/** A provider that hit a rate limit, and until when it is skipped (shared by every process). */
export interface ProviderLimitsTable {
  provider: string;
  limited_until: number;
  reason: string;
  updated_at: number;
}

/** Desired state of a role's agents; every process's supervisor reconciles toward it. */
export interface AgentControlsTable {
  role: string;
  /** Concurrent workers of this role in each process that runs the role; 0 stops it. */
  desired_workers: number;
  /** A restart asked for at this time: workers started before it are restarted. */
  restart_requested_at: number | null;
  updated_by: string;
  updated_at: number;
  /** Workers of this role across every process (0020); null: `desired_workers` in each process, as before. */
  replicas: ColumnType<number | null, number | null | undefined, number | null>;
  /** Bumped by each restart request (0020): a worker started under an older generation restarts. */
  restart_generation: Generated<number>;
}

/** A log line a process recorded (0020): warn and above, and lifecycle lines at info. */
export interface ProcessLogsTable {
  id: Generated<number>;
  process_id: string;
  /** What the process serves: `up`, `dashboard`, `webhook`, `scheduler`, `agent:builder`, a CLI command. */
  service: string;
  host: string;
  pid: number;
  /** The agent role the line is about, when it is about one. */
  role: string | null;
  component: string | null;
  /** pino's number: 30 info, 40 warn, 50 error, 60 fatal. */
  level: number;
  message: string;
  /** The line's other fields as JSON (masked, bounded). */
  data: string | null;
  created_at: number;
}

/** A process that runs agents (0020), for shares of replicas and `agents status`. */
export interface AgentProcessesTable {
  process_id: string;
  host: string;
  pid: number;
  /** The roles it runs, comma-separated. */
  roles: string;
  started_at: number;
  heartbeat_at: number;
  stopped_at: number | null;
}

/** What a webhook delivery did: `acted` (started or decided something), `ignored`, `duplicate` (its effect existed). */
export type WebhookOutcome = 'acted' | 'ignored' | 'duplicate';

/** One row per forge delivery (unique forge + delivery id); `action_key` is unique: one effect per fact. */
export interface WebhookDeliveriesTable {
  id: Generated<number>;
  forge: 'gitlab' | 'github';
  delivery_id: string;
  event: string;
  action_key: string | null;
  outcome: WebhookOutcome;
  detail: string;
  workflow_id: number | null;
  task_id: number | null;
  received_at: CreatedAt;
}

/** A fired schedule slot (unique schedule name + slot time): the row's insert decides which scheduler fires it. */
export interface ScheduleRunsTable {
  id: Generated<number>;
  schedule_name: string;
  slot_at: number;
  /** The scheduler instance that fired it. */
  fired_by: string;
  /** JSON array of the enqueued task ids. */
  task_ids: string;
  created_at: CreatedAt;
}

/** What a forge write for an agent's result is (migration 0018, `agents/forge-writes.ts`). */
export type ForgeWriteKind = 'epic' | 'issue' | 'link' | 'priority' | 'line_comment' | 'note';
/**
 * `planned`: recorded, not called yet; `calling`: the forge call started; `done`: the forge did it (`external_id`,
 * `url`); `failed`: the forge refused (a retry tries again); `uncertain`: a crash left it `calling`, so whether the
 * forge did it is unknown and it is never repeated (a human looks).
 */
export type ForgeWriteStatus = 'planned' | 'calling' | 'done' | 'failed' | 'uncertain';

/** One intended write into a GitLab/GitHub forge and its outcome (migration 0018). */
export interface ForgeWritesTable {
  id: Generated<number>;
  /** Unique: `task:<id>:epic`, `task:<id>:story:<n>`, `task:<id>:link:<n>`, `task:<id>:finding:<n>`. */
  write_key: string;
  task_id: number;
  repo_id: number;
  kind: ForgeWriteKind;
  status: ForgeWriteStatus;
  /** JSON: the write itself (`ForgeWriteRequest`, agents/forge-writes.ts). */
  request: string;
  external_id: string | null;
  url: string | null;
  /** JSON: what the write said (an epic's form, the refusal) for people. */
  detail: Generated<string>;
  created_at: CreatedAt;
  updated_at: number;
}

/** Where the polling fallback left off, per repository and stream (`issues`) (migration 0018). */
export interface ForgePollCursorsTable {
  repo_id: number;
  stream: string;
  cursor: string;
  updated_at: number;
}

/** Where a durable change-log follower stopped (migration 0026, `events/stored-event-cursor.ts`): an `EventCursor`. */
export interface EventLogCursorsTable {
  /** The follower, e.g. `notifier`. */
  name: string;
  /** PostgreSQL: the transaction id of the last row read; 0 on SQLite. */
  xid: number;
  /** The id of the last row read. */
  event_id: number;
  /** PostgreSQL, a cursor made at "now": its snapshot (`EventCursor.before`); else null. */
  snapshot: string | null;
  updated_at: number;
}

/** The notification outbox (migration 0015, `src/notify/`). */
export interface NotificationsTable {
  id: Generated<number>;
  /** sha256 (hex, 16 characters) of the webhook URL: the URL itself may hold a secret and is never stored. */
  webhook: string;
  /** The webhook URL with its secrets masked, for people. */
  target: string;
  dedupe_key: string;
  event: string;
  /** JSON: the message (`NotifyMessage`). */
  message: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: Generated<number>;
  next_attempt_at: number;
  last_error: string | null;
  created_at: CreatedAt;
  updated_at: number;
  delivered_at: number | null;
}

/** Where a memory note was learned. */
export type MemorySource =
  'analyze_repo' | 'spec_decision' | 'review_lesson' | 'failed_round' | 'human_rejection' | 'agent_note' | 'human_note';

/**
 * What the swarm remembers (migration 0014): per repository, or global when `repo_id` is null. Full-text indexed
 * (SQLite: FTS5 table `memory_notes_fts`; PostgreSQL: generated column `text_search`, not typed here: only
 * `memory/` reads it through `sql`). `embedding` is a JSON array of floats when an embeddings endpoint is configured.
 */
export interface MemoryNotesTable {
  id: Generated<number>;
  repo_id: number | null;
  source: MemorySource;
  text: string;
  /** What it is about, e.g. `task:12`, `approval:3` (for humans; not searched). */
  subject: string | null;
  created_by: string;
  embedding: string | null;
  embedding_model: string | null;
  created_at: CreatedAt;
}

/**
 * A project of the product pipeline (migration 0016): one row per `product` workflow, keyed by its id. JSON columns:
 * `ratings` (`ProjectRatings`), `targets` (string[]), `publications` (`Publication[]`, see `domain/project-schema.ts`).
 */
export interface ProjectsTable {
  workflow_id: number;
  /** The product name: its directory under `<data-dir>/projects/` and its package name (unique). */
  name: string;
  title: string;
  /** The `build_product` idea (or the swarm proposal's text) it came from. */
  idea: string;
  problem: string;
  audience: string;
  spec_markdown: string;
  ratings: string;
  targets: string;
  estimated_tokens: number;
  status: ProjectStatus;
  /** A deferred proposal comes back (status `proposed`, a new pending approval) at this time. */
  deferred_until: number | null;
  /** The agent instance (or human) that wrote the proposal. */
  proposed_by: string;
  /** The `build_product` task whose result is this proposal. */
  source_task_id: number | null;
  /** The project's own repository, once approved. */
  repo_id: number | null;
  /** The story workflow building it on that repository. */
  story_workflow_id: number | null;
  /** `<data-dir>/projects/<name>/`, once the product files are validated. */
  product_dir: string | null;
  publications: Generated<string>;
  /** The Architect's `evaluate_feasibility` result (JSON, `ProjectAssessmentRecord`); null until it completed. */
  assessment: Generated<string | null>;
  created_at: CreatedAt;
  updated_at: number;
}

export interface Database {
  tasks: TasksTable;
  task_counts: TaskCountsTable;
  events: EventsTable;
  approvals: ApprovalsTable;
  workflows: WorkflowsTable;
  agents: AgentsTable;
  sessions: SessionsTable;
  session_events: SessionEventsTable;
  repositories: RepositoriesTable;
  merge_requests: MergeRequestsTable;
  merge_request_notes: MergeRequestNotesTable;
  discussions: DiscussionsTable;
  proposals: ProposalsTable;
  proposal_votes: ProposalVotesTable;
  instructions: InstructionsTable;
  api_tokens: ApiTokensTable;
  provider_limits: ProviderLimitsTable;
  agent_controls: AgentControlsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  schedule_runs: ScheduleRunsTable;
  notifications: NotificationsTable;
  memory_notes: MemoryNotesTable;
  projects: ProjectsTable;
  forge_writes: ForgeWritesTable;
  forge_poll_cursors: ForgePollCursorsTable;
  event_log_cursors: EventLogCursorsTable;
  process_logs: ProcessLogsTable;
  agent_processes: AgentProcessesTable;
}

export type TaskRow = Selectable<TasksTable>;
export type NewTaskRow = Insertable<TasksTable>;
export type TaskUpdate = Updateable<TasksTable>;
export type EventRow = Selectable<EventsTable>;
