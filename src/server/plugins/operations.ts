/**
 * @module The operations routes (any token unless said): `GET /api/logs` (the log lines every process recorded, with
 * `autodev logs`'s filters).
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DEFAULT_LOG_LIMIT, MAX_LOG_LIMIT, parseLogFilters, QUERY_LEVELS } from '../../logs/log-filters.js';
import { ROLES } from '../../domain/roles.js';
import { recentProcessLogs } from '../../logs/read-process-logs.js';
import type { DatabaseHandle } from '../../store/open-database.js';
import { ErrorResponseSchema } from '../error-handler.js';

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
};
