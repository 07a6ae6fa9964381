/**
 * @module The operations routes (any token unless said): `GET /api/logs` (the log lines every process recorded, with
 * `autodev logs`'s filters); `GET /api/agents/status` (per role: desired, running, processes),
 * `POST /api/agents/:role/scale {"replicas"}` and `POST /api/agents/:role/restart` (admins); `GET /api/costs?by=&since=`.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DEFAULT_LOG_LIMIT, MAX_LOG_LIMIT, parseLogFilters, QUERY_LEVELS } from '../../logs/log-filters.js';
import { MAX_REPLICAS_PER_ROLE, requestRestart, scaleRole } from '../../agents/agent-controls.js';
import { readAgentsOverview } from '../../agents/agents-overview.js';
import { costReport } from '../../agents/cost-report.js';
import { COST_GROUPINGS, parseGrouping } from '../../domain/cost-grouping.js';
import { CostsResponseSchema } from '../../domain/costs-schema.js';
import { parseSinceText } from '../../domain/since-text.js';
import { isRole, ROLES, type Role } from '../../domain/roles.js';
import { recentProcessLogs } from '../../logs/read-process-logs.js';
import type { DatabaseHandle } from '../../store/open-database.js';
import { ErrorResponseSchema } from '../error-handler.js';
import { requireRole } from './auth.js';

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

const LogLineSchema = z.object({
  id: z.int(),
  time: z.iso.datetime({ offset: true }),
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']),
  process_id: z.string(),
  service: z.string().describe('up, dashboard, webhook, scheduler or agent:ROLE'),
  host: z.string(),
  pid: z.int(),
  role: z.string().nullable(),
  component: z.string().nullable(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()).nullable(),
});

const LogsQuery = z.strictObject({
  role: z
    .string()
    .optional()
    .describe(`Only lines about this role: ${ROLES.join(', ')}.`),
  level: z
    .string()
    .optional()
    .describe(`Only lines at this level and above: ${QUERY_LEVELS.join(', ')}.`),
  since: z.string().optional().describe('Only lines since then: 30m, 1h, 7d or an ISO time.'),
  limit: z.coerce.number().int().min(1).max(MAX_LOG_LIMIT).optional(),
});

const isoTime = z.iso.datetime({ offset: true });

const RoleStatusSchema = z.object({
  role: z.string(),
  replicas: z.int().nullable().describe('Workers wanted across every process; null: per_process in each.'),
  per_process: z.int(),
  running: z.int().describe('Workers running now (not stopped or crashed), across every process.'),
  restart_generation: z.int(),
  processes: z.array(
    z.object({
      process_id: z.string(),
      host: z.string(),
      pid: z.int(),
      heartbeat_at: isoTime,
      workers: z.array(
        z.object({
          instance_id: z.string(),
          status: z.string(),
          current_task_id: z.int().nullable(),
          provider: z.string().nullable(),
        }),
      ),
    }),
  ),
});

const RoleParams = z.object({
  role: z
    .string()
    .refine(isRole, { message: `must be one of ${ROLES.join(', ')}` })
    .transform((value) => value as Role),
});
const ScaleBody = z.strictObject({ replicas: z.int().min(0).max(MAX_REPLICAS_PER_ROLE) });

const CostsQuery = z.strictObject({
  by: z
    .string()
    .optional()
    .describe(`${COST_GROUPINGS.join(', ')} (default role)`),
  since: z.string().optional().describe('Only sessions started since then: 30m, 1h, 7d or an ISO time.'),
});

export interface OperationsOptions {
  handle: DatabaseHandle;
  clock: () => number;
}

export const operationsPlugin: FastifyPluginAsyncZod<OperationsOptions> = async (app, { handle, clock }) => {
  app.get(
    '/logs',
    {
      schema: {
        summary: 'Log lines every process recorded (warn and above, lifecycle lines at info), newest last',
        tags: ['operations'],
        querystring: LogsQuery,
        response: { 200: z.object({ lines: z.array(LogLineSchema) }), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { limit, role, level, since } = request.query;
      const filters = parseLogFilters({ role, level, since }, clock(), {
        role: 'role',
        level: 'level',
        since: 'since',
      });
      const lines = await recentProcessLogs(handle, filters, limit ?? DEFAULT_LOG_LIMIT);
      return { lines: lines.map((line) => ({ ...line, time: new Date(line.time).toISOString() })) };
    },
  );

  const roleStatus = async (role?: Role) => {
    const roles = await readAgentsOverview(handle.db, role ? [role] : ROLES, clock());
    return roles.map((r) => ({
      ...r,
      processes: r.processes.map((p) => ({ ...p, heartbeat_at: new Date(p.heartbeat_at).toISOString() })),
    }));
  };

  app.get(
    '/costs',
    {
      schema: {
        summary: "The agents' tokens and cost by task, story, role, provider or day, with totals",
        tags: ['operations'],
        querystring: CostsQuery,
        response: { 200: CostsResponseSchema, ...errors(400, 401) },
      },
    },
    async (request) => {
      const by = parseGrouping(request.query.by, 'by');
      const since =
        request.query.since === undefined ? undefined : parseSinceText(request.query.since, clock(), 'since');
      return costReport(handle.db, { by, since });
    },
  );

  app.get(
    '/agents/status',
    {
      schema: {
        summary: 'Per role: desired and running workers, and the live processes running it',
        tags: ['operations'],
        response: { 200: z.object({ roles: z.array(RoleStatusSchema) }), ...errors(401) },
      },
    },
    async () => ({ roles: await roleStatus() }),
  );

  app.post(
    '/agents/:role/scale',
    {
      onRequest: requireRole('admin'),
      schema: {
        summary: "Set a role's workers across every process (0 stops its work everywhere)",
        tags: ['operations'],
        params: RoleParams,
        body: ScaleBody,
        response: { 200: RoleStatusSchema, ...errors(400, 401, 403, 415) },
      },
    },
    async (request) => {
      const actor = `api:${request.apiToken?.name ?? 'unknown'}`;
      await scaleRole(handle.db, request.params.role, request.body.replicas, actor, clock());
      return (await roleStatus(request.params.role))[0]!;
    },
  );

  app.post(
    '/agents/:role/restart',
    {
      onRequest: requireRole('admin'),
      schema: {
        summary: "Restart a role's workers in every process (a new restart generation)",
        tags: ['operations'],
        params: RoleParams,
        response: { 200: RoleStatusSchema, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      await requestRestart(handle.db, request.params.role, `api:${request.apiToken?.name ?? 'unknown'}`, clock());
      return (await roleStatus(request.params.role))[0]!;
    },
  );
};
