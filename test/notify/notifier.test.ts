/**
 * The notifier against a real local HTTP receiver (standing in for Slack or any webhook endpoint): one delivery per
 * event per webhook, a 500 retried with back-off, secrets in the URL masked, nothing the workflow writes waits on
 * a delivery, an event written while no notifier ran sent once by the next one (the stored cursor) unless it was
 * settled meanwhile (an approval decided, a story resumed), and two
 * notifiers at once sending each message once. Every SQL path runs on both engines.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import { recordEvent } from '../../src/events/record-event.js';
import { readEvents, START_OF_LOG } from '../../src/events/read-events.js';
import { markProviderLimited } from '../../src/agents/provider-limits.js';
import { finishSession, startSession } from '../../src/agents/session-store.js';
import { loadStoredCursor } from '../../src/events/stored-event-cursor.js';
import { Notifier, NOTIFIER_CURSOR } from '../../src/notify/notifier.js';
import { openApproval } from '../../src/workflow/open-approval.js';
import { maskWebhookUrl } from '../../src/notify/webhook-url.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/dialects.js';
import { WebhookReceiver, type Received } from '../support/webhook-receiver.js';

/**
 * Waits until the change log shows every event in the table: a reader sees an event once no older transaction is
 * still open anywhere in the cluster (the commit-safe horizon), which on a busy PostgreSQL can take a moment. After
 * this, a notifier pass reads them all, so a pass that sends nothing means nothing was to be sent.
 */
async function untilLogShowsAll(t: TestDatabase): Promise<void> {
  const { n } = await t.handle.db
    .selectFrom('events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  await expect
    .poll(async () => (await readEvents(t.handle, START_OF_LOG, 10_000)).rows.length, { timeout: 30_000, interval: 50 })
    .toBeGreaterThanOrEqual(Number(n));
}

describe.each(DIALECTS)('%s: notify webhooks (local HTTP receiver as the stand-in endpoint)', (dialect) => {
  const receiver = new WebhookReceiver();
  let t: TestDatabase;
  let now = Date.UTC(2026, 11, 6, 12);

  beforeAll(async () => {
    await receiver.start();
  });
  afterAll(async () => {
    await receiver.close();
  });
  afterEach(async () => {
    await t?.drop();
    receiver.received.length = 0;
    receiver.plan = [];
    receiver.hold = undefined;
  });

  const settings = (overrides: Record<string, unknown> = {}) =>
    SettingsSchema.parse({
      llm: { auto_fallback_on_rate_limit: false },
      tokens: { daily_budget: 100 },
      notify: {
        webhooks: [
          { url: `http://127.0.0.1:${receiver.port}/services/T0/B0/s3cretPart?token=abc`, format: 'slack' },
          { url: `http://hook:p4ss@127.0.0.1:${receiver.port}/plain`, format: 'json', events: ['approval_opened'] },
        ],
        retry_base_seconds: 5,
        ...overrides,
      },
    });

  it('sends one message per event per subscribed webhook, in both formats, and retries after a 500', async () => {
    t = await createTestDatabase(dialect);
    const db = t.handle.db;
    const notifier = new Notifier({ handle: t.handle, settings: settings(), clock: () => now });
    await notifier.start();
    await notifier.stop(); // drive it pass by pass
    await recordEvent(db, {
      kind: 'approval.created',
      subjectType: 'approval',
      subjectId: 7,
      actor: 'workflow',
      data: { kind: 'merge', workflow_id: 3, title: 'Merge: add greeting' },
      now,
    });
    await recordEvent(db, {
      kind: 'workflow.waiting_for_human',
      subjectType: 'workflow',
      subjectId: 3,
      actor: 'workflow',
      data: { summary: 'Fix limit reached' },
      now,
    });
    await markProviderLimited(db, { provider: 'claude', until: now + 60_000, reason: '5-hour limit', now });
    await recordEvent(db, { kind: 'task.created', subjectType: 'task', subjectId: 1, actor: 'cli', now });
    const session = await startSession(db, {
      taskId: null,
      role: 'builder',
      agentInstanceId: null,
      provider: 'claude',
      model: null,
      now,
    });
    await finishSession(db, session, {
      status: 'succeeded',
      outcome: 'succeeded',
      providerSessionId: null,
      model: null,
      tokensIn: 80,
      tokensOut: 40,
      tokensCache: 0,
      costUsd: 0.5,
      now,
    });

    receiver.plan = [500]; // the first delivery fails
    await untilLogShowsAll(t);
    await notifier.tick();
    // 4 slack (approval, waiting, rate limit, budget) + 1 json (approval): five requests, one refused.
    expect(receiver.received).toHaveLength(5);
    const rows = await db.selectFrom('notifications').selectAll().orderBy('id').execute();
    expect(rows).toHaveLength(5);
    const failed = rows.filter((row) => row.status === 'pending');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.attempts).toBe(1);
    expect(failed[0]!.last_error).toContain('HTTP 500');
    expect(failed[0]!.next_attempt_at).toBeGreaterThanOrEqual(now + 5000);
    for (const row of rows) {
      expect(row.target).not.toContain('s3cret');
      expect(row.target).not.toContain('p4ss');
      expect(row.target).not.toContain('abc');
    }

    // Nothing new is sent on another pass before the back-off, nor twice for the same events.
    await notifier.tick();
    expect(receiver.received).toHaveLength(5);
    now += 6000;
    await notifier.tick();
    expect(receiver.received).toHaveLength(6);
    expect(receiver.received[5]!.body).toEqual(receiver.received[0]!.body);
    const after = await db.selectFrom('notifications').selectAll().execute();
    expect(after.every((row) => row.status === 'delivered')).toBe(true);

    const slack = receiver.received.filter((r) => r.path.startsWith('/services/'));
    const plain = receiver.received.filter((r) => r.path === '/plain');
    expect(plain).toHaveLength(1);
    expect(plain[0]!.authorization).toBe(`Basic ${Buffer.from('hook:p4ss').toString('base64')}`);
    expect(plain[0]!.body).toMatchObject({
      event: 'approval_opened',
      title: 'Approval needed: Merge: add greeting',
      path: '/stories/3',
      subject: { type: 'approval', id: '7' },
    });
    expect(String(plain[0]!.body.at)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const texts = [...new Set(slack.map((r) => String(r.body.text).split('\n')[0]))].sort();
    expect(texts).toEqual([
      '*Approval needed: Merge: add greeting*',
      '*Provider claude is rate-limited with no fallback*',
      '*Story 3 waits for a human*',
      '*The daily token budget is spent*',
    ]);
  });

  it('says nothing of a rate limit when a fallback provider can run', async () => {
    t = await createTestDatabase(dialect);
    const withFallback = SettingsSchema.parse({
      ...settings(),
      llm: { auto_fallback_on_rate_limit: true, fallback_provider: 'codex' },
    });
    const notifier = new Notifier({ handle: t.handle, settings: withFallback, clock: () => now });
    await notifier.start();
    await notifier.stop();
    await markProviderLimited(t.handle.db, { provider: 'claude', until: now + 60_000, reason: 'limit', now });
    await untilLogShowsAll(t);
    await notifier.tick();
    expect(receiver.received).toHaveLength(0);
    expect(await t.handle.db.selectFrom('notifications').selectAll().execute()).toHaveLength(0);
  });

  it('says nothing of a rate limit that ended before the notifier read it (catching up after none ran)', async () => {
    t = await createTestDatabase(dialect);
    const notifier = new Notifier({ handle: t.handle, settings: settings(), clock: () => now });
    await notifier.start();
    await notifier.stop();
    await markProviderLimited(t.handle.db, { provider: 'claude', until: now + 60_000, reason: 'limit', now });
    await markProviderLimited(t.handle.db, { provider: 'codex', until: now + 600_000, reason: 'limit', now });
    await untilLogShowsAll(t);
    now += 120_000; // claude's limit is over, codex's is not
    await notifier.tick();
    const rows = await t.handle.db.selectFrom('notifications').select('dedupe_key').execute();
    expect(rows.map((row) => row.dedupe_key)).toEqual([expect.stringMatching(/^rate_limited:/)]);
    expect(receiver.received.map((r) => String(r.body.text).split('\n')[0])).toEqual([
      '*Provider codex is rate-limited with no fallback*',
    ]);
  });

  it('never blocks the workflow: events commit while a delivery hangs', async () => {
    t = await createTestDatabase(dialect);
    const notifier = new Notifier({ handle: t.handle, settings: settings(), clock: () => now });
    await notifier.start();
    await notifier.stop();
    let release!: () => void;
    receiver.hold = new Promise<void>((resolve) => (release = resolve));
    await recordEvent(t.handle.db, {
      kind: 'workflow.waiting_for_human',
      subjectType: 'workflow',
      subjectId: 9,
      actor: 'workflow',
      data: { summary: 'stuck' },
      now,
    });
    await untilLogShowsAll(t);
    const pass = notifier.tick();
    // While the receiver holds the request, the workflow keeps writing (a positive signal: the write resolves).
    await expect
      .poll(async () => (await t.handle.db.selectFrom('notifications').select('next_attempt_at').execute()).length)
      .toBe(1);
    await recordEvent(t.handle.db, {
      kind: 'approval.created',
      subjectType: 'approval',
      subjectId: 10,
      actor: 'workflow',
      data: { kind: 'spec', workflow_id: 9, title: 'Spec' },
      now,
    });
    expect(receiver.received).toHaveLength(0);
    release();
    await pass;
    expect(receiver.received).toHaveLength(1);
  });

  const approvalOpened = (id: number) =>
    recordEvent(t.handle.db, {
      kind: 'approval.created',
      subjectType: 'approval',
      subjectId: id,
      actor: 'workflow',
      data: { kind: 'spec', workflow_id: id, title: `Spec ${id}` },
      now,
    });
  /** Each approval's subject id with the paths it reached (`/services/...` and `/plain` once each), in order. */
  const deliveredApprovals = () =>
    receiver.received.map((r) => `${r.path.startsWith('/services/') ? 'slack' : 'json'}:${approvalIdOf(r)}`).sort();
  const approvalIdOf = (r: Received) =>
    r.path === '/plain'
      ? String((r.body.subject as { id: string }).id)
      : (/Spec (\d+)/.exec(String(r.body.text))?.[1] ?? '?');

  it('sends an approval opened while no notifier ran, once, when a notifier starts again (the stored cursor)', async () => {
    t = await createTestDatabase(dialect);
    const first = new Notifier({ handle: t.handle, settings: settings(), clock: () => now, intervalMs: 20 });
    await first.start(); // the first start ever: from now, stored
    await approvalOpened(1);
    await expect.poll(deliveredApprovals, { timeout: 30_000, interval: 20 }).toEqual(['json:1', 'slack:1']);
    await first.stop();
    const stopped = await loadStoredCursor(t.handle.db, NOTIFIER_CURSOR);

    await approvalOpened(2); // no notifier runs
    const second = new Notifier({ handle: t.handle, settings: settings(), clock: () => now, intervalMs: 20 });
    await second.start();
    await expect
      .poll(deliveredApprovals, { timeout: 30_000, interval: 20 })
      .toEqual(['json:1', 'json:2', 'slack:1', 'slack:2']);
    await second.stop();
    // Once the log shows everything, one more pass sends nothing again.
    await untilLogShowsAll(t);
    await second.tick();
    expect(deliveredApprovals()).toEqual(['json:1', 'json:2', 'slack:1', 'slack:2']);
    const rows = await t.handle.db.selectFrom('notifications').selectAll().execute();
    expect(rows.map((row) => row.status)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
    const moved = await loadStoredCursor(t.handle.db, NOTIFIER_CURSOR);
    expect(moved!.xid > stopped!.xid || (moved!.xid === stopped!.xid && moved!.id > stopped!.id)).toBe(true);
  });

  it('catching up, sends nothing for an approval decided or a story resumed while no notifier ran', async () => {
    t = await createTestDatabase(dialect);
    const db = t.handle.db;
    const first = new Notifier({ handle: t.handle, settings: settings(), clock: () => now });
    await first.start();
    await first.stop();
    const story = (status: 'running' | 'waiting_for_human') =>
      db
        .insertInto('workflows')
        .values({
          kind: 'story',
          status,
          stage: 'spec_approval',
          title: 'S',
          body: '',
          repo_id: null,
          state: '{}',
          created_by: 'test',
          created_at: now,
          updated_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
    const [resumed, waiting] = [await story('running'), await story('waiting_for_human')];
    const open = (title: string) =>
      db.transaction().execute((tx) =>
        openApproval(tx, {
          kind: 'spec',
          workflowId: waiting.id,
          subjectType: 'workflow',
          title,
          body: '',
          actor: 'workflow',
          now,
        }),
      );
    const decided = await open('Decided meanwhile');
    await open('Still pending');
    await db
      .updateTable('approvals')
      .set({ status: 'approved', decided_by: 'api:lead' })
      .where('id', '=', decided)
      .execute();
    for (const workflow of [resumed, waiting]) {
      await recordEvent(db, {
        kind: 'workflow.waiting_for_human',
        subjectType: 'workflow',
        subjectId: workflow.id,
        actor: 'workflow',
        data: { summary: `story ${workflow.id} stopped` },
        now,
      });
    }
    await untilLogShowsAll(t);
    const second = new Notifier({ handle: t.handle, settings: settings(), clock: () => now });
    await second.start();
    await second.stop();
    await second.tick();
    const sent = receiver.received.map((r) =>
      r.path === '/plain' ? `json ${String(r.body.title)}` : `slack ${String(r.body.text).split('\n')[0]}`,
    );
    expect(sent.sort()).toEqual([
      'json Approval needed: Still pending',
      'slack *Approval needed: Still pending*',
      `slack *Story ${waiting.id} waits for a human*`,
    ]);
  });

  it('two notifiers running at once (scheduler replicas) deliver each message once', async () => {
    t = await createTestDatabase(dialect);
    const replicas = [1, 2].map(
      () => new Notifier({ handle: t.handle, settings: settings(), clock: () => now, intervalMs: 10 }),
    );
    await Promise.all(replicas.map((notifier) => notifier.start()));
    for (const id of [11, 12, 13]) await approvalOpened(id);
    const expected = ['json:11', 'json:12', 'json:13', 'slack:11', 'slack:12', 'slack:13'];
    await expect.poll(deliveredApprovals, { timeout: 30_000, interval: 20 }).toEqual(expected);
    await Promise.all(replicas.map((notifier) => notifier.stop()));
    await untilLogShowsAll(t);
    for (const notifier of replicas) await notifier.tick();
    expect(deliveredApprovals()).toEqual(expected);
    const rows = await t.handle.db.selectFrom('notifications').selectAll().execute();
    expect(rows).toHaveLength(6);
    expect(rows.every((row) => row.status === 'delivered' && row.attempts === 1)).toBe(true);
  });

  it('masks the secret parts of a webhook URL', () => {
    expect(maskWebhookUrl('https://hooks.slack.com/services/T0/B0/abc')).toBe('https://hooks.slack.com/services/***');
    expect(maskWebhookUrl('https://u:pw@example.com/hook?token=x')).toBe('https://***@example.com/hook?***');
    expect(maskWebhookUrl('not a url')).toBe('***');
  });
});
