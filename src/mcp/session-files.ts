/**
 * @module The session directory: the only channel between an agent session (sandboxed, no database) and the agent
 * runner outside it. Owns the file formats, their schemas and their readers/writers; what the runner does with them is
 * the runner's business.
 *
 * ## Format (`<session-dir>/`)
 * - `context.json` — written by the runner before the session starts, read by the `autodev mcp` server:
 *   `{ task: {id, type, priority, payload, attempts}, role, repo?, branch?, parent_results?, instructions?,
 *   result_schema }` (see `SessionContextSchema`; unknown keys are kept, so the runner can add fields).
 * - `result.json` — written by the `submit_result` tool, atomically (temp file + rename), after the result passed the
 *   task type's contract: `{ task_id, task_type, submitted_at, result }`. Each valid submission replaces the previous
 *   one: the last valid result wins. Absent = the agent never submitted a valid result.
 * - `outbox.jsonl` — one JSON object per line, appended by `create_task`, `post_discussion`, `propose` and `vote`, in
 *   call order: `{"seq":1,"at":"<ISO time>","kind":"create_task","type","priority","payload","reason"}`,
 *   `{"seq":2,"at":"<ISO time>","kind":"post_discussion","topic","body","reply_to"?}`,
 *   `{"seq":3,...,"kind":"propose","title","body","proposal_kind"}` or
 *   `{"seq":4,...,"kind":"vote","proposal_id","vote","reason"?}`. Nothing in it has happened yet: the runner
 *   validates and applies it in the transaction that completes the task, and drops it if the task does not complete.
 *
 * The agent can write to this directory (it shares the sandbox with the MCP server), so the runner must treat
 * `result.json` and `outbox.jsonl` as untrusted: re-validate them, never just trust that the tools wrote them.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { isTaskType, ROLES } from '../domain/roles.js';
import { AutodevError } from '../errors.js';

export const CONTEXT_FILE = 'context.json';
export const RESULT_FILE = 'result.json';
export const OUTBOX_FILE = 'outbox.jsonl';

/** Limits on what an agent may put in the outbox; the tools and the outbox reader enforce the same ones. */
export const OUTBOX_LIMITS = {
  topicMaxChars: 100,
  titleMaxChars: 200,
  bodyMaxChars: 20_000,
  reasonMaxChars: 2_000,
  /** Serialized JSON size of a `create_task` payload. */
  payloadMaxBytes: 64 * 1024,
} as const;

// ---------------------------------------------------------------------------------------------------------------------
// context.json

const jsonObject = z.record(z.string(), z.unknown());

export const SessionContextSchema = z.looseObject({
  task: z.looseObject({
    id: z.number().int().positive(),
    type: z.string().refine(isTaskType, { message: 'unknown task type' }),
    priority: z.number().int().min(1).max(10),
    payload: jsonObject,
    /** Attempts so far, counting this one. */
    attempts: z.number().int().min(0),
  }),
  role: z.enum(ROLES),
  repo: z
    .looseObject({
      name: z.string().min(1),
      default_branch: z.string().min(1).optional(),
    })
    .optional(),
  /** The branch the agent works on (never the default branch). */
  branch: z.string().min(1).optional(),
  /** Results of the tasks this one follows from (e.g. the spec a builder implements). */
  parent_results: z
    .array(
      z.looseObject({
        task_id: z.number().int().positive(),
        type: z.string().min(1),
        result: z.unknown(),
      }),
    )
    .optional(),
  /** Operator instructions for the role (`autodev instruct ROLE MESSAGE`), oldest first. */
  instructions: z.array(z.string()).optional(),
  /** JSON Schema of the result `submit_result` accepts for this task type (an object schema). */
  result_schema: jsonObject,
});
export type SessionContext = z.infer<typeof SessionContextSchema>;

/**
 * Writes `context.json` (creating the directory, mode 0700) before a session starts. Validates first: a context the
 * MCP server would refuse is a bug on the runner's side and fails here, not inside the sandbox.
 *
 * ### Examples
 * ```ts
 * await writeSessionContext(dir, { task: { id: 7, type: 'review_mr', priority: 5, payload: { mr: 3 }, attempts: 1 },
 *   role: 'reviewer', result_schema: resultJsonSchema('review_mr') });
 * ```
 */
export async function writeSessionContext(dir: string, context: SessionContext): Promise<void> {
  const parsed = SessionContextSchema.safeParse(context);
  if (!parsed.success) {
    throw new AutodevError('VALIDATION_FAILED', `session context is invalid: ${describeIssues(parsed.error)}`);
  }
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomically(path.join(dir, CONTEXT_FILE), `${JSON.stringify(parsed.data, null, 2)}\n`);
}

/** Reads and validates `context.json`; throws a `VALIDATION_FAILED` error naming the file if it is absent or wrong. */
export async function readSessionContext(dir: string): Promise<SessionContext> {
  const file = path.join(dir, CONTEXT_FILE);
  return parseSessionContext(await readRequiredFile(file), file);
}

/** Parses the text of a `context.json`; `file` only names it in errors. */
export function parseSessionContext(text: string, file: string = CONTEXT_FILE): SessionContext {
  const parsed = SessionContextSchema.safeParse(parseJson(text, file));
  if (!parsed.success) {
    throw new AutodevError('VALIDATION_FAILED', `${file} is invalid: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

// ---------------------------------------------------------------------------------------------------------------------
// result.json

export const SessionResultFileSchema = z.object({
  task_id: z.number().int().positive(),
  task_type: z.string().min(1),
  /** ISO time of the submission. */
  submitted_at: z.iso.datetime(),
  /** The result as validated by the task type's contract (`validateResult`). */
  result: z.unknown(),
});
export type SessionResultFile = z.infer<typeof SessionResultFileSchema>;

/** Writes `result.json` atomically (temp file + rename), replacing any earlier one: the last write wins. */
export async function writeSessionResult(dir: string, value: SessionResultFile): Promise<void> {
  const parsed = SessionResultFileSchema.safeParse(value);
  if (!parsed.success) {
    throw new AutodevError('VALIDATION_FAILED', `session result is invalid: ${describeIssues(parsed.error)}`);
  }
  await writeFileAtomically(path.join(dir, RESULT_FILE), `${JSON.stringify(parsed.data, null, 2)}\n`);
}

/**
 * Reads `result.json`: `undefined` if the agent never submitted a valid result; throws `VALIDATION_FAILED` if the file
 * exists but is not one `writeSessionResult` could have written. The `result` inside still needs `validateResult`.
 */
export async function readSessionResult(dir: string): Promise<SessionResultFile | undefined> {
  const file = path.join(dir, RESULT_FILE);
  const text = await readOptionalFile(file);
  if (text === undefined) return undefined;
  const parsed = SessionResultFileSchema.safeParse(parseJson(text, file));
  if (!parsed.success) {
    throw new AutodevError('VALIDATION_FAILED', `${file} is invalid: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

// ---------------------------------------------------------------------------------------------------------------------
// outbox.jsonl

const nonEmptyText = (max: number) => z.string().trim().min(1).max(max);

export const CreateTaskRequestSchema = z.object({
  kind: z.literal('create_task'),
  type: z.string().refine(isTaskType, { message: 'unknown task type' }),
  priority: z.number().int().min(1).max(10),
  payload: jsonObject.refine((payload) => jsonSize(payload) <= OUTBOX_LIMITS.payloadMaxBytes, {
    message: `payload must be at most ${OUTBOX_LIMITS.payloadMaxBytes} bytes of JSON`,
  }),
  reason: nonEmptyText(OUTBOX_LIMITS.reasonMaxChars),
});

export const PostDiscussionRequestSchema = z.object({
  kind: z.literal('post_discussion'),
  topic: nonEmptyText(OUTBOX_LIMITS.topicMaxChars),
  body: nonEmptyText(OUTBOX_LIMITS.bodyMaxChars),
  /** The message this one answers (its topic must match; checked when applied). */
  reply_to: z.number().int().positive().optional(),
});

export const ProposeRequestSchema = z.object({
  kind: z.literal('propose'),
  title: nonEmptyText(OUTBOX_LIMITS.titleMaxChars),
  body: nonEmptyText(OUTBOX_LIMITS.bodyMaxChars),
  /** story: a story on the task's repository; product: a build_product task. */
  proposal_kind: z.enum(['story', 'product']),
});

export const VoteRequestSchema = z.object({
  kind: z.literal('vote'),
  proposal_id: z.number().int().positive(),
  vote: z.enum(['up', 'down']),
  reason: nonEmptyText(OUTBOX_LIMITS.reasonMaxChars).optional(),
});

/** What a tool asks for; `appendOutbox` adds `seq` and `at`. */
export const OutboxRequestSchema = z.discriminatedUnion('kind', [
  CreateTaskRequestSchema,
  PostDiscussionRequestSchema,
  ProposeRequestSchema,
  VoteRequestSchema,
]);
export type OutboxRequest = z.infer<typeof OutboxRequestSchema>;

const entryFields = { seq: z.number().int().positive(), at: z.iso.datetime() };
export const OutboxEntrySchema = z.discriminatedUnion('kind', [
  CreateTaskRequestSchema.extend(entryFields),
  PostDiscussionRequestSchema.extend(entryFields),
  ProposeRequestSchema.extend(entryFields),
  VoteRequestSchema.extend(entryFields),
]);
export type OutboxEntry = z.infer<typeof OutboxEntrySchema>;
export type CreateTaskEntry = Extract<OutboxEntry, { kind: 'create_task' }>;
export type PostDiscussionEntry = Extract<OutboxEntry, { kind: 'post_discussion' }>;
export type ProposeEntry = Extract<OutboxEntry, { kind: 'propose' }>;
export type VoteEntry = Extract<OutboxEntry, { kind: 'vote' }>;

/** A line of `outbox.jsonl` that `readOutbox` skipped, with why (1-based line number). */
export interface OutboxProblem {
  line: number;
  reason: string;
}

const outboxLocks = new Map<string, Promise<unknown>>();

/**
 * Appends one request to `outbox.jsonl` with the next sequence number and the time, and returns the entry written.
 * Appends from one process to one directory are serialized, so sequence numbers are dense and lines never interleave;
 * a line cut short by a crash is left behind (`readOutbox` reports it) and the next entry starts on a fresh line.
 *
 * ### Examples
 * ```ts
 * await appendOutbox(dir, { kind: 'post_discussion', topic: 'flaky tests', body: 'test/x.test.ts times out' });
 * // -> { seq: 1, at: '2025-01-01T00:00:00.000Z', kind: 'post_discussion', topic: 'flaky tests', body: '...' }
 * ```
 */
export async function appendOutbox(
  dir: string,
  request: OutboxRequest,
  options: { now?: Date } = {},
): Promise<OutboxEntry> {
  const parsed = OutboxRequestSchema.safeParse(request);
  if (!parsed.success) {
    throw new AutodevError('VALIDATION_FAILED', `outbox request is invalid: ${describeIssues(parsed.error)}`);
  }
  const file = path.resolve(dir, OUTBOX_FILE);
  return withLock(file, async () => {
    const existing = (await readOptionalFile(file)) ?? '';
    const seq = existing.split('\n').filter((line) => line.trim() !== '').length + 1;
    const entry = { seq, at: (options.now ?? new Date()).toISOString(), ...parsed.data } as OutboxEntry;
    const separator = existing === '' || existing.endsWith('\n') ? '' : '\n';
    await fs.appendFile(file, `${separator}${JSON.stringify(entry)}\n`, { mode: 0o600 });
    return entry;
  });
}

/**
 * Reads `outbox.jsonl` in order. A line that is not JSON or not a valid entry is skipped and reported in `problems`,
 * never thrown: one bad line must not lose the others. A missing file is an empty outbox.
 */
export async function readOutbox(dir: string): Promise<{ entries: OutboxEntry[]; problems: OutboxProblem[] }> {
  const text = (await readOptionalFile(path.join(dir, OUTBOX_FILE))) ?? '';
  const entries: OutboxEntry[] = [];
  const problems: OutboxProblem[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      problems.push({ line, reason: 'not valid JSON' });
      return;
    }
    const parsed = OutboxEntrySchema.safeParse(value);
    if (parsed.success) entries.push(parsed.data);
    else problems.push({ line, reason: describeIssues(parsed.error) });
  });
  return { entries, problems };
}

// ---------------------------------------------------------------------------------------------------------------------
// Helpers

/** `path.to.field: message; other: message` — short enough for an error line, precise enough to fix the input. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 10)
    .map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.map(String).join('.')}: ${issue.message}`))
    .join('; ');
}

function jsonSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AutodevError('VALIDATION_FAILED', `${file} is not valid JSON: ${(error as Error).message}`);
  }
}

async function readOptionalFile(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function readRequiredFile(file: string): Promise<string> {
  const text = await readOptionalFile(file);
  if (text === undefined) throw new AutodevError('VALIDATION_FAILED', `${file} does not exist`);
  return text;
}

/** Readers see the old file or the new one, never half of one. */
async function writeFileAtomically(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await fs.writeFile(temp, text, { mode: 0o600 });
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

async function withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = outboxLocks.get(key) ?? Promise.resolve();
  const current = previous.then(work);
  const settled = current.catch(() => undefined);
  outboxLocks.set(key, settled);
  try {
    return await current;
  } finally {
    if (outboxLocks.get(key) === settled) outboxLocks.delete(key);
  }
}
