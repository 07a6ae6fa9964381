/**
 * @module Assembles the HTTP server from its plugins: public `/health`, `/metrics` and `/api/openapi.json`; every other
 * `/api` route behind a bearer token. Does not listen; `autodev up` and `autodev serve` call `app.listen`.
 *
 * ### Examples
 * ```ts
 * const app = await buildServer({ handle, queue, logger, version: '0.1.0' });
 * await app.listen({ port: 8080, host: '127.0.0.1' });
 * ```
 */
import type { SecretStore } from '../secrets/secret-store.js';
import type { PublishEndpoints } from '../publish/publisher.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyBodyParser, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { TaskQueue } from '../queue/task-queue.js';
import type { DatabaseHandle } from '../store/open-database.js';
import { redactUrl, type Logger } from '../log.js';
import { clientErrorHandler, frameworkErrorHandler, installErrorHandlers, notFoundHandler } from './error-handler.js';
import { requireApiToken } from './plugins/auth.js';
import { eventsPlugin } from './plugins/events.js';
import { AutodevError } from '../errors.js';
import type { Readiness } from './readiness.js';
import { healthPlugin } from './plugins/health.js';
import { metricsPlugin } from './plugins/metrics.js';
import { registerOpenApi } from './plugins/openapi.js';
import { memoryPlugin } from './plugins/memory.js';
import { tasksPlugin } from './plugins/tasks.js';
import { agentsPlugin } from './plugins/agents.js';
import { sessionsPlugin } from './plugins/sessions.js';
import { approvalsPlugin } from './plugins/approvals.js';
import { projectsPlugin } from './plugins/projects.js';
import { mergeRequestsPlugin } from './plugins/merge-requests.js';
import { reposPlugin } from './plugins/repos.js';
import { storiesPlugin } from './plugins/stories.js';
import { storyBoardPlugin } from './plugins/story-board.js';
import { defaultWebRoot, webPlugin } from './plugins/web.js';
import { swarmPlugin } from './plugins/swarm.js';
import { statsPlugin } from './plugins/stats.js';
import { providersPlugin } from './plugins/providers.js';
import { SettingsSchema, type Settings } from '../config/settings-schema.js';
import { webhooksPlugin, type WebhooksOptions } from './plugins/webhooks.js';
import { forgeJobLogFetcher } from '../webhooks/forge-job-log.js';
import { schedulesPlugin } from './plugins/schedules.js';
import { publishPreviewPlugin } from './plugins/publish-preview.js';
import { openSecretProvider } from '../secrets/secret-providers.js';
import { notificationsPlugin } from './plugins/notifications.js';
import { operationsPlugin } from './plugins/operations.js';

/** Request bodies above this are refused with 413 PAYLOAD_TOO_LARGE. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface ServerDeps {
  handle: DatabaseHandle;
  queue: TaskQueue;
  /** The process's root logger; the server logs as component `server`. */
  logger: Logger;
  version: string;
  /** Defaults to Date.now. The queue keeps its own clock; routes that stamp times themselves use this one. */
  clock?: () => number;
  /** tokens.daily_budget, shown by `GET /api/agents`; 0 or absent: no budget. */
  dailyBudget?: number;
  /** workflow.max_fix_rounds, for workflows moved on by approval decisions; default 3. */
  maxFixRounds?: number;
  /** The built dashboard; defaults to this package's web/dist. */
  webRoot?: string;
  /** The effective settings, for `GET /api/providers` (which provider each role uses); defaults to the built-in ones. */
  settings?: Settings;
  /** The environment agent sessions start from, for `GET /api/providers`; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The secret store, for routes that check a secret (the forge webhooks' `readSecret('gitlab-webhook-secret')`). */
  secrets?: SecretStore;
  /** The forge webhook routes' injected parts (failed-job logs, repository matching); secrets come from `env`. */
  webhooks?: Pick<WebhooksOptions, 'fetchFailedJobLog' | 'resolveRepository'>;
  /** This process's readiness for `GET /ready` (`autodev up` / `serve`); without it ready = the database answers. */
  readiness?: Readiness;
  /** 'health': only `/health` and `/ready` (the `--health-port` listener of agent and scheduler processes). */
  routes?: 'health';
  /** false: only `/health` and the webhook routes (`autodev serve webhook`); default true. */
  api?: boolean;
  /** The data directory (clone caches of GitLab/GitHub repositories); without it `POST /api/repos` takes local paths only. */
  dataDir?: string;
  /** Where the publishing preview's plans point (the publishers' endpoints; defaults: the public services). */
  publishEndpoints?: Partial<PublishEndpoints>;
}

/** The router's longest path parameter; a longer one gets 414 URL_TOO_LONG (after the token check under /api). */
export const MAX_PARAM_LENGTH = 100;

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const settings = deps.settings ?? SettingsSchema.parse({});
  const rendering = { bodyLimit: BODY_LIMIT_BYTES, maxParamLength: MAX_PARAM_LENGTH };
  const logger = deps.logger.child(
    { component: 'server' },
    // A request logged as `req` shows its URL without `?access_token=` (the root logger's redaction also applies).
    {
      serializers: {
        req: (req: { method?: string; url?: string }) => ({ method: req.method, url: redactUrl(req.url ?? '') }),
      },
    },
  );
  const app = Fastify({
    // Typed as Fastify's logger interface so the instance keeps Fastify's default generics.
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // One line per request at debug instead of two at info: the dashboard polls.
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors: frameworkErrorHandler(deps.handle, rendering),
    clientErrorHandler,
  });

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installJsonOnlyBodies(app);
  installErrorHandlers(app, rendering);
  app.addHook('onResponse', async (request, reply) => {
    request.log.debug(
      {
        method: request.method,
        url: redactUrl(request.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });

  if (deps.readiness) {
    const readiness = deps.readiness;
    // Until the schema is this build's, only `/health` and `/ready` answer; everything else is 503.
    app.addHook('onRequest', async (request) => {
      if (readiness.schemaIsCurrent) return;
      const path = request.url.split('?')[0];
      if (path === '/health' || path === '/ready') return;
      throw new AutodevError(
        'SCHEMA_NOT_CURRENT',
        'this process waits for `autodev db migrate` to bring the database to its schema; see GET /ready',
      );
    });
  }
  await registerOpenApi(app, { version: deps.version });
  await app.register(healthPlugin, {
    handle: deps.handle,
    version: deps.version,
    clock: deps.clock ?? Date.now,
    readiness: deps.readiness,
  });
  if (deps.routes === 'health') return app;
  await app.register(webhooksPlugin, {
    queue: deps.queue,
    settings,
    env: deps.env ?? process.env,
    // A failed pipeline's job log is read through the repository's forge client (clone caches live in the data dir).
    ...(deps.dataDir
      ? { fetchFailedJobLog: forgeJobLogFetcher({ dataDir: deps.dataDir, env: deps.env ?? process.env }) }
      : {}),
    ...deps.webhooks,
  });
  if (deps.api === false) return app;
  await app.register(metricsPlugin, { queue: deps.queue, version: deps.version, clock: deps.clock ?? Date.now });
  await app.register(
    async (api) => {
      requireApiToken(api, { handle: deps.handle });
      // Unknown /api routes also ask for a token first, so they do not reveal which routes exist.
      api.setNotFoundHandler(notFoundHandler);
      await api.register(tasksPlugin, { queue: deps.queue });
      await api.register(eventsPlugin, {
        handle: deps.handle,
        queue: deps.queue,
        schemaCurrent: deps.readiness?.whenSchemaCurrent,
        limits: {
          maxStreams: settings.server.max_event_streams,
          maxStreamsPerToken: settings.server.max_event_streams_per_token,
          maxBufferedBytes: settings.server.max_event_stream_buffer_bytes,
          stallMs: settings.server.max_event_stream_stall_seconds * 1000,
        },
      });
      await api.register(agentsPlugin, {
        db: deps.handle.db,
        clock: deps.clock ?? Date.now,
        dailyBudget: deps.dailyBudget ?? 0,
      });
      await api.register(sessionsPlugin, { db: deps.handle.db });
      await api.register(approvalsPlugin, { queue: deps.queue, maxFixRounds: deps.maxFixRounds ?? 3 });
      await api.register(projectsPlugin, { queue: deps.queue, maxFixRounds: deps.maxFixRounds ?? 3 });
      await api.register(mergeRequestsPlugin, {
        db: deps.handle.db,
        forge: deps.dataDir ? { dataDir: deps.dataDir, env: deps.env ?? process.env } : undefined,
      });
      await api.register(storiesPlugin, { queue: deps.queue, maxFixRounds: deps.maxFixRounds ?? 3 });
      await api.register(storyBoardPlugin, { queue: deps.queue });
      await api.register(reposPlugin, {
        db: deps.handle.db,
        clock: deps.clock ?? Date.now,
        dataDir: deps.dataDir,
        env: deps.env ?? process.env,
      });
      await api.register(swarmPlugin, {
        queue: deps.queue,
        maxFixRounds: deps.maxFixRounds ?? 3,
        clock: deps.clock ?? Date.now,
        dailyBudget: deps.dailyBudget ?? 0,
      });
      await api.register(statsPlugin, { db: deps.handle.db, clock: deps.clock ?? Date.now });
      await api.register(operationsPlugin, { handle: deps.handle, clock: deps.clock ?? Date.now });
      await api.register(schedulesPlugin, { db: deps.handle.db, settings, clock: deps.clock ?? Date.now });
      await api.register(notificationsPlugin, { db: deps.handle.db });
      await api.register(memoryPlugin, {
        handle: deps.handle,
        settings: settings.memory,
        env: deps.env ?? process.env,
        clock: deps.clock ?? Date.now,
      });
      await api.register(providersPlugin, {
        db: deps.handle.db,
        clock: deps.clock ?? Date.now,
        settings,
        env: deps.env ?? process.env,
      });
      await api.register(publishPreviewPlugin, {
        db: deps.handle.db,
        dataDir: deps.dataDir,
        endpoints: deps.publishEndpoints,
        secrets: deps.secrets ?? {
          provider: openSecretProvider({
            settings: settings.secrets,
            dataDir: deps.dataDir ?? '.',
            env: deps.env ?? process.env,
          }),
          prefix: settings.secrets.prefix,
        },
      });
    },
    { prefix: '/api' },
  );
  await app.register(webPlugin, { root: deps.webRoot ?? defaultWebRoot() });
  return app;
}

/**
 * Bodies are JSON or nothing: other content types get 415. An empty JSON body counts as no body, so
 * `POST /api/tasks/1/retry` with `content-type: application/json` and nothing else works.
 */
function installJsonOnlyBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error') as FastifyBodyParser<string>;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body: string, done) => {
    if (body.trim().length === 0) done(null, undefined);
    else parseJson(request, body, done);
  });
}
