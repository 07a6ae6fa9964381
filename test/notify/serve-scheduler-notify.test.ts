/**
 * `autodev serve scheduler` (the built CLI, `npm run build` first) notifies: a spec approval opened while it runs
 * reaches a local HTTP receiver (the stand-in for a webhook endpoint); one opened while it is stopped reaches it once
 * after the next start (the stored cursor), and nothing is sent twice. PostgreSQL, the engine of split services; the
 * notifier's SQL runs on both engines in notifier.test.ts.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvent } from '../../src/events/record-event.js';
import { killGroup } from '../support/child-processes.js';
import { serve } from '../support/compose-services.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

describe.each(DIALECTS.filter((d) => d === 'postgres'))('%s: serve scheduler notifies', (dialect) => {
  const t = useTestDatabase(dialect);
  const receiver = new WebhookReceiver();
  const children: ChildProcess[] = [];
  let root: string;
  beforeAll(async () => {
    await receiver.start();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-notify-serve-'));
  });
  afterAll(async () => {
    for (const child of children) killGroup(child);
    await receiver.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const approvalOpened = (id: number) =>
    recordEvent(t.handle.db, {
      kind: 'approval.created',
      subjectType: 'approval',
      subjectId: id,
      actor: 'workflow',
      data: { kind: 'spec', workflow_id: id, title: `Spec ${id}` },
      now: Date.now(),
    });
  const deliveredIds = () => receiver.received.map((r) => String((r.body.subject as { id: string }).id));

  it(
    'sends an approval opened while it runs, and one opened while it was stopped after its restart, once each',
    {
      timeout: 120_000,
    },
    async () => {
      const config = path.join(root, 'scheduler.yaml');
      fs.writeFileSync(
        config,
        YAML.stringify({ notify: { webhooks: [{ url: `http://127.0.0.1:${receiver.port}/hook`, format: 'json' }] } }),
      );
      const start = async () => {
        const scheduler = serve({
          databaseUrl: t.databaseUrl!,
          dataDir: root,
          config,
          args: ['serve', 'scheduler', '--health-port', '0'],
          children,
        });
        await scheduler.line(/notify: +1 webhook/);
        return scheduler;
      };

      const first = await start();
      await approvalOpened(1);
      await expect.poll(deliveredIds, { timeout: 60_000, interval: 50 }).toEqual(['1']);
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);

      await approvalOpened(2); // no notifier runs
      const second = await start();
      await expect.poll(deliveredIds, { timeout: 60_000, interval: 50 }).toEqual(['1', '2']);
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      expect(receiver.received[1]!.body).toMatchObject({ event: 'approval_opened', title: 'Approval needed: Spec 2' });
      const rows = await t.handle.db.selectFrom('notifications').select(['dedupe_key', 'status', 'attempts']).execute();
      expect(rows.sort((a, b) => a.dedupe_key.localeCompare(b.dedupe_key))).toEqual([
        { dedupe_key: 'approval:1', status: 'delivered', attempts: 1 },
        { dedupe_key: 'approval:2', status: 'delivered', attempts: 1 },
      ]);
    },
  );
});
