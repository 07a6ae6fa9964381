/**
 * @module A child process that carries out one pending `merge` task the way the devops worker does
 * (`workflow/merge-step.ts`), for the crash test that SIGKILLs it between the forge's merge and the recording
 * transaction. Writes its pid to `--pid-file` first (the test's git hook kills it by that pid), then claims with a
 * short lease (`--lease-ms`), so the test can reclaim the task soon after the kill.
 *
 * ### Examples
 * ```sh
 * node dist/test/support/merge-step-process.js --database /tmp/x/autodev.db --pid-file /tmp/x/pid --lease-ms 1500
 * ```
 */
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import { isPostgresUrl, openDatabase } from '../../src/store/open-database.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { runMergeTasks } from './merge-tasks.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      database: { type: 'string' },
      'pid-file': { type: 'string' },
      'lease-ms': { type: 'string', default: '1500' },
      /** A forge repository's data directory (its clone cache); the token comes from this process's environment. */
      'data-dir': { type: 'string' },
    },
  });
  if (!values.database || !values['pid-file']) throw new Error('--database and --pid-file are required');
  fs.writeFileSync(values['pid-file'], String(process.pid));
  const handle = await openDatabase(
    isPostgresUrl(values.database) ? { databaseUrl: values.database, poolSize: 2 } : { sqlitePath: values.database },
  );
  const queue = new TaskQueue(handle, { ...DEFAULT_QUEUE_SETTINGS, leaseMs: Number(values['lease-ms']) });
  const context = values['data-dir']
    ? { dataDir: values['data-dir'], env: process.env }
    : { dataDir: os.tmpdir(), env: {} };
  const results = await runMergeTasks(queue, workflowDeps(queue, 3), context, 'killed');
  process.stdout.write(`${JSON.stringify({ event: 'done', results })}\n`);
  await queue.close();
  await handle.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`merge-step-process: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
