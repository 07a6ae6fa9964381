/**
 * @module A standalone agent worker process for the SIGKILL tests: runs `AgentSupervisor` for some roles against a
 * database, with settings from a file, until SIGTERM (graceful: running tasks are released) or SIGKILL.
 *
 * ### Examples
 * ```sh
 * node dist/test/support/agent-worker-process.js --database /tmp/x/autodev.db --data-dir /tmp/x/data \
 *   --config /tmp/x/worker-1.yaml --roles builder
 * ```
 * Prints one JSON line `{"event":"ready",...}` on stdout once its workers are claiming; logs go to stderr.
 */
import { parseArgs } from 'node:util';
import { AgentSupervisor } from '../../src/agents/agent-supervisor.js';
import { settingsProviderFactory } from '../../src/agents/provider-factory.js';
import { loadSettings, queueSettingsFrom } from '../../src/config/load-settings.js';
import { isRole, type Role } from '../../src/domain/roles.js';
import { createLogger } from '../../src/log.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { isPostgresUrl, openDatabase } from '../../src/store/open-database.js';
import { autodevCliEntry } from './agent-fixtures.js';

function readOptions() {
  const { values } = parseArgs({
    options: {
      database: { type: 'string' },
      'data-dir': { type: 'string' },
      config: { type: 'string' },
      roles: { type: 'string', default: 'builder' },
      'idle-wait-ms': { type: 'string', default: '200' },
    },
  });
  if (!values.database || !values['data-dir'] || !values.config) {
    throw new Error('--database (a postgres:// URL or an SQLite file), --data-dir and --config are required');
  }
  const roles = values.roles.split(',');
  const unknown = roles.filter((role) => !isRole(role));
  if (unknown.length > 0) throw new Error(`unknown roles: ${unknown.join(', ')}`);
  return {
    database: values.database,
    dataDir: values['data-dir'],
    configFile: values.config,
    roles: roles as Role[],
    idleWaitMs: Number(values['idle-wait-ms']),
  };
}

async function main(): Promise<void> {
  const options = readOptions();
  const { settings } = loadSettings({ dataDir: options.dataDir, configFile: options.configFile, env: {} });
  const handle = await openDatabase(
    isPostgresUrl(options.database) ? { databaseUrl: options.database, poolSize: 4 } : { sqlitePath: options.database },
  );
  const queue = new TaskQueue(handle, queueSettingsFrom(settings));
  const logger = createLogger({ level: 'info', destination: process.stderr });
  const supervisor = new AgentSupervisor(
    {
      queue,
      settings,
      dataDir: options.dataDir,
      logger,
      env: process.env,
      createProvider: settingsProviderFactory({ settings }),
      cliEntry: autodevCliEntry(),
    },
    { roles: options.roles, idleWaitMs: options.idleWaitMs },
  );
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await supervisor.start();
  process.stdout.write(`${JSON.stringify({ event: 'ready', pid: process.pid, running: supervisor.running() })}\n`);
  await stopped;
  await supervisor.stop();
  await queue.close();
  await handle.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`agent-worker-process: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
