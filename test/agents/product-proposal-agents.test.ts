/**
 * @module The PM and the Architect write a project proposal through the real agent runtime (`createAgentTaskHandler`,
 * one worker loop per role, the session directory and `result.json` as the `autodev mcp` server writes it), with a
 * stand-in provider for the CLI session (no model is reachable here) that answers from the task it is given: the PM's
 * `build_product` proposes, the product workflow asks the Architect (`evaluate_feasibility`, the proposal in its
 * payload), whose assessment opens the project approval. One engine: the workflow's SQL runs on both in
 * test/workflow/product-pipeline.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAgentTaskHandler, type AgentRuntimeDeps } from '../../src/agents/run-agent-task.js';
import { queueSettingsFrom } from '../../src/config/load-settings.js';
import { TASK_TYPES_BY_ROLE, type Role } from '../../src/domain/roles.js';
import type { LlmProvider, SessionRequest, SessionSink } from '../../src/llm/provider.js';
import type { SessionOutcome } from '../../src/llm/session-events.js';
import { writeSessionResult } from '../../src/mcp/session-files.js';
import { runWorker } from '../../src/queue/run-worker.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { listApprovals } from '../../src/workflow/approvals.js';
import { listProjects, projectDetail } from '../../src/workflow/projects.js';
import { agentSettings, autodevCliEntry, waitFor } from '../support/agent-fixtures.js';
import { ONE_DIALECT, useTestDatabase } from '../support/dialects.js';
import { checkedResult } from '../support/result-fixtures.js';

vi.setConfig({ testTimeout: 90_000 });

let cliEntry: string;
beforeAll(() => {
  cliEntry = autodevCliEntry();
});
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const PROPOSAL = checkedResult('build_product', {
  status: 'done',
  summary: 'A proposal for a word counter.',
  name: 'word-counter',
  title: 'Word counter',
  problem: 'Writers count words by hand.',
  audience: 'Bloggers',
  spec_markdown: '# Word counter\n\n`count(text)` as an npm package.',
  ratings: { market: { score: 6, reason: 'Steady demand' } },
  targets: ['npm'],
  estimated_tokens: 90_000,
});

/** The Architect's answer, built from the proposal it was given (so it must have been given one). */
function assessmentOf(payload: Record<string, unknown>) {
  return checkedResult('evaluate_feasibility', {
    status: 'done',
    summary: `Assessed ${String(payload.name)}.`,
    verdict: 'feasible',
    feasibility: { score: 9, reason: `The spec (${String(payload.spec_markdown).length} chars) is one function` },
    effort: { score: 8, reason: 'An afternoon' },
    risk: { score: 7, reason: 'Unicode word boundaries' },
    estimate: { tokens: 60_000, duration: 'an afternoon of agent work' },
    approach: 'Split on Unicode whitespace; test with node --test.',
    concerns: [`The PM rated the market ${JSON.stringify(payload.market)}: check the competition`],
  });
}

/** A stand-in for a CLI session: reads its task from the session directory and submits the role's answer. */
function standInProvider(seen: { type: string; payload: Record<string, unknown> }[]): LlmProvider {
  return {
    name: 'claude',
    async run(request: SessionRequest, sink: SessionSink): Promise<SessionOutcome> {
      const sessionDir = request.mcpServers?.autodev?.args?.at(-1) ?? '';
      const context = JSON.parse(fs.readFileSync(path.join(sessionDir, 'context.json'), 'utf8')) as {
        task: { id: number; type: string; payload: Record<string, unknown> };
      };
      seen.push({ type: context.task.type, payload: context.task.payload });
      sink({ type: 'text', text: `Working on ${context.task.type}.` });
      const result = context.task.type === 'build_product' ? PROPOSAL : assessmentOf(context.task.payload);
      await writeSessionResult(sessionDir, {
        task_id: context.task.id,
        task_type: context.task.type,
        submitted_at: new Date().toISOString(),
        result,
      });
      return {
        status: 'succeeded',
        provider: 'claude',
        providerSessionId: `stand-in-${context.task.id}`,
        model: 'stand-in',
        usage: { input_tokens: 1, output_tokens: 1, cache_read_tokens: 0, cache_creation_tokens: 0 },
        costUsd: 0,
        durationMs: 1,
        resultText: 'Submitted.',
      };
    },
  };
}

describe.each(ONE_DIALECT)('%s: the PM and the Architect propose a product', (dialect) => {
  const t = useTestDatabase(dialect);

  it("the PM's proposal, then the Architect's assessment of it, then the project approval", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-proposal-agents-'));
    const settings = agentSettings();
    const queue = new TaskQueue(t.handle, queueSettingsFrom(settings));
    const seen: { type: string; payload: Record<string, unknown> }[] = [];
    const deps: AgentRuntimeDeps = {
      queue,
      settings,
      dataDir: path.join(root, 'data'),
      logger: pino({ level: 'silent' }),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: path.join(root, 'home') },
      createProvider: () => standInProvider(seen),
      cliEntry,
    };
    const stop = new AbortController();
    const loops = (['pm', 'architect'] as Role[]).map((role) =>
      runWorker({
        queue,
        workerId: `${role}-1`,
        types: TASK_TYPES_BY_ROLE[role],
        handler: createAgentTaskHandler(deps, role),
        signal: stop.signal,
        idleWaitMs: 50,
      }),
    );
    cleanups.push(async () => {
      stop.abort();
      await Promise.all(loops);
      await queue.close();
      fs.rmSync(root, { recursive: true, force: true });
    });

    await queue.enqueue({ type: 'build_product', payload: { idea: 'a word counter' }, createdBy: 'cli:alice' });
    const approval = await waitFor('the project approval', async () =>
      (await listApprovals(t.handle.db, { status: 'pending' })).find((a) => a.kind === 'project'),
    );
    expect(seen.map((s) => s.type)).toEqual(['build_product', 'evaluate_feasibility']);
    expect(seen[1]!.payload).toMatchObject({
      name: 'word-counter',
      spec_markdown: PROPOSAL.spec_markdown,
      market: PROPOSAL.ratings.market,
      targets: ['npm'],
    });
    const [project] = await listProjects(t.handle.db);
    expect(approval.workflow_id).toBe(project!.id);
    const detail = await projectDetail(t.handle.db, project!.id);
    expect(detail).toMatchObject({
      status: 'proposed',
      ratings: {
        market: { score: 6, by: 'pm' },
        feasibility: { score: 9, by: 'architect' },
        effort: { score: 8, by: 'architect' },
        risk: { score: 7, by: 'architect' },
      },
      assessment: {
        status: 'done',
        by: 'architect-1',
        verdict: 'feasible',
        estimate: { tokens: 60_000, duration: 'an afternoon of agent work' },
        concerns: [expect.stringContaining('"score":6')],
      },
    });
  });
});
