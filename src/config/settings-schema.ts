/**
 * @module The shape of `settings.yaml` (the guide's section 10 plus Auto-Dev's own keys) as one zod schema: strict
 * objects, so an unknown key is an error; every key has a default, so `{}` parses to the shipped defaults.
 */
import { z } from 'zod';
import { MAX_ATTEMPTS_LIMIT } from '../domain/input-policy.js';
import { ROLES, type Role } from '../domain/roles.js';
import { LOG_LEVELS } from '../log-levels.js';
import { parseCron } from '../scheduler/schedule-slots.js';
import { looksSecretName } from '../secrets/known-secrets.js';

/** The real LLM providers a setting may name (`replay` is for tests and the demo, never configured). */
export const LLM_PROVIDERS = ['claude', 'codex'] as const;
export type LlmProviderName = (typeof LLM_PROVIDERS)[number];

export const SANDBOX_MODES = ['bubblewrap', 'none'] as const;

const wholeNumber = (min: number) => z.number().int().min(min);
const seconds = () => z.number().positive();

/** Environment variables for a provider's CLI; numbers and booleans are written as the strings the CLI will see. */
const envMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({});

const providerSettings = {
  /** A path, or a name looked up on PATH. */
  /** A path or a name on PATH; null = the CLI that ships with the provider's npm package. */
  executable: z.string().min(1).nullable(),
  /** null: the CLI's own default model. */
  model: z.string().min(1).nullable().default(null),
  env: envMap,
};

const TokensSchema = z
  .strictObject({
    daily_budget: wholeNumber(0).default(0),
    session_max: wholeNumber(1).default(200_000),
  })
  .prefault({});

const WatcherSchema = z
  .strictObject({
    max_session_duration: seconds().default(3600),
    restart_delay: z.number().min(0).default(10),
  })
  .prefault({});

const LlmSchema = z
  .strictObject({
    default_provider: z.enum(LLM_PROVIDERS).default('claude'),
    fallback_provider: z.enum(LLM_PROVIDERS).default('codex'),
    auto_fallback_on_rate_limit: z.boolean().default(true),
    manual_override_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name, e.g. SWARM_LLM_PROVIDER')
      .default('SWARM_LLM_PROVIDER'),
    providers: z
      .strictObject({
        claude: z
          .strictObject({ ...providerSettings, executable: providerSettings.executable.default(null) })
          .prefault({}),
        codex: z
          .strictObject({
            ...providerSettings,
            executable: providerSettings.executable.default(null),
            /** Codex config overrides (`codex -c key=value`), e.g. a custom `model_provider`. */
            config: z.record(z.string(), z.unknown()).default({}),
          })
          .prefault({}),
      })
      .prefault({}),
  })
  .prefault({});

const AgentSchema = z
  .strictObject({
    /** null: `llm.default_provider`. */
    provider: z.enum(LLM_PROVIDERS).nullable().default(null),
  })
  .prefault({});

const agentShape = Object.fromEntries(ROLES.map((role) => [role, AgentSchema])) as Record<Role, typeof AgentSchema>;
const AgentsSchema = z.strictObject(agentShape).prefault({});

const ServerSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 picks a free port. */
    port: wholeNumber(0).max(65_535).default(8080),
    /** Open `GET /api/events` streams at once, all tokens together; one more gets 429 TOO_MANY_STREAMS. */
    max_event_streams: wholeNumber(1).max(100_000).default(1000),
    /** Open `GET /api/events` streams at once per token (a dashboard tab holds one). */
    max_event_streams_per_token: wholeNumber(1).max(100_000).default(20),
    /** Bytes an event stream may have queued for a client that stopped reading before it is dropped. */
    max_event_stream_buffer_bytes: wholeNumber(16_384)
      .max(1 << 30)
      .default(1024 * 1024),
    /** A client that has not read what was sent to it for this long is dropped. */
    max_event_stream_stall_seconds: seconds().max(3600).default(30),
    /** `serve agent:ROLE` / `serve scheduler`: answer `/health` and `/ready` on this port (null: no listener). */
    health_port: wholeNumber(0).max(65_535).nullable().default(null),
    /**
     * `serve *`: how long a process started before its database keeps trying to reach it (backoff 0.25 s doubling to
     * 5 s; `/ready` says "waiting for the database") before it exits DATABASE_UNAVAILABLE. 0: one try.
     */
    database_wait_seconds: seconds().max(86_400).default(300),
  })
  .prefault({});

const QueueSchema = z
  .strictObject({
    lease_seconds: seconds().default(60),
    heartbeat_seconds: seconds().default(15),
    reclaim_seconds: seconds().default(5),
    max_attempts: wholeNumber(1).max(MAX_ATTEMPTS_LIMIT).default(3),
    retry_base_seconds: z.number().min(0).default(5),
    retry_max_seconds: z.number().min(0).default(900),
  })
  .superRefine((queue, ctx) => {
    if (queue.heartbeat_seconds >= queue.lease_seconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['heartbeat_seconds'],
        message: `must be less than queue.lease_seconds (${queue.heartbeat_seconds} >= ${queue.lease_seconds}), or leases expire between heartbeats`,
      });
    }
    if (queue.retry_max_seconds < queue.retry_base_seconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['retry_max_seconds'],
        message: `must be at least queue.retry_base_seconds (${queue.retry_max_seconds} < ${queue.retry_base_seconds})`,
      });
    }
  })
  .prefault({});

const WorkflowSchema = z.strictObject({ max_fix_rounds: wholeNumber(0).default(3) }).prefault({});

const SandboxSchema = z.strictObject({ mode: z.enum(SANDBOX_MODES).default('bubblewrap') }).prefault({});

/** Where secrets (publishing tokens, deploy secrets, the webhook secret) are kept: `src/secrets/`. */
export const SECRET_PROVIDERS = ['environment', 'file', 'ssm'] as const;

const SecretsSchema = z
  .strictObject({
    /** environment: Auto-Dev's own variables (read only); file: `<data-dir>/secrets.enc`; ssm: AWS SSM Parameter Store. */
    provider: z.enum(SECRET_PROVIDERS).default('environment'),
    /** Every secret's name starts with it (`/auto-dev/npm/token`); the SSM parameter path. */
    prefix: z
      .string()
      .regex(/^(\/[A-Za-z0-9_.-]+)+$/, 'must be a path such as /auto-dev')
      .default('/auto-dev'),
    /** The file provider's master key file (mode 0600) when AUTODEV_MASTER_KEY is not set; default <data-dir>/secrets.key. */
    key_file: z.string().min(1).nullable().default(null),
    /** The ssm provider's AWS region (default: the SDK's, from AWS_REGION). */
    region: z.string().min(1).nullable().default(null),
    /** The ssm provider's endpoint (an emulator, a VPC endpoint); default: AWS's. */
    endpoint: z.url().nullable().default(null),
  })
  .prefault({});

const WebhooksSchema = z
  .strictObject({
    /** An issue with this label on a registered repository starts a story. */
    swarm_label: z.string().min(1).max(100).default('autodev'),
    /** A merge request comment starting with this addresses the swarm (`@autodev fix ...`, `@autodev review`). */
    mention: z.string().min(2).max(100).default('@autodev'),
    /** This label on a story's issue approves its spec (as does a comment `@autodev approve spec`). */
    spec_approval_label: z.string().min(1).max(100).default('autodev-spec-approved'),
    /** Forge usernames whose approval in the forge decides a merge or spec approval; empty: nobody's. */
    approvers: z.array(z.string().min(1).max(255)).default([]),
    /** Forge usernames whose `@autodev` comments start fixes and reviews; empty: anyone who can comment. */
    commenters: z.array(z.string().min(1).max(255)).default([]),
    /** A delivery larger than this is refused with 413. */
    max_body_bytes: wholeNumber(1024)
      .max(25 * 1024 * 1024)
      .default(1024 * 1024),
    /** `autodev serve webhook`: where it listens (`autodev up` serves the routes on server.port). */
    host: z.string().min(1).default('127.0.0.1'),
    port: wholeNumber(0).max(65_535).default(8081),
    /** How often the scheduler service polls the repositories whose settings say `forge_events: poll`. */
    poll_seconds: z.number().min(1).max(86_400).default(60),
  })
  .prefault({});

/** The task types a schedule may start: recurring work of the bug finder and the PM. */
export const SCHEDULED_TASK_TYPES = ['static_analysis', 'prioritize_backlog', 'analyze_repo'] as const;
export type ScheduledTaskType = (typeof SCHEDULED_TASK_TYPES)[number];

const ScheduleSchema = z
  .strictObject({
    /** Five fields (minute) or six (second first), in UTC unless `timezone` says otherwise. */
    cron: z.string().min(1).max(200),
    task_type: z.enum(SCHEDULED_TASK_TYPES),
    /** true: one task per registered repository each slot (or only `repository`); false: one task. */
    per_repository: z.boolean().default(true),
    /** Only this registered repository (by name); null: every one. */
    repository: z.string().min(1).max(200).nullable().default(null),
    /** Added to each task's payload. */
    payload: z.record(z.string(), z.unknown()).default({}),
    enabled: z.boolean().default(true),
    priority: wholeNumber(1).max(10).default(3),
    timezone: z.string().min(1).default('UTC'),
  })
  .superRefine((schedule, ctx) => {
    try {
      parseCron(schedule.cron, schedule.timezone);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        path: ['cron'],
        message: `not a valid cron pattern: ${(error as Error).message}`,
      });
    }
  });

/** The shipped schedules (settings.yaml): the guide's recurring work, off until a user enables it. */
const SHIPPED_SCHEDULES = {
  'static-analysis': { cron: '0 2 * * *', task_type: 'static_analysis' },
  'prioritize-backlog': { cron: '0 6 * * 1', task_type: 'prioritize_backlog' },
  'analyze-repo': { cron: '0 4 * * 0', task_type: 'analyze_repo' },
} as const;

/** Recurring work by name (the name is the schedule's identity in `schedule_runs`). */
const SchedulesSchema = z
  .record(
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a schedule name is lower-case letters, digits, "-" and "_" (up to 63)'),
    ScheduleSchema,
  )
  .prefault(
    Object.fromEntries(
      Object.entries(SHIPPED_SCHEDULES).map(([name, s]) => [
        name,
        { ...s, per_repository: true, repository: null, payload: {}, enabled: false },
      ]),
    ),
  );

const SchedulerSchema = z
  .strictObject({
    /** How often the scheduler looks for due slots. */
    tick_seconds: z.number().min(0.05).max(60).default(1),
  })
  .prefault({});

/** What the scheduler service deletes, and when (`store/prune.ts`); a day count of 0 keeps those rows for ever. */
const RetentionSchema = z
  .strictObject({
    /** Completed, failed and cancelled tasks finished this many days ago (not those of a story still running). */
    finished_tasks_days: wholeNumber(0).max(36_500).default(90),
    /** Events (the audit and change log) older than this. */
    events_days: wholeNumber(0).max(36_500).default(90),
    /** Transcripts (session events) of sessions that ended this many days ago; the session rows (costs) stay. */
    transcripts_days: wholeNumber(0).max(36_500).default(30),
    /** Session rows (tokens, cost) that ended this many days ago; 0 keeps the cost history. */
    sessions_days: wholeNumber(0).max(36_500).default(0),
    /** Process log lines (`autodev logs`) and the rows of agent processes gone this many days ago. */
    process_logs_days: wholeNumber(0).max(36_500).default(30),
    /** Rows deleted per statement: short transactions that never hold a table for long. */
    batch_size: wholeNumber(1).max(100_000).default(1000),
    /** Cron (UTC) of the scheduler's prune; each slot runs once however many schedulers run. */
    cron: z.string().min(1).max(200).default('17 3 * * *'),
  })
  .superRefine((retention, ctx) => {
    try {
      parseCron(retention.cron);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        path: ['cron'],
        message: `not a valid cron pattern: ${(error as Error).message}`,
      });
    }
  })
  .prefault({});

const LogSchema = z.strictObject({ level: z.enum(LOG_LEVELS).default('info') }).prefault({});

/** What a webhook is told about (`src/notify/`). */
export const NOTIFY_EVENTS = ['approval_opened', 'waiting_for_human', 'rate_limited', 'budget_spent'] as const;
export type NotifyEventName = (typeof NOTIFY_EVENTS)[number];

const WebhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).describe('http(s) URL; a secret in it (token, password) is masked in output'),
  format: z.enum(['slack', 'json']).default('json'),
  events: z
    .array(z.enum(NOTIFY_EVENTS))
    .min(1)
    .default([...NOTIFY_EVENTS]),
});

const NotifySchema = z
  .strictObject({
    webhooks: z.array(WebhookSchema).default([]),
    max_attempts: wholeNumber(1).max(100).default(8),
    retry_base_seconds: z.number().min(0).default(5),
    retry_max_seconds: z.number().min(0).default(900),
  })
  .prefault({});

/**
 * The swarm's memory (`src/memory/`). Full-text search always works; `embeddings` (any OpenAI-compatible
 * `POST .../embeddings` endpoint, e.g. a local model server) adds vector search; `qdrant` keeps the vectors in a Qdrant
 * collection (the guide's `auto-dev-qdrant`) instead of the database.
 */
const MemorySchema = z
  .strictObject({
    /** Notes quoted in a session's prompt (the most relevant to its task); 0 = none. */
    prompt_notes: z.number().int().min(0).max(20).default(5),
    embeddings: z
      .strictObject({
        /** The full endpoint URL, e.g. http://localhost:8080/v1/embeddings. */
        url: z.url(),
        model: z.string().min(1),
        /** Name of an environment variable holding the endpoint's API key, if it needs one. */
        api_key_env: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
          .nullable()
          .default(null),
      })
      .nullable()
      .default(null),
    qdrant: z
      .strictObject({
        url: z.url(),
        collection: z.string().min(1).default('auto-dev-memory'),
      })
      .nullable()
      .default(null),
  })
  .prefault({});

/** Where an approved product's own repository is made (`forge/create-remote-project.ts`). */
export const PRODUCT_FORGES = ['local', 'gitlab', 'github'] as const;

const ProductsSchema = z
  .strictObject({
    /** local: a git repository at <data-dir>/projects/<name>/; gitlab / github: a new project there, cloned to it. */
    forge: z.enum(PRODUCT_FORGES).default('local'),
    /** GitLab: the instance URL (null: https://gitlab.com); GitHub: the REST API URL (null: https://api.github.com). */
    base_url: z
      .url({ protocol: /^https?$/ })
      .nullable()
      .default(null),
    /** GitLab: the group path (subgroups allowed); GitHub: the organization. null: the token's own user. */
    namespace: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, 'must be a group path or an organization name')
      .refine((value) => !value.split('/').some((part) => /^\.+$/.test(part)), 'must not hold "." or ".." parts')
      .nullable()
      .default(null),
    /**
     * The environment variable holding the token (null: GITLAB_TOKEN / GITHUB_TOKEN); only its name is stored. Its
     * name must look secret (`*_TOKEN`, ...): that is how every Auto-Dev process knows to mask its value.
     */
    token_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name')
      .refine(looksSecretName, 'must be a name Auto-Dev masks the value of (ending in _TOKEN, _KEY, _SECRET, ...)')
      .nullable()
      .default(null),
    /** The new project's visibility (GitHub: private unless public). */
    visibility: z.enum(['private', 'internal', 'public']).default('private'),
  })
  .prefault({});

export const SettingsSchema = z.strictObject({
  tokens: TokensSchema,
  watcher: WatcherSchema,
  llm: LlmSchema,
  agents: AgentsSchema,
  server: ServerSchema,
  queue: QueueSchema,
  workflow: WorkflowSchema,
  sandbox: SandboxSchema,
  log: LogSchema,
  secrets: SecretsSchema,
  webhooks: WebhooksSchema,
  scheduler: SchedulerSchema,
  retention: RetentionSchema,
  schedules: SchedulesSchema,
  notify: NotifySchema,
  memory: MemorySchema,
  products: ProductsSchema,
});

/** Effective settings, every key present. */
export type Settings = z.output<typeof SettingsSchema>;
/** What a settings file may contain: any subset of the keys. */
export type SettingsInput = z.input<typeof SettingsSchema>;
