/**
 * @module A separate process that enqueues tasks through the built queue, for the cross-process wake-up test:
 * another process's commit must wake a worker that is idle in this one.
 *
 * ### Examples
 * ```sh
 * node dist/test/support/queue-enqueue-process.js --database "$DATABASE_URL" --type deploy --count 1
 * ```
 * Prints one JSON line `{"event":"enqueued","ids":[...],"committedAt":<ms>}` on stdout.
 */
import { parseArgs } from 'node:util';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { isPostgresUrl, openDatabase } from '../../src/store/open-database.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      database: { type: 'string', default: process.env.DATABASE_URL },
      type: { type: 'string', default: 'deploy' },
      count: { type: 'string', default: '1' },
    },
  });
  const database = values.database;
  if (!database) throw new Error('--database (a postgres:// URL or an SQLite file path) or DATABASE_URL is required');
  const handle = await openDatabase(
    isPostgresUrl(database) ? { databaseUrl: database, poolSize: 1 } : { sqlitePath: database },
  );
  const queue = new TaskQueue(handle);
  const ids: number[] = [];
  for (let i = 0; i < Number(values.count); i++) {
    ids.push(
      (await queue.enqueue({ type: values.type, payload: { from: process.pid }, createdBy: 'enqueue-process' })).id,
    );
  }
  const committedAt = Date.now();
  process.stdout.write(`${JSON.stringify({ event: 'enqueued', ids, committedAt })}\n`);
  await queue.close();
  await handle.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`queue-enqueue-process: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
