/**
 * @module `autodev up [--port N] [--host H] [--no-agents]`: everything in one process, and `autodev serve
 * <component>` for one part of it. Opens and migrates the database, makes sure the admin token exists, serves the API
 * (with the forge webhook routes), runs the scheduler and the agents until SIGINT/SIGTERM, then stops the agents
 * (their running tasks go back to the queue), the scheduler, the server, the queue and the database, in that order.
 * `serve webhook` serves only `/health`, `/ready` and the webhook routes (on `webhooks.host`/`port`); `serve scheduler`
 * runs only the scheduler (with the retention runner, the forge poller and, with `notify.webhooks`, the notifier).
 *
 * Migrations: `up` migrates the database itself (a laptop's one process; `--no-migrate` makes it wait like `serve`);
 * `serve *` never migrates: it listens (so `/health` answers and `/ready` says why not), logs that it waits for
 * `autodev db migrate`, and starts its work once the schema is this build's; a database migrated by a NEWER build is
 * refused with `SCHEMA_NEWER_THAN_BUILD`. Before that, `serve *` waits for the database itself to answer, with a bounded
 * backoff (`server.database_wait_seconds`; `/ready` says "waiting for the database"), and exits DATABASE_UNAVAILABLE
 * after it. Agent and scheduler processes answer `/health` and `/ready` on
 * `--health-port` (or `server.health_port`) when one is given.
 *
 * Admin token: `up` makes sure `<data-dir>/admin-token` exists (`ensureAdminToken`); `serve dashboard` and
 * `up --no-migrate`, which share the database, write a new file only while the database holds no admin token
 * (`ensureSharedAdminToken`) and otherwise say how to create one.
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
import { ensureAdminToken, ensureSharedAdminToken, type SharedAdminToken } from '../../server/api-tokens.js';
import { buildServer } from '../../server/build-server.js';
import { migrateToLatest } from '../../store/migrate.js';
import { readSchemaState, refuseNewerSchema, waitForSchema } from '../../store/schema-version.js';
import { waitForDatabase } from '../../store/wait-for-database.js';
import { Readiness } from '../../server/readiness.js';
import { RetentionRunner } from '../../scheduler/retention-runner.js';
import { Scheduler, schedulesFrom } from '../../scheduler/scheduler.js';
import { ForgePoller } from '../../webhooks/forge-poller.js';
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
import { workflowDeps } from '../../workflow/workflow-deps.js';
import { bringBackDueProjects } from '../../workflow/project-decisions.js';

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
  /** true (`up`): migrate the database here; false (`serve *`, `up --no-migrate`): wait for `autodev db migrate`. */
  migrate?: boolean | undefined;
  /** Agent and scheduler processes: serve `/health` and `/ready` on this port (default `server.health_port`). */
  healthPort?: string | undefined;
}

export async function run(args: UpArgs, deps: CliDeps): Promise<number> {
  const portOption = args.port === undefined ? undefined : parsePort(args.port);
  const healthPortOption = args.healthPort === undefined ? undefined : parsePort(args.healthPort, '--health-port');
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
  // `serve` may start before its database (a compose stack, an ECS service): it connects lazily and waits below.
  const handle = await openCliDatabase(dataDir, deps, masker, args.migrate === false ? 'lazy' : 'now');
  const readiness = new Readiness();
  let queue: TaskQueue | undefined;
  let app: FastifyInstance | undefined;
  let agents: AgentSupervisor | undefined;
  let scheduler: Scheduler | undefined;
  let poller: ForgePoller | undefined;
  let notifier: Notifier | undefined;
  let retention: RetentionRunner | undefined;
  let stopping = false;
  try {
    queue = new TaskQueue(handle, queueSettingsFrom(settings), deps.now);
    if (args.migrate !== false) {
      // `up`: migrate first, so the server that starts listening serves the current schema from its first request.
      refuseNewerSchema(await readSchemaState(handle), handle.location);
      await migrateToLatest(handle);
      readiness.markSchemaCurrent();
      logSink.attach(handle.db);
    }
    const serveApi = args.server !== false && !args.webhooksOnly;
    const adminToken = async (): Promise<SharedAdminToken> => {
      // `serve dashboard` shares its database (its disk may not last): no new token file once the database has one.
      const created =
        args.migrate === false
          ? await ensureSharedAdminToken(handle.db, dataDir, deps.now())
          : { kind: 'file' as const, ...(await ensureAdminToken(handle.db, dataDir, deps.now())) };
      // Created just now (or by another process meanwhile): from here on it is masked like every other secret.
      if (created.kind === 'file') masker.register(fs.readFileSync(created.path, 'utf8'));
      return created;
    };
    let token = serveApi && args.migrate !== false ? await adminToken() : undefined;
    const healthPort = args.server === false ? (healthPortOption ?? settings.server.health_port) : undefined;
    if (args.server !== false || healthPort != null) {
      // `serve`: listening before the schema is current, so `/health` answers and `/ready` says what is awaited.
      app = await buildServer({
        handle,
        queue,
        logger,
        version,
        clock: deps.now,
        settings,
        env: deps.env,
        readiness,
        ...(args.server === false
          ? { routes: 'health' as const }
          : args.webhooksOnly
            ? { api: false, dataDir }
            : {
                dailyBudget: settings.tokens.daily_budget,
                maxFixRounds: settings.workflow.max_fix_rounds,
                secrets,
                dataDir,
              }),
      });
      await listen(app, host, healthPort ?? port);
      readiness.addLoop('server', () => !stopping);
    }
    const baseUrl = app ? addressOf(app) : undefined;
    if ((args.server === false || args.migrate === false) && baseUrl) {
      writeLine(deps.stdout, `  health:      ${baseUrl}/health, ${baseUrl}/ready`);
    }
    if (args.migrate === false) {
      const answered = await waitForDatabase(handle, {
        signal: shutdown,
        limitMs: settings.server.database_wait_seconds * 1000,
        limitSetting: 'server.database_wait_seconds',
        log: (message) => {
          readiness.waitingForDatabase(message);
          logger.warn(message);
          writeLine(deps.stdout, `  ${message}`);
        },
      });
      readiness.waitingForDatabase(undefined);
      if (!answered) throw new StoppedBeforeReady();
      const current = await waitForSchema(handle, {
        signal: shutdown,
        log: (message) => {
          logger.warn(message);
          writeLine(deps.stdout, `  ${message}`);
        },
      });
      if (!current) throw new StoppedBeforeReady();
      readiness.markSchemaCurrent();
      logSink.attach(handle.db);
      if (serveApi) token = await adminToken();
    }
    if (args.webhooksOnly) {
      writeLine(deps.stdout, `Auto-Dev ${version} webhooks are up: ${baseUrl}/webhooks/{gitlab,github}`);
    } else if (token) {
      writeLine(deps.stdout, `Auto-Dev ${version} is up: ${baseUrl}`);
      if (token.kind === 'file') {
        writeLine(
          deps.stdout,
          `  admin token: ${token.path} (${token.created ? 'created now' : 'existing'}; send it as "Authorization: Bearer <token>")`,
        );
      } else {
        const message =
          `admin token: none written here, the database has ${token.adminTokens} admin token(s); ` +
          'a new one: autodev tokens create --role admin --name <name>';
        logger.info({ adminTokens: token.adminTokens }, message);
        writeLine(deps.stdout, `  ${message}`);
      }
    } else {
      writeLine(deps.stdout, `Auto-Dev ${version} is up (${roles.length > 0 ? 'agents' : 'scheduler'} only)`);
    }
    writeLine(deps.stdout, `  database:    ${handle.location}`);
    if (args.scheduler) {
      const schedules = schedulesFrom(settings);
      const workflow = workflowDeps(queue, settings.workflow.max_fix_rounds);
      scheduler = new Scheduler({
        queue,
        schedules,
        tickMs: settings.scheduler.tick_seconds * 1000,
        logger,
        dueChecks: [{ name: 'deferred projects', run: () => bringBackDueProjects(handle.db, workflow, 'scheduler') }],
      });
      await scheduler.start();
      readiness.addLoop('scheduler', () => !stopping);
      retention = new RetentionRunner({
        handle,
        settings: settings.retention,
        firedBy: scheduler.instanceId,
        logger,
        clock: deps.now,
      });
      retention.start();
      // The polling fallback for repositories the forge cannot reach (`forge_events: poll`) runs beside it.
      poller = new ForgePoller({ queue, settings, dataDir, env: deps.env, logger });
      poller.start();
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
      readiness.addLoop('agents', () => !stopping);
      writeLine(deps.stdout, `  agents:      ${roles.join(', ')} (sandbox: ${settings.sandbox.mode})`);
    } else {
      writeLine(deps.stdout, '  agents:      none in this process');
    }
    // The scheduler's processes notify (replicas share the stored cursor and the outbox's dedupe key).
    if (args.scheduler && settings.notify.webhooks.length > 0) {
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
  } catch (error) {
    if (!(error instanceof StoppedBeforeReady)) throw error;
    writeLine(deps.stdout, 'stopping before the schema was current...');
  } finally {
    stopping = true;
    await retention?.stop();
    await notifier?.stop();
    await agents?.stop();
    await poller?.stop();
    await scheduler?.stop();
    await app?.close();
    await queue?.close();
    await logSink.close();
    await handle.close();
  }
  writeLine(deps.stdout, 'stopped');
  return 0;
}

/** SIGTERM/SIGINT came while the process waited for `autodev db migrate`: a clean stop, not a failure. */
class StoppedBeforeReady extends Error {}

function parsePort(text: string, option = '--port'): number {
  return parseWholeNumberText(option, text, 0, 65_535);
}

/** `http://host:port` of a listening server (an IPv6 address in brackets). */
function addressOf(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo;
  const shownHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  return `http://${shownHost}:${address.port}`;
}

/** What this process serves, as its log lines name it: `up`, `dashboard`, `webhook`, `scheduler`, `agent:ROLE`. */
function serviceName(args: UpArgs, roles: readonly Role[]): string {
  if (args.webhooksOnly) return 'webhook';
  if (args.server === false) return roles.length > 0 ? `agent:${roles.join(',')}` : 'scheduler';
  return args.agents === false ? 'dashboard' : 'up';
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
