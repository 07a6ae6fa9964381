/**
 * @module Secrets never stored: the agent runtime on the database handle the CLI opens (every string parameter through
 * the secret masker, `cliSecretMasker`), with a stand-in provider (no model is reachable here) whose session prints
 * the session environment's ANTHROPIC_API_KEY, in clear and base64 (as `env` and `env | base64` would), submits a
 * result quoting it, and in a second run fails with an error quoting it. The transcript, the session outcome, the
 * task's result and error, and the events are stored masked, on both databases.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAgentTaskHandler, type AgentRuntimeDeps } from '../../src/agents/run-agent-task.js';
import { cliSecretMasker } from '../../src/cli/context.js';
import { queueSettingsFrom } from '../../src/config/load-settings.js';
import { TASK_TYPES_BY_ROLE } from '../../src/domain/roles.js';
import type { LlmProvider, SessionRequest, SessionSink } from '../../src/llm/provider.js';
import type { SessionOutcome } from '../../src/llm/session-events.js';
import { writeSessionResult } from '../../src/mcp/session-files.js';
import { runWorker } from '../../src/queue/run-worker.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { openDatabase, type DatabaseHandle } from '../../src/store/open-database.js';
import { agentSettings, autodevCliEntry, settleEvents, waitFor } from '../support/agent-fixtures.js';
import { DIALECTS, useTestDatabase, type TestDatabase } from '../support/dialects.js';

vi.setConfig({ testTimeout: 60_000 });

const API_KEY = 'sk-ant-api03-Integration_Secret-0123456789abcdef';
const base64 = (text: string) => Buffer.from(text).toString('base64');

let cliEntry: string;
beforeAll(() => {
  cliEntry = autodevCliEntry();
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A stand-in for a CLI session that prints its environment, then succeeds with a result quoting the key, or fails. */
function leakyProvider(outcome: 'succeeded' | 'failed'): LlmProvider {
  return {
    name: 'claude',
    async run(request: SessionRequest, sink: SessionSink): Promise<SessionOutcome> {
      const key = request.env.ANTHROPIC_API_KEY ?? 'missing';
      const dump = Object.entries(request.env)
        .map(([name, value]) => `${name}=${value}`)
        .join('\n');
      sink({ type: 'tool_call', id: 't1', name: 'Bash', input: { command: 'env; env | base64 -w0' } });
      sink({ type: 'tool_result', id: 't1', output: `${dump}\n${base64(dump)}`, is_error: false });
      sink({ type: 'text', text: `The key is ${key}.` });
      const sessionDir = request.mcpServers?.autodev?.args?.at(-1) ?? '';
      const context = JSON.parse(fs.readFileSync(path.join(sessionDir, 'context.json'), 'utf8')) as {
        task: { id: number };
      };
      const taskId = context.task.id;
      if (outcome === 'succeeded') {
        await writeSessionResult(sessionDir, {
          task_id: taskId,
          task_type: 'create_user_story',
          submitted_at: new Date().toISOString(),
          result: {
            status: 'done',
            summary: `Wrote one story; by the way the key is ${key}`,
            stories: [{ title: 'Export orders', body: `Uses ${base64(key)}`, acceptance_criteria: ['works'] }],
          },
        });
      }
      return {
        status: outcome,
        provider: 'claude',
        providerSessionId: 'stand-in-session',
        model: 'stand-in',
        usage: { input_tokens: 1, output_tokens: 1, cache_read_tokens: 0, cache_creation_tokens: 0 },
        costUsd: 0,
        durationMs: 1,
        resultText: `Final answer quoting ${key}`,
        ...(outcome === 'failed' ? { error: `the API refused key ${key}` } : {}),
      };
    },
  };
}

async function openMasked(t: TestDatabase, deps: Pick<AgentRuntimeDeps, 'env' | 'settings' | 'dataDir'>) {
  const masker = cliSecretMasker(deps.dataDir, deps.env, deps.settings);
  const options = t.databaseUrl ? { databaseUrl: t.databaseUrl, poolSize: 2 } : { sqlitePath: t.sqlitePath! };
  const handle: DatabaseHandle = await openDatabase({ ...options, transformParameter: (s) => masker.maskText(s) });
  return handle;
}

describe.each(DIALECTS)('%s: secrets are stored masked', (dialect) => {
  const t = useTestDatabase(dialect);

  async function runOnce(outcome: 'succeeded' | 'failed') {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-mask-'));
    const settings = agentSettings();
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: path.join(root, 'home'),
      ANTHROPIC_API_KEY: API_KEY,
    };
    const dataDir = path.join(root, 'data');
    const handle = await openMasked(t, { env, settings, dataDir });
    const queue = new TaskQueue(handle, queueSettingsFrom(settings));
    cleanups.push(async () => {
      await queue.close();
      await handle.close();
      fs.rmSync(root, { recursive: true, force: true });
    });
    const deps: AgentRuntimeDeps = {
      queue,
      settings,
      dataDir,
      logger: pino({ level: 'silent' }),
      env,
      createProvider: () => leakyProvider(outcome),
      cliEntry,
    };
    const task = await queue.enqueue({ type: 'create_user_story', payload: { idea: 'CSV export' }, createdBy: 'test' });
    const stop = new AbortController();
    const loop = runWorker({
      queue,
      workerId: 'pm-test',
      types: TASK_TYPES_BY_ROLE.pm,
      handler: createAgentTaskHandler(deps, 'pm'),
      signal: stop.signal,
      idleWaitMs: 100,
    });
    try {
      await waitFor(`task ${task.id} to settle`, async () => (await settleEvents(t.handle.db, task.id)).length >= 1);
    } finally {
      stop.abort();
      await loop;
    }
    return task.id;
  }

  /** Everything stored about the task, read through the test's own (unmasked) handle. */
  async function storedText(taskId: number) {
    const db = t.handle.db;
    const sessions = await db.selectFrom('sessions').selectAll().where('task_id', '=', taskId).execute();
    const transcript = await db
      .selectFrom('session_events')
      .select(['kind', 'data'])
      .where(
        'session_id',
        'in',
        sessions.map((s) => s.id),
      )
      .orderBy('seq')
      .execute();
    const task = await db
      .selectFrom('tasks')
      .select(['result', 'error'])
      .where('id', '=', taskId)
      .executeTakeFirstOrThrow();
    const events = await db.selectFrom('events').select(['kind', 'data']).execute();
    return { sessions, transcript, task, all: JSON.stringify({ sessions, transcript, task, events }) };
  }

  function expectNoKey(text: string) {
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(base64(API_KEY).slice(0, 24));
    expect(text).not.toContain(Buffer.from(API_KEY).toString('base64url').slice(0, 24));
  }

  it('a session that prints the key and submits a result quoting it: transcript, outcome and result masked', async () => {
    const taskId = await runOnce('succeeded');
    const stored = await storedText(taskId);
    expect(stored.task.result, `error: ${stored.task.error}`).not.toBeNull();
    expectNoKey(stored.all);
    const text = stored.transcript.find((e) => e.kind === 'text');
    expect(JSON.parse(text!.data)).toEqual({ text: 'The key is [masked].' });
    const output = JSON.parse(stored.transcript.find((e) => e.kind === 'tool_result')!.data) as { output: string };
    expect(output.output).toContain('ANTHROPIC_API_KEY=[masked]');
    // The base64 dump holds the key at some alignment: masked there too.
    expect(output.output.split('\n').at(-1)).toContain('[masked]');
    expect(stored.sessions[0]!.outcome).toBe('Final answer quoting [masked]');
    const result = JSON.parse(stored.task.result!) as { summary: string; stories: { body: string }[] };
    expect(result.summary).toBe('Wrote one story; by the way the key is [masked]');
    expect(result.stories[0]!.body).toBe('Uses [masked]');
  });

  it('a session that fails with an error quoting the key: the session outcome and the task error masked', async () => {
    const taskId = await runOnce('failed');
    const stored = await storedText(taskId);
    expectNoKey(stored.all);
    expect(stored.sessions[0]!.outcome).toBe('the API refused key [masked]');
    expect(stored.task.error).toBe('claude session failed: the API refused key [masked]');
  });
});
