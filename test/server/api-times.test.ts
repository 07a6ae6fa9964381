/**
 * One time format across the API: every time in a response is ISO 8601 with a zone. The OpenAPI document is walked
 * for time-like fields (`*_at`, `*_until`, `until`, `time`, `heartbeat`, ...) that are not declared as ISO strings;
 * then every GET route is called against a database holding one of everything (a story at its merge approval with
 * a merge request, sessions with transcripts, agents, a rate limit, instructions, discussions, proposals, memory, a
 * schedule, a notification) and each time value it answers is checked, and so are the times inside the event
 * stream's `data`. Agents are not run: tasks are completed with recorded results (a stand-in for the agents). Both
 * engines.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { registerAgent, setAgentStatus } from '../../src/agents/agent-registry.js';
import { markProviderLimited } from '../../src/agents/provider-limits.js';
import { appendTranscript, finishSession, startSession } from '../../src/agents/session-store.js';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import { queueNotification } from '../../src/notify/outbox.js';
import { eventToJson } from '../../src/server/plugins/events.js';
import { onWorkflowTaskCompleted } from '../../src/workflow/advance-workflow.js';
import { decideApproval } from '../../src/workflow/approvals.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { gitIn, makeGitRepo, registerRepo } from '../support/agent-fixtures.js';
import { DIALECTS } from '../support/dialects.js';
import { proposeProject, seedProject, seedProjectApproval } from '../support/project-fixtures.js';
import { writeProductDir } from '../support/publish/product-fixture.js';
import { registerProcess } from '../../src/agents/agent-processes.js';
import { useTestServer } from './test-server.js';

/** A key that names a time. `day` (a calendar date, YYYY-MM-DD) is not one. */
const TIME_KEY = /(^|_)(at|until|since|time|timestamp|heartbeat|date|expires)$|^heartbeat|[a-z](At|Until|Time)$/;
const ISO_WITH_ZONE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
/** Free-form JSON written by agents or callers (a task's payload and result, a transcript entry): not API times. */
const OPAQUE_KEYS = new Set(['payload', 'result', 'data', 'run']);

type JsonSchema = { $ref?: string; type?: unknown; format?: string; properties?: Record<string, JsonSchema> } & {
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
};
interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, { responses?: Record<string, { content?: Record<string, { schema?: JsonSchema }> }> }>
  >;
  components: { schemas: Record<string, JsonSchema> };
}

/** The time-like fields of a schema that are not ISO date-time strings (possibly nullable), as `path: schema`. */
function untimedFields(doc: OpenApiDocument, schema: JsonSchema | undefined, where: string, seen = new Set<string>()) {
  const found: string[] = [];
  const timeFields: string[] = [];
  const resolve = (s: JsonSchema | undefined): JsonSchema | undefined =>
    s?.$ref ? resolve(doc.components.schemas[s.$ref.split('/').pop()!]) : s;
  const isIsoTime = (s: JsonSchema | undefined): boolean => {
    const r = resolve(s);
    if (!r) return false;
    if (r.anyOf) return r.anyOf.every((b) => resolve(b)?.type === 'null' || isIsoTime(b));
    const types = Array.isArray(r.type) ? r.type : [r.type];
    return types.includes('string') && types.every((t) => t === 'string' || t === 'null') && r.format === 'date-time';
  };
  const walk = (s: JsonSchema | undefined, at: string) => {
    if (!s) return;
    if (s.$ref) {
      if (seen.has(s.$ref)) return;
      seen.add(s.$ref);
      walk(resolve(s), at);
      seen.delete(s.$ref);
      return;
    }
    for (const branch of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])]) walk(branch, at);
    walk(s.items, `${at}[]`);
    if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${at}{}`);
    for (const [key, value] of Object.entries(s.properties ?? {})) {
      if (TIME_KEY.test(key)) {
        timeFields.push(`${at}.${key}`);
        if (!isIsoTime(value)) found.push(`${at}.${key}: ${JSON.stringify(resolve(value))}`);
      }
      walk(value, `${at}.${key}`);
    }
  };
  walk(schema, where);
  return { found, timeFields };
}

/** Every time-like value in a JSON answer, with its path. */
function timeValues(value: unknown, at = '', out: Array<[string, unknown]> = []): Array<[string, unknown]> {
  if (Array.isArray(value)) value.forEach((v, i) => timeValues(v, `${at}[${i}]`, out));
  else if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (TIME_KEY.test(key)) out.push([`${at}.${key}`, v]);
      if (!OPAQUE_KEYS.has(key)) timeValues(v, `${at}.${key}`, out);
    }
  }
  return out;
}

const isIsoValue = (v: unknown) =>
  v === null || (typeof v === 'string' && ISO_WITH_ZONE.test(v) && !isNaN(Date.parse(v)));

const settings = SettingsSchema.parse({
  schedules: { nightly: { cron: '0 3 * * *', task_type: 'analyze_repo' } },
  notify: { webhooks: [{ url: 'https://hooks.example.com/services/T/B/secret' }] },
});

describe.each(DIALECTS)('%s: API times', (dialect) => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-api-times-'));
  const dataDir = path.join(parent, 'data');
  fs.mkdirSync(dataDir);
  const s = useTestServer(dialect, { settings, dataDir });
  afterAll(() => fs.rmSync(parent, { recursive: true, force: true }));

  const openApi = async () =>
    (await s.request({ method: 'GET', url: '/api/openapi.json', token: null })).json() as OpenApiDocument;

  it('the OpenAPI document declares every time-like response field as an ISO 8601 string', async () => {
    const doc = await openApi();
    const problems: string[] = [];
    let checked = 0;
    for (const [route, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(operation.responses ?? {})) {
          for (const media of Object.values(response.content ?? {})) {
            const { found, timeFields } = untimedFields(doc, media.schema, `${method} ${route} ${status}`);
            problems.push(...found);
            checked += timeFields.length;
          }
        }
      }
    }
    expect(problems).toEqual([]);
    // The walk reaches the fields (a walk that sees none proves nothing).
    expect(checked).toBeGreaterThan(40);
  });

  /** One of everything; returns the ids the parameterised routes need. */
  async function seed() {
    const db = s.db.handle.db;
    const now = Date.now();
    const repo = makeGitRepo(parent, `times-${dialect}`);
    gitIn(repo.path, 'checkout', '--quiet', '-b', 'autodev/1-sum', 'main');
    fs.writeFileSync(path.join(repo.path, 'sum.js'), 'export const sum = (a, b) => a + b;\n');
    gitIn(repo.path, 'add', '--all');
    gitIn(repo.path, '-c', 'user.name=T', '-c', 'user.email=t@localhost', 'commit', '--quiet', '-m', 'add sum');
    const sha = gitIn(repo.path, 'rev-parse', 'HEAD');
    gitIn(repo.path, 'checkout', '--quiet', 'main');
    await registerRepo(db, { name: 'times-repo', location: repo.path });

    const created = await s.request({
      method: 'POST',
      url: '/api/stories',
      payload: { repo: 'times-repo', title: 'Add sum', body: 'Sum two numbers' },
    });
    expect(created.statusCode).toBe(201);
    const storyId = (created.json() as { id: number }).id;
    const deps = workflowDeps(s.queue, 3);
    let sessionId = 0;
    let taskId = 0;
    const complete = async (type: string, result: unknown, role: string) => {
      const task = await s.queue.claim('w1', [type]);
      if (!task) throw new Error(`no pending ${type} task`);
      taskId = task.id;
      sessionId = await startSession(db, {
        taskId: task.id,
        role,
        agentInstanceId: `${role}-1`,
        provider: 'claude',
        model: null,
        now,
      });
      await appendTranscript(db, sessionId, [{ seq: 0, kind: 'message', data: { text: 'hi' }, at: now }]);
      await finishSession(db, sessionId, {
        status: 'succeeded',
        outcome: 'succeeded',
        providerSessionId: null,
        model: null,
        tokensIn: 10,
        tokensOut: 1,
        tokensCache: 0,
        costUsd: 0.01,
        now,
      });
      await db.transaction().execute(async (tx) => {
        await s.queue.complete({ taskId: task.id, workerId: 'w1' }, result, tx);
        await onWorkflowTaskCompleted(tx, deps, task, result, 'w1');
      });
    };
    const story = { status: 'done', summary: 's', title: 'Add sum', body: 'B', acceptance_criteria: ['works'] };
    await complete('create_user_story', story, 'pm');
    const spec = {
      status: 'done',
      summary: 's',
      spec_markdown: '# Sum',
      files_to_touch: [],
      test_plan: 't',
      risks: [],
    };
    await complete('write_spec', spec, 'architect');
    const specApproval = await db.selectFrom('approvals').select('id').executeTakeFirstOrThrow();
    await decideApproval(db, deps, { id: specApproval.id, decision: 'approved', actor: 'test' });
    const implemented = {
      status: 'done',
      summary: 's',
      branch: 'autodev/1-sum',
      commits: [{ sha, message: 'add sum' }],
      files_changed: ['sum.js'],
    };
    await complete('implement_feature', implemented, 'builder');
    await complete('review_mr', { status: 'done', summary: 's', verdict: 'approve', findings: [] }, 'reviewer');
    const tests = { status: 'done', summary: 's', command: 'npm test', passed: 1, failed: 0, skipped: 0, failures: [] };
    await complete('run_tests', tests, 'tester');
    await complete('security_scan', { status: 'done', summary: 's', verdict: 'pass', findings: [] }, 'security');
    const mergeRequest = await db.selectFrom('merge_requests').select('id').executeTakeFirstOrThrow();

    await registerAgent(db, { instanceId: 'builder-1', role: 'builder', now });
    await setAgentStatus(db, 'builder-1', { status: 'working', currentTaskId: taskId, provider: 'claude', now });
    await markProviderLimited(db, { provider: 'claude', until: now + 3_600_000, reason: '429', now });
    await s.queue.enqueue({ type: 'analyze_repo', payload: {}, runAfter: now + 60_000, createdBy: 'test' });
    for (const [url, payload] of [
      ['/api/agents/builder/instructions', { message: 'Keep functions small' }],
      ['/api/discussions', { topic: 'naming', body: 'sum or add?' }],
      ['/api/proposals', { title: 'Add subtract', body: 'Subtract two numbers' }],
      ['/api/memory', { text: 'The repo uses ESM', repo: 'times-repo' }],
    ] as const) {
      const response = await s.request({ method: 'POST', url, payload });
      expect(response.statusCode, url).toBeLessThan(300);
    }
    const proposal = await db.selectFrom('proposals').select('id').executeTakeFirstOrThrow();
    await s.request({ method: 'POST', url: `/api/proposals/${proposal.id}/vote`, payload: { vote: 'up' } });
    await queueNotification(
      db,
      settings.notify,
      {
        dedupeKey: 'approval:1',
        message: {
          event: 'approval_opened',
          title: 'Approval open',
          text: 't',
          path: '/approvals',
          subject: { type: 'approval', id: '1' },
          at: new Date(now).toISOString(),
        },
      },
      now,
    );
    // The product pipeline: a proposal, and a product waiting for its publishing approval (with its files).
    const projectId = await proposeProject(s.queue, { name: 'times-product', title: 'Times product' });
    const product = writeProductDir({ dataDir });
    const built = await seedProject(db, { name: product.name, status: 'awaiting_publish', productDir: product.dir });
    const publishApprovalId = await seedProjectApproval(db, built, 'publish');
    // Operations: a process's log line and its registration.
    await registerProcess(db, { processId: 'times-process', roles: ['builder'], now });
    await db
      .insertInto('process_logs')
      .values({
        process_id: 'times-process',
        service: 'agent:builder',
        host: 'h',
        pid: 1,
        role: 'builder',
        component: null,
        level: 40,
        message: 'a warning',
        data: null,
        created_at: now,
      })
      .execute();
    return { storyId, taskId, sessionId, mergeRequestId: mergeRequest.id, projectId, publishApprovalId };
  }

  it('every GET route answers its times as ISO 8601 with a zone, and so does the event stream', async () => {
    const ids = await seed();
    const doc = await openApi();
    const params: Record<string, number> = {
      '/api/tasks/{id}': ids.taskId,
      '/api/tasks/{id}/sessions': ids.taskId,
      '/api/sessions/{id}': ids.sessionId,
      '/api/stories/{id}': ids.storyId,
      '/api/stories/{id}/timeline': ids.storyId,
      '/api/merge-requests/{id}': ids.mergeRequestId,
      '/api/projects/{id}': ids.projectId,
      '/api/approvals/{id}/preview': ids.publishApprovalId,
    };
    // Routes whose times appear only when asked for (a window's start).
    const queries: Record<string, string> = { '/api/costs': `?by=day&since=${new Date(0).toISOString()}` };
    const streamed = new Set(['/api/events', '/metrics']);
    const checked: string[] = [];
    for (const [route, operations] of Object.entries(doc.paths)) {
      if (!operations.get || streamed.has(route)) continue;
      if (route.includes('{') && params[route] === undefined) throw new Error(`no id for ${route}: add one to params`);
      const url = route.replace('{id}', String(params[route])) + (queries[route] ?? '');
      const response = await s.request({ method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
      const values = timeValues(response.json());
      const wrong = values.filter(([, v]) => !isIsoValue(v));
      expect(wrong, url).toEqual([]);
      const declared = untimedFields(
        doc,
        operations.get.responses?.['200']?.content?.['application/json']?.schema,
        url,
      );
      // A route whose answer has time fields answered at least one real time: the seed reaches it.
      if (declared.timeFields.length > 0) {
        expect(
          values.filter(([, v]) => v !== null),
          `${url} answered no time`,
        ).not.toEqual([]);
        checked.push(route);
      }
    }
    expect(checked).toEqual(
      expect.arrayContaining([
        '/api/tasks',
        '/api/agents',
        '/api/instructions',
        '/api/approvals',
        '/api/stories',
        '/api/story-board',
        '/api/repos',
        '/api/discussions',
        '/api/proposals',
        '/api/swarm/status',
        '/api/schedules',
        '/api/memory',
        '/api/providers',
        '/api/notifications',
        '/api/merge-requests/{id}',
        '/api/sessions/{id}',
        '/api/projects',
        '/api/projects/{id}',
        '/api/logs',
        '/api/agents/status',
        '/api/costs',
      ]),
    );

    // The event stream's frames: `created_at` and the times in `data` (a rate limit's `until`, a retry's `runAfter`).
    const rows = await s.db.handle.db.selectFrom('events').selectAll().execute();
    const frames = rows.map(eventToJson);
    const eventTimes = frames.flatMap((frame) => timeValues({ ...frame, event_data: frame.data }));
    expect(eventTimes.filter(([, v]) => !isIsoValue(v))).toEqual([]);
    const limited = frames.find((f) => f.kind === 'provider.rate_limited');
    expect(limited?.data).toMatchObject({ until: expect.stringMatching(ISO_WITH_ZONE), reason: '429' });
  });
});
