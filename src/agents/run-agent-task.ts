/**
 * @module One agent task, start to finish: choose the provider (rate limits shared through the database), prepare the
 * workspace and session directory, render the prompt, run the CLI session sandboxed under the watcher's limits,
 * record the transcript, commit the work (never lost), then validate the submitted result, run the task's
 * deterministic gate (tests, secret scan, lint: `run-gates.ts`) outside any transaction, and hand the worker loop a
 * completion whose outbox writes and workflow step commit with it. Rate limits release the task; everything else that
 * goes wrong is a failed attempt whose error says why. Deterministic task types (`merge`, `deploy`) run no session at
 * all: their handlers are `deterministic-handlers.ts`'s.
 */
import type { SecretStore } from '../secrets/secret-store.js';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Role } from '../domain/roles.js';
import { findPackageRoot } from '../config/package-root.js';
import type { Settings } from '../config/settings-schema.js';
import type { Logger } from '../log.js';
import type { LlmProvider, SessionRequest } from '../llm/provider.js';
import type { ProviderName, SessionEvent, SessionOutcome, TokenUsage } from '../llm/session-events.js';
import { mcpServerSpec } from '../mcp/run-mcp-stdio.js';
import { readOutbox, readSessionResult, writeSessionContext } from '../mcp/session-files.js';
import { ReleaseTask, type HandlerOutcome, type TaskContext, type TaskHandler } from '../queue/run-worker.js';
import type { Task } from '../queue/task-record.js';
import type { TaskQueue } from '../queue/task-queue.js';
import type { Database } from '../store/schema.js';
import { commitsBetween, resolveCommit } from '../workspace/git.js';
import { scrubEnvironment, type SandboxMode } from '../workspace/sandbox.js';
import { commitWip, prepareWorktree, sandboxPathsFor, type Worktree } from '../workspace/worktrees.js';
import { AutodevError } from '../errors.js';
import { agentCliPath, homeDir, writeSandboxedCli } from './agent-cli.js';
import { prepareSessionHome } from './session-home.js';
import { hiddenPathsFor, providerSessionEnv, saveOptionsFor } from './sandbox-policy.js';
import { applyOutbox } from './apply-outbox.js';
import { chooseProvider, type ProviderPolicy } from './choose-provider.js';
import { markInstructionsDelivered, pendingInstructions, returnUndeliveredInstructions } from './instructions.js';
import { loadRolePrompt } from './load-role-prompt.js';
import { activeProviderLimits, markProviderLimited } from './provider-limits.js';
import { renderTaskPrompt } from './render-prompt.js';
import { taskDiscussion } from './task-discussions.js';
import { resultJsonSchema, validateResult } from './result-contracts.js';
import { onWorkflowTaskCompleted } from '../workflow/advance-workflow.js';
import { deterministicHandlerFor } from './deterministic-handlers.js';
import { publishGateVerdict } from './publish-gate-verdict.js';
import type { PublishEndpoints } from '../publish/publisher.js';
import { writeResultToForge } from './forge-writes.js';
import { forgeClientFor } from '../forge/forge-clients.js';
import { runTaskGates } from './run-gates.js';
import { publishTaskBranch, taskRepository } from './task-repository.js';
import { createMemoryService } from '../memory/memory-service.js';
import { openMemoryChannel, sessionNoteView, type MemoryChannel } from '../memory/memory-channel.js';
import { notesForTask } from '../memory/task-memory.js';
import { learningsFromTask, rememberLearnings } from '../memory/learn.js';
import { workflowDeps } from '../workflow/workflow-deps.js';
import {
  abortOrphanedSessions,
  appendTranscript,
  finishSession,
  lastProviderSession,
  startSession,
  summarizeLastTranscript,
  type TranscriptEntry,
} from './session-store.js';

/** Roles that review or analyse: a read-only checkout, no write tools. */
export const READ_ONLY_ROLES: ReadonlySet<Role> = new Set<Role>(['reviewer', 'security', 'bug_finder']);

export type ProviderFactory = (name: ProviderName, session: { executable: string | undefined }) => LlmProvider;

export interface AgentRuntimeDeps {
  queue: TaskQueue;
  settings: Settings;
  dataDir: string;
  configDir?: string;
  logger: Logger;
  /** The process environment: scrubbed for sessions; also where the manual provider override is read. */
  env: Record<string, string | undefined>;
  createProvider: ProviderFactory;
  /** `dist/cli/autodev.js`: the MCP server every session gets is `node <cliEntry> mcp`. */
  cliEntry: string;
  /** Tests and the demo: use this provider whatever the settings say (labelled in every output). */
  forceProvider?: ProviderName;
  bwrapPath?: string;
  /** Called with the provider a session runs on (for the agent's status row). */
  onProvider?: (provider: ProviderName) => void;
  /** The uid Auto-Dev runs as (default: this process's); as root, unsandboxed sessions are refused. */
  uid?: number;
  /**
   * Where deterministic steps (a deploy) read their secrets; never handed to a session. Default: the environment
   * provider over `env`, masked by a masker of its own (the caller's masker is the one that masks what is stored).
   */
  secrets?: SecretStore;
  /** Where `publish_product` sends (tests: a local Verdaccio); default: the real registries and APIs. */
  publishEndpoints?: Partial<PublishEndpoints>;
}

/** How often the transcript buffer is written to the database while a session runs. */
const TRANSCRIPT_FLUSH_MS = 250;
/** How many times one task may move to another provider after rate limits before it waits. */
const MAX_PROVIDER_SWITCHES = 2;

export function providerPolicy(
  settings: Settings,
  role: Role,
  env: Record<string, string | undefined>,
): ProviderPolicy {
  const override = env[settings.llm.manual_override_env]?.trim();
  const forced = override === 'claude' || override === 'codex' ? override : undefined;
  return {
    defaultProvider: settings.llm.default_provider,
    fallbackProvider: settings.llm.fallback_provider,
    autoFallbackOnRateLimit: settings.llm.auto_fallback_on_rate_limit,
    roleProvider: settings.agents[role].provider ?? undefined,
    forcedProvider: forced,
  };
}

type SessionEnd =
  | { kind: 'done'; outcome: HandlerOutcome }
  | { kind: 'rate_limited'; provider: ProviderName; until: number | null; reason: string };

export function createAgentTaskHandler(deps: AgentRuntimeDeps, role: Role): TaskHandler {
  return async (task, context) => {
    const deterministic = deterministicHandlerFor(task.type);
    if (deterministic) return deterministic(deps, task, context);
    const db = deps.queue.handle.db;
    for (let switches = 0; ; switches++) {
      const now = deps.queue.clock();
      let provider: ProviderName;
      if (deps.forceProvider) {
        provider = deps.forceProvider;
      } else {
        const choice = chooseProvider(
          providerPolicy(deps.settings, role, deps.env),
          await activeProviderLimits(db, now),
          now,
        );
        if (choice.kind === 'wait' || switches > MAX_PROVIDER_SWITCHES) {
          const until = choice.kind === 'wait' ? choice.until : now + 60_000;
          throw new ReleaseTask(
            `${choice.provider} is rate limited until ${new Date(until).toISOString()}; the task waits (not a failure)`,
            until,
          );
        }
        provider = choice.provider;
      }
      deps.onProvider?.(provider);
      const end = await runSession(deps, role, task, context, provider);
      if (end.kind === 'done') return end.outcome;
      const until = await markProviderLimited(db, {
        provider: end.provider,
        until: end.until,
        reason: end.reason,
        now: deps.queue.clock(),
      });
      deps.logger.warn({ task: task.id, provider: end.provider, until: new Date(until).toISOString() }, 'rate limited');
      if (deps.forceProvider) throw new ReleaseTask(`${end.provider} is rate limited: ${end.reason}`, until);
    }
  };
}

async function prepareWorkspace(deps: AgentRuntimeDeps, role: Role, task: Task) {
  const readOnly = READ_ONLY_ROLES.has(role);
  if (task.repoId === null) {
    const scratch = path.join(deps.dataDir, 'scratch', `task-${task.id}`);
    await mkdir(scratch, { recursive: true });
    return { cwd: scratch, worktree: undefined, repo: undefined, readOnly };
  }
  // This process's working copy, synced with the forge first (cloned into its own clone cache when the registered
  // clone is on another disk; the token only in git's environment, never the session's).
  const repo = await taskRepository(deps, task.repoId);
  if (!repo) throw new Error(`task ${task.id} names repository ${task.repoId}, which is not registered`);
  const payload = task.payload as { title?: unknown; branch?: unknown; ref?: unknown };
  const title = typeof payload.title === 'string' ? payload.title : task.type;
  const ref =
    typeof payload.ref === 'string' ? payload.ref : typeof payload.branch === 'string' ? payload.branch : undefined;
  // A fix continues the work: its branch starts from the branch it fixes (the payload's), not the default branch.
  const continues =
    !readOnly &&
    typeof payload.branch === 'string' &&
    payload.branch !== repo.default_branch &&
    (await resolveCommit(repo.location, `refs/heads/${payload.branch}`)) !== null;
  const worktree = await prepareWorktree(
    {
      repoPath: repo.location,
      baseDir: path.join(deps.dataDir, 'worktrees', repo.name),
      taskId: task.id,
      title,
      baseBranch: continues ? (payload.branch as string) : repo.default_branch,
      readOnly,
      ...(readOnly && ref ? { ref } : {}),
    },
    saveOptionsFor(deps),
  );
  return { cwd: worktree.path, worktree, repo, readOnly };
}

async function parentResults(db: Kysely<Database>, task: Task) {
  if (task.parentId === null) return [];
  const parent = await db
    .selectFrom('tasks')
    .select(['id', 'type', 'status', 'result'])
    .where('id', '=', task.parentId)
    .executeTakeFirst();
  if (!parent || parent.result === null) return [];
  return [
    { taskId: parent.id, type: parent.type, status: parent.status, result: JSON.parse(parent.result) as unknown },
  ];
}

async function runSession(
  deps: AgentRuntimeDeps,
  role: Role,
  task: Task,
  context: TaskContext,
  provider: ProviderName,
): Promise<SessionEnd> {
  const db = deps.queue.handle.db;
  const clock = deps.queue.clock;
  const settings = deps.settings;
  const workspace = await prepareWorkspace(deps, role, task);
  // We hold the lease: a session of this task still "running" belongs to a dead worker's attempt.
  await abortOrphanedSessions(db, task.id, clock());
  const sessionId = await startSession(db, {
    taskId: task.id,
    role,
    agentInstanceId: context.holder.workerId,
    provider,
    model: provider === 'replay' ? null : settings.llm.providers[provider].model,
    now: clock(),
  });
  const sessionDir = path.join(deps.dataDir, 'sessions', String(sessionId));
  const instructions = await pendingInstructions(db, role);
  const parents = await parentResults(db, task);
  const discussion = await taskDiscussion(db, task, workspace.repo?.name);
  await writeSessionContext(sessionDir, {
    task: { id: task.id, type: task.type, priority: task.priority, payload: task.payload, attempts: task.attempts },
    role,
    ...(workspace.repo ? { repo: { name: workspace.repo.name, default_branch: workspace.repo.default_branch } } : {}),
    ...(workspace.worktree?.branch ? { branch: workspace.worktree.branch } : {}),
    parent_results: parents.map((p) => ({ task_id: p.taskId, type: p.type, result: p.result })),
    instructions: instructions.map((i) => i.message),
    result_schema: resultJsonSchema(task.type),
  });
  await markInstructionsDelivered(
    db,
    instructions.map((i) => i.id),
    { sessionId, now: clock() },
  );

  // A retry resumes the CLI conversation when this machine still has it (in the earlier session's home), else it
  // starts fresh with the end of the earlier transcript in its prompt.
  const previous =
    task.attempts > 1 && provider !== 'replay' ? await lastProviderSession(db, task.id, provider) : undefined;
  const home =
    provider === 'replay'
      ? undefined
      : await prepareSessionHome({
          sessionDir,
          provider,
          operatorHome: homeDir(deps.env),
          operatorEnv: deps.env,
          ...(previous
            ? {
                previous: {
                  sessionDir: path.join(deps.dataDir, 'sessions', String(previous.sessionId)),
                  providerSessionId: previous.providerSessionId,
                },
              }
            : {}),
        });
  const resume = previous && home?.canResume ? previous.providerSessionId : undefined;
  const previousTranscript =
    task.attempts > 1 && !resume ? await summarizeLastTranscript(db, task.id, 40, sessionId) : '';

  const memory = createMemoryService({
    handle: deps.queue.handle,
    settings: settings.memory,
    env: deps.env,
    onVectorError: (error) => deps.logger.warn({ err: error, task: task.id }, 'memory vectors unavailable'),
  });
  const memoryNotes = await notesForTask(memory, task, settings.memory.prompt_notes).catch((error: unknown) => {
    deps.logger.warn({ err: error, task: task.id }, 'memory search for the prompt failed; the session runs without');
    return [];
  });

  const rolePrompt = await loadRolePrompt(role, {
    dataDir: deps.dataDir,
    ...(deps.configDir ? { configDir: deps.configDir } : {}),
  });
  const prompt = renderTaskPrompt({
    role,
    rolePrompt: rolePrompt.text,
    task: {
      id: task.id,
      type: task.type,
      priority: task.priority,
      payload: task.payload,
      attempts: task.attempts,
      maxAttempts: task.maxAttempts,
    },
    context: {
      ...(workspace.repo
        ? {
            repo: {
              name: workspace.repo.name,
              defaultBranch: workspace.repo.default_branch,
              testCommand: workspace.repo.test_command,
              deployCommand: workspace.repo.deploy_command,
            },
          }
        : {}),
      ...(workspace.worktree?.branch ? { branch: workspace.worktree.branch } : {}),
      worktree: workspace.cwd,
      readOnly: workspace.readOnly,
      parentResults: parents,
      instructions: instructions.map((i) => ({ id: i.id, message: i.message, created_at: i.created_at })),
      ...(task.error ? { previousError: task.error } : {}),
      ...(previousTranscript ? { previousTranscript } : {}),
      discussionTopics: discussion.topics,
      ...(memoryNotes.length > 0 ? { memoryNotes: memoryNotes.map(sessionNoteView) } : {}),
    },
    untrusted: discussion.blocks,
  });

  const env = { ...sessionEnvironment(deps, provider), ...home?.env };
  const executable = await sessionExecutable(deps, provider, env, workspace, sessionDir);
  const llm = deps.createProvider(provider, { executable });

  const watcher = new AbortController();
  const stopWith = (reason: string) => {
    if (!watcher.signal.aborted) watcher.abort(new Error(reason));
  };
  const onTaskAbort = () => stopWith('lease lost or worker stopping');
  context.signal.addEventListener('abort', onTaskAbort, { once: true });
  if (context.signal.aborted) onTaskAbort();
  const maxSeconds = settings.watcher.max_session_duration;
  const timeLimit = setTimeout(() => stopWith('time limit'), maxSeconds * 1000);

  const transcript = new TranscriptWriter(db, sessionId, clock, deps.logger);
  const submissions = new SubmissionWatcher();
  let usage: TokenUsage | undefined;
  let outcome: SessionOutcome;
  // The session's only way to the memory: a socket and a token for this session, task and repository.
  const memoryChannel: MemoryChannel | undefined = await openMemoryChannel({
    sessionDir,
    scope: { sessionId, taskId: task.id, repoId: task.repoId },
    memory,
    expiresAt: clock() + maxSeconds * 1000 + 60_000,
    clock,
    author: context.holder.workerId,
  }).catch((error: unknown) => {
    deps.logger.warn({ err: error, task: task.id }, 'memory channel not opened; the session runs without memory tools');
    return undefined;
  });
  try {
    const request: SessionRequest = {
      prompt,
      cwd: workspace.cwd,
      env,
      signal: watcher.signal,
      readOnly: workspace.readOnly,
      tokenBudget: settings.tokens.session_max,
      mcpServers: {
        autodev: mcpServerSpec({ nodePath: process.execPath, cliEntry: deps.cliEntry, sessionDir }),
      },
      ...(resume ? { resumeSessionId: resume } : {}),
    };
    outcome = await llm.run(request, (event: SessionEvent) => {
      if (event.type === 'usage') usage = event;
      submissions.see(event);
      transcript.add(event);
    });
  } finally {
    clearTimeout(timeLimit);
    context.signal.removeEventListener('abort', onTaskAbort);
    await memoryChannel?.close();
    await transcript.close();
  }
  const finalUsage: TokenUsage | undefined = outcome.usage ?? usage;
  const submitted = await readSessionResult(sessionDir);
  // A session that ended well but never handed in a result did not do its job: it is not recorded as succeeded.
  const unsubmitted =
    outcome.status === 'succeeded' && !submitted
      ? submissions.lastRefusal
        ? `invalid result: submit_result refused it (${submissions.lastRefusal}) and the session ended without a valid one`
        : 'the session ended without calling submit_result, so there is no verdict'
      : undefined;
  await finishSession(db, sessionId, {
    status: unsubmitted ? 'failed' : outcome.status,
    outcome: unsubmitted ?? outcome.error ?? (outcome.resultText.slice(0, 2000) || null),
    providerSessionId: outcome.providerSessionId,
    model: outcome.model,
    tokensIn: finalUsage ? finalUsage.input_tokens : 0,
    tokensOut: finalUsage ? finalUsage.output_tokens : 0,
    tokensCache: finalUsage ? finalUsage.cache_read_tokens + finalUsage.cache_creation_tokens : 0,
    costUsd: outcome.costUsd ?? 0,
    now: clock(),
  });

  // Never lose work: whatever happened, the worktree's changes are committed on the task branch.
  const wip =
    workspace.worktree && !workspace.readOnly ? await saveWork(deps, workspace.worktree, task, outcome) : undefined;
  // ...and on the forge's remote, where the next task's process (maybe on another disk) fetches it from: a branch with
  // work of its own beyond its base (a PM's or a tester's session that committed nothing pushes no branch).
  let pushError: unknown;
  const hasOwnWork =
    wip &&
    workspace.worktree?.branch &&
    wip.commit !== (await resolveCommit(workspace.worktree.repoPath, `refs/heads/${workspace.worktree.baseBranch}`));
  if (hasOwnWork && workspace.worktree?.branch && workspace.repo) {
    try {
      await publishTaskBranch(deps, workspace.repo, workspace.worktree.branch);
    } catch (error) {
      pushError = error;
      deps.logger.warn({ err: error, task: task.id }, 'the task branch was not pushed to the forge');
    }
  }

  if (outcome.status === 'rate_limited') {
    // The model never worked on it: the instructions go to the next session (the fallback's, or after the reset).
    await returnUndeliveredInstructions(db, sessionId, clock());
    return {
      kind: 'rate_limited',
      provider,
      until: outcome.rateLimitResetsAt ?? null,
      reason: outcome.error ?? 'rate limited',
    };
  }
  if (outcome.status === 'aborted') {
    const reason = watcher.signal.reason instanceof Error ? watcher.signal.reason.message : '';
    if (reason === 'time limit') {
      throw new Error(`session time limit: killed after ${maxSeconds} s (watcher.max_session_duration)`);
    }
    if (context.signal.aborted) throw context.signal.reason ?? new Error('aborted');
    throw new Error(
      outcome.error === 'token budget'
        ? `token budget: the session passed tokens.session_max (${settings.tokens.session_max} tokens)`
        : `session aborted: ${outcome.error ?? 'unknown reason'}`,
    );
  }
  if (outcome.status === 'failed') throw new Error(`${provider} session failed: ${outcome.error ?? 'no reason given'}`);
  if (pushError) throw pushError;

  if (unsubmitted || !submitted) throw new Error(unsubmitted ?? 'the session ended without a result');
  const checked = validateResult(task.type, submitted.result);
  if (!checked.ok) throw new Error(`invalid result: ${checked.reason}`);
  const { entries, problems } = await readOutbox(sessionDir);
  // The deterministic gate runs here, before the completing transaction: a test run takes minutes.
  const gate =
    checked.result.status === 'done'
      ? await runTaskGates(
          {
            db,
            sandboxMode: settings.sandbox.mode,
            env: deps.env,
            hiddenPaths: hiddenPathsFor(deps),
            bwrapPath: deps.bwrapPath,
            timeoutMs: settings.watcher.max_session_duration * 1000,
            signal: context.signal,
            forge: { context: { dataDir: deps.dataDir, env: deps.env } },
          },
          task,
        )
      : undefined;
  if (context.signal.aborted) throw context.signal.reason ?? new Error('aborted');
  const commits =
    wip && workspace.worktree && workspace.repo && 'commits' in checked.result
      ? await commitsBetween(workspace.worktree.repoPath, workspace.worktree.head, wip.commit)
      : undefined;
  // The PM's issues and the reviewer's comments go into a GitLab/GitHub forge here, outside any transaction; a retry
  // carries out the same recorded plan and writes nothing twice (`forge-writes.ts`).
  const forgeWrites =
    checked.result.status === 'done' && workspace.repo
      ? await writeResultToForge(
          {
            db,
            clock,
            clientFor: (row) => forgeClientFor(row, { dataDir: deps.dataDir, env: deps.env }),
            swarmLabel: settings.webhooks.swarm_label,
            actor: context.holder.workerId,
          },
          task,
          workspace.repo,
          checked.result,
          { reviewedSha: workspace.readOnly ? workspace.worktree?.head : undefined },
        )
      : undefined;
  const result: Record<string, unknown> = {
    ...checked.result,
    session_id: sessionId,
    provider,
    ...(workspace.worktree?.branch ? { branch: workspace.worktree.branch } : {}),
    ...(wip ? { head_commit: wip.commit } : {}),
    // The commits this attempt really added to the branch (read from the repository), whatever the agent claimed.
    ...(commits ? { commits } : {}),
    ...(gate ? { gates: { ...gate.record, ...(gate.verdict ? { verdict: gate.verdict } : {}) } } : {}),
    ...(forgeWrites ? { forge: forgeWrites } : {}),
  };
  // On GitLab/GitHub the gate's verdict goes on the story's merge request (opened or refreshed now), outside any
  // transaction; what was posted is kept in the result (a story's gate tasks: `forge-writes.ts` leaves those alone).
  const forge =
    checked.result.status === 'done'
      ? await publishGateVerdict(
          {
            db,
            serializesWriters: deps.queue.handle.dialect.serializesWriters,
            forge: { dataDir: deps.dataDir, env: deps.env },
            clock,
            actor: context.holder.workerId,
          },
          task,
          result,
          gate?.verdict,
        )
      : undefined;
  if (forge) result.forge = forge;
  if (context.signal.aborted) throw context.signal.reason ?? new Error('aborted');
  return {
    kind: 'done',
    outcome: {
      result,
      onComplete: async (tx) => {
        // A workflow's task moves its workflow on in the transaction that completes it.
        const workflow = workflowDeps(deps.queue, deps.settings.workflow.max_fix_rounds, deps.dataDir);
        await onWorkflowTaskCompleted(tx, workflow, task, result, context.holder.workerId, gate?.verdict);
        // What the task taught (an analysis, a review's lessons, why a round failed) goes to the swarm's memory.
        await rememberLearnings(tx, learningsFromTask(task, result, gate?.verdict), {
          repoId: task.repoId,
          subject: `task:${task.id}`,
          actor: context.holder.workerId,
          now: clock(),
        });
        if (entries.length === 0 && problems.length === 0) return;
        const applied = await applyOutbox(tx, deps.queue, entries, {
          task,
          author: context.holder.workerId,
          now: clock(),
        });
        const rejected = [...applied.rejected, ...problems.map((p) => ({ seq: p.line, reason: p.reason }))];
        if (rejected.length > 0) deps.logger.warn({ task: task.id, rejected }, 'outbox requests refused');
        // What the session's requests became, refusals with their reasons, kept in the result for humans to see.
        const outbox = {
          created_task_ids: applied.createdTaskIds,
          discussion_ids: applied.discussionIds,
          proposal_ids: applied.proposalIds,
          voted_proposal_ids: applied.votedProposalIds,
          rejected,
        };
        await tx
          .updateTable('tasks')
          .set({ result: JSON.stringify({ ...result, outbox }) })
          .where('id', '=', task.id)
          .execute();
      },
    },
  };
}

/**
 * Watches a session's events for `submit_result` calls the tool refused, so a session that ended without a valid
 * result says why (the validator's reason names the fields) instead of looking like it never tried.
 */
class SubmissionWatcher {
  private readonly calls = new Set<string>();
  lastRefusal: string | undefined;

  see(event: SessionEvent) {
    if (event.type === 'tool_call' && /(?:^|__)submit_result$/.test(event.name)) this.calls.add(event.id);
    if (event.type === 'tool_result' && this.calls.has(event.id)) {
      this.lastRefusal = event.is_error ? (event.output.split('\n')[0]?.trim() ?? '').slice(0, 1000) : undefined;
    }
  }
}

/** Saves what the agent left uncommitted as one commit that says what it is; the agent's own commits stay as made. */
async function saveWork(deps: AgentRuntimeDeps, worktree: Worktree, task: Task, outcome: SessionOutcome) {
  const why =
    outcome.status === 'succeeded'
      ? 'left uncommitted'
      : `uncommitted when the session ${outcome.status === 'aborted' ? 'was aborted' : `ended ${outcome.status}`}`;
  return commitWip(worktree, `WIP: ${task.type} task ${task.id}: work ${why}, saved by Auto-Dev`, saveOptionsFor(deps));
}

function sessionEnvironment(deps: AgentRuntimeDeps, provider: ProviderName): Record<string, string> {
  return provider === 'replay' ? scrubEnvironment(deps.env) : providerSessionEnv(deps.settings, deps.env, provider);
}

async function sessionExecutable(
  deps: AgentRuntimeDeps,
  provider: ProviderName,
  env: Record<string, string>,
  workspace: { cwd: string; worktree: Worktree | undefined; readOnly: boolean },
  sessionDir: string,
): Promise<string | undefined> {
  if (provider === 'replay') return undefined;
  const configured = deps.settings.llm.providers[provider].executable;
  const cli = agentCliPath(provider, configured, env.PATH);
  const mode: SandboxMode = deps.settings.sandbox.mode;
  if (mode === 'none') {
    assertNotRootUnsandboxed(deps.uid ?? process.getuid?.());
    warnUnsandboxed(deps.logger);
    return cli;
  }
  const paths = workspace.worktree
    ? sandboxPathsFor(workspace.worktree)
    : { writablePaths: [workspace.cwd], readOnlyPaths: [] as string[] };
  return writeSandboxedCli({
    wrapperPath: path.join(sessionDir, `${provider}-sandboxed.sh`),
    cliPath: cli,
    cwd: workspace.cwd,
    // The session's own HOME (CLI state, its login copy) lives in the session dir.
    writablePaths: [...paths.writablePaths, sessionDir],
    // The CLI and Auto-Dev itself (its MCP server runs inside the session) must stay visible even when they live
    // under /tmp, which the sandbox replaces with a private one.
    readOnlyPaths: [...paths.readOnlyPaths, findPackageRoot(), path.dirname(cli)],
    hiddenPaths: hiddenPathsFor(deps),
    ...(deps.bwrapPath ? { bwrapPath: deps.bwrapPath } : {}),
  });
}

/**
 * Refuses an unsandboxed agent session as root: it could do anything to this machine, and Claude Code refuses to
 * skip its permission prompts as root anyway. Inside the sandbox the CLI runs as an unprivileged uid instead.
 */
export function assertNotRootUnsandboxed(uid: number | undefined = process.getuid?.()): void {
  if (uid !== 0) return;
  throw new AutodevError(
    'SANDBOX_UNAVAILABLE',
    'agent sessions will not run unsandboxed as root (sandbox.mode: none): install bubblewrap ' +
      '(apt-get install bubblewrap) and set sandbox.mode: bubblewrap, or run Auto-Dev as an unprivileged user',
  );
}

let warned = false;
function warnUnsandboxed(logger: Logger) {
  if (warned) return;
  warned = true;
  logger.warn('sandbox.mode is none: agent sessions run UNSANDBOXED with full access to this machine');
}

/** Forgets that the once-per-process UNSANDBOXED warning was given (for tests). */
export function resetUnsandboxedWarning(): void {
  warned = false;
}

/** Buffers transcript events and writes them in batches, numbered in arrival order. */
class TranscriptWriter {
  private buffer: TranscriptEntry[] = [];
  private seq = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly sessionId: number,
    private readonly clock: () => number,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => this.flush(), TRANSCRIPT_FLUSH_MS);
  }

  add(event: SessionEvent) {
    const { type, ...data } = event;
    this.buffer.push({ seq: this.seq++, kind: type, data, at: this.clock() });
  }

  private flush() {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.writing = this.writing
      .then(() => appendTranscript(this.db, this.sessionId, batch))
      .catch((error: unknown) => this.logger.error({ err: error, session: this.sessionId }, 'transcript write failed'));
  }

  async close() {
    clearInterval(this.timer);
    this.flush();
    await this.writing;
  }
}
