/**
 * @module `autodev up [--port N] [--host H] [--no-agents]`: everything in one process, and `autodev serve
 * <component>` for one part of it. Opens and migrates the database, makes sure the admin token exists, serves the API
 * (with the forge webhook routes), runs the scheduler and the agents until SIGINT/SIGTERM, then stops the agents
 * (their running tasks go back to the queue), the scheduler, the server, the queue and the database, in that order.
 * `serve webhook` serves only `/health` and the webhook routes (on `webhooks.host`/`port`); `serve scheduler` runs
 * only the scheduler.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import path from 'node:path';
import type { AgentSupervisor } from '../../agents/agent-supervisor.js';
import { startAgents } from '../../agents/start-agents.js';
import { Notifier } from '../../notify/notifier.js';
import { queueSettingsFrom } from '../../config/load-settings.js';
import { ROLES, type Role } from '../../domain/roles.js';
import { AutodevError } from '../../errors.js';
import { parseWholeNumberText } from '../../domain/input-policy.js';
import { createLogger } from '../../log.js';
import { processIdentity, ProcessLogSink } from '../../logs/process-log-sink.js';
import { TaskQueue } from '../../queue/task-queue.js';
import { openSecretProvider } from '../../secrets/secret-providers.js';
import { SecretStore } from '../../secrets/secret-store.js';
import { ensureAdminToken } from '../../server/api-tokens.js';
import { buildServer } from '../../server/build-server.js';
import { migrateToLatest } from '../../store/migrate.js';
import { Scheduler, schedulesFrom } from '../../scheduler/scheduler.js';
import { CliError } from '../cli-error.js';
import {
  cliSecretMasker,
  effectiveLogLevel,
  loadCliSettings,
  openCliDatabase,
  type CliDeps,
  type GlobalOptions,
} from '../context.js';
import { writeLine } from '../format.js';
import { packageVersion } from '../version.js';

export interface UpArgs {
  globals: GlobalOptions;
  port?: string | undefined;
  host?: string | undefined;
  /** false: no agents in this process (`--no-agents`, or `serve dashboard`). */
  agents?: boolean | undefined;
  /** The roles whose agents run here (default: all eight). */
  roles?: readonly Role[] | undefined;
  /** false: no HTTP server (`serve agent:ROLE`, `serve scheduler`). */
  server?: boolean | undefined;
  /** true: the server has only `/health` and the webhook routes, on `webhooks.host`/`port` (`serve webhook`). */
  webhooksOnly?: boolean | undefined;
  /** Run the scheduler in this process (`up`, `serve scheduler`); default false. */
  scheduler?: boolean | undefined;
}

export async function run(args: UpArgs, deps: CliDeps): Promise<number> {
  const portOption = args.port === undefined ? undefined : parsePort(args.port);
  if (args.host !== undefined && args.host.trim() === '') {
    throw new AutodevError('VALIDATION_FAILED', '--host must not be empty; use e.g. 127.0.0.1 or 0.0.0.0');
  }
  const { settings, dataDir } = loadCliSettings(args.globals, deps);
  const roles = args.agents === false ? [] : (args.roles ?? ROLES);
  const port = portOption ?? (args.webhooksOnly ? settings.webhooks.port : settings.server.port);
  const host = args.host ?? (args.webhooksOnly ? settings.webhooks.host : settings.server.host);
  const masker = cliSecretMasker(dataDir, deps.env, settings);
  const service = serviceName(args, roles);
  // Warn+ and lifecycle lines also go to the store (`autodev logs`), once the database is open; stderr gets all.
  const logSink = new ProcessLogSink(processIdentity(service, roles, deps.now()), { now: deps.now });
  const logger = createLogger({ level: effectiveLogLevel(args.globals, settings, deps), masker, store: logSink });
  const version = packageVersion();
  const shutdown = deps.listenForShutdown();
  // Deploys (and publishers, the webhook check) read secrets here; each value read is masked from then on.
  const secrets = new SecretStore(
    openSecretProvider({ settings: settings.secrets, dataDir, env: deps.env }),
    settings.secrets.prefix,
    masker,
  );
  const handle = await openCliDatabase(dataDir, deps, masker);
  let queue: TaskQueue | undefined;
  let app: FastifyInstance | undefined;
  let agents: AgentSupervisor | undefined;
  let scheduler: Scheduler | undefined;
  let notifier: Notifier | undefined;
  try {
    await migrateToLatest(handle);
    logSink.attach(handle.db);
    queue = new TaskQueue(handle, queueSettingsFrom(settings), deps.now);
    if (args.webhooksOnly) {
      app = await buildServer({ handle, queue, logger, version, clock: deps.now, settings, env: deps.env, api: false });
      await listen(app, host, port);
      const address = app.server.address() as AddressInfo;
      const shownHost = address.address.includes(':') ? `[${address.address}]` : address.address;
      writeLine(
        deps.stdout,
        `Auto-Dev ${version} webhooks are up: http://${shownHost}:${address.port}/webhooks/{gitlab,github}`,
      );
    } else if (args.server !== false) {
      const token = await ensureAdminToken(handle.db, dataDir, deps.now());
      // Created just now (or by another process meanwhile): from here on it is masked like every other secret.
      masker.register(fs.readFileSync(token.path, 'utf8'));
      app = await buildServer({
        handle,
        queue,
        logger,
        version,
        clock: deps.now,
        settings,
        env: deps.env,
        dailyBudget: settings.tokens.daily_budget,
        maxFixRounds: settings.workflow.max_fix_rounds,
        secrets,
        dataDir,
      });
      await listen(app, host, port);
      const address = app.server.address() as AddressInfo;
      const shownHost = address.address.includes(':') ? `[${address.address}]` : address.address;
      writeLine(deps.stdout, `Auto-Dev ${version} is up: http://${shownHost}:${address.port}`);
      writeLine(
        deps.stdout,
        `  admin token: ${token.path} (${token.created ? 'created now' : 'existing'}; send it as "Authorization: Bearer <token>")`,
      );
    } else {
      writeLine(deps.stdout, `Auto-Dev ${version} is up (${roles.length > 0 ? 'agents' : 'scheduler'} only)`);
    }
    writeLine(deps.stdout, `  database:    ${handle.location}`);
    if (args.scheduler) {
      const schedules = schedulesFrom(settings);
      scheduler = new Scheduler({ queue, schedules, tickMs: settings.scheduler.tick_seconds * 1000, logger });
      await scheduler.start();
      writeLine(
        deps.stdout,
        `  scheduler:   ${schedules.length === 0 ? 'no schedule enabled' : schedules.map((s) => s.name).join(', ')} (${scheduler.instanceId})`,
      );
    }
    if (roles.length > 0) {
      agents = await startAgents({
        queue,
        settings,
        dataDir,
        ...(args.globals.config ? { configDir: path.dirname(path.resolve(deps.cwd, args.globals.config)) } : {}),
        logger,
        env: deps.env,
        roles,
        secrets,
      });
      writeLine(deps.stdout, `  agents:      ${roles.join(', ')} (sandbox: ${settings.sandbox.mode})`);
    } else {
      writeLine(deps.stdout, '  agents:      none in this process');
    }
    if (settings.notify.webhooks.length > 0) {
      notifier = new Notifier({ handle, settings, logger, clock: deps.now });
      await notifier.start();
      writeLine(deps.stdout, `  notify:      ${settings.notify.webhooks.length} webhook(s)`);
    }
    // Once everything is up: a start that fails (a port in use) prints its one error line and nothing else.
    logger.info({ lifecycle: true, service, roles }, `${service} process started`);
    writeLine(deps.stdout, '  press Ctrl+C to stop');

    await untilAborted(shutdown);
    writeLine(deps.stdout, 'stopping...');
    logger.info({ lifecycle: true, service }, `${service} process stopping`);
  } finally {
    await notifier?.stop();
    await agents?.stop();
    await scheduler?.stop();
    await app?.close();
    await queue?.close();
    await logSink.close();
    await handle.close();
  }
  writeLine(deps.stdout, 'stopped');
  return 0;
}

/** What this process serves, as its log lines name it: `up`, `dashboard`, `webhook`, `scheduler`, `agent:ROLE`. */
function serviceName(args: UpArgs, roles: readonly Role[]): string {
  if (args.webhooksOnly) return 'webhook';
  if (args.server === false) return roles.length > 0 ? `agent:${roles.join(',')}` : 'scheduler';
  return args.agents === false ? 'dashboard' : 'up';
}

function parsePort(text: string): number {
  return parseWholeNumberText('--port', text, 0, 65_535);
}

async function listen(app: FastifyInstance, host: string, port: number): Promise<void> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CliError(`port ${port} is in use; pass --port or stop the other process`, 1);
    if (code === 'EACCES')
      throw new CliError(`not allowed to listen on port ${port}; pass --port with a port above 1023`, 1);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new CliError(
        `cannot listen on host "${host}" (${code}); pass --host with an address of this machine, e.g. 127.0.0.1`,
        1,
      );
    }
    throw error;
  }
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
