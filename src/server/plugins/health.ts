/**
 * @module `GET /health` (no token): whether the database answers, which engine it is, the live agents by status (the
 * rows of gone processes counted apart) and the version. 200 when the database answers, 503 (`degraded`) when it does not, for load balancers and `docker ps`.
 * `GET /ready` (no token, when the process gives a `Readiness`): 200 when the database answers, the schema is this
 * build's and the process's loops run; 503 with the reasons otherwise (`server/readiness.ts`).
 */
import { sql } from 'kysely';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { listLiveAgents } from '../../agents/agent-registry.js';
import type { DatabaseHandle } from '../../store/open-database.js';
import type { Readiness } from '../readiness.js';
import type { AgentStatus } from '../../store/schema.js';

const AGENT_STATUSES = [
  'idle',
  'working',
  'waiting',
  'rate_limited',
  'stopped',
  'crashed',
] as const satisfies readonly AgentStatus[];

const HealthSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    db: z.object({ ok: z.boolean(), dialect: z.enum(['sqlite', 'postgres']) }),
    agents: z
      .record(z.enum(AGENT_STATUSES), z.int())
      .describe('Live agent instances by status (a silent one counts as crashed); gone ones are in agents_folded.'),
    agents_folded: z
      .object({ stopped: z.int(), crashed: z.int() })
      .describe('Agents of processes that are gone (stopped or crashed over 10 minutes ago), not counted in agents.'),
    version: z.string(),
  })
  .meta({ id: 'Health' });

export type HealthReport = z.infer<typeof HealthSchema>;

const ReadySchema = z
  .object({
    ready: z.boolean(),
    database: z.boolean().describe('The database answers.'),
    schema: z.boolean().describe('Every migration of this build is applied (`autodev db migrate`).'),
    loops: z
      .record(z.string(), z.boolean())
      .describe('Each loop of this process (server, agents, scheduler): running.'),
    reasons: z.array(z.string()).describe('Why not ready; empty when ready.'),
  })
  .meta({ id: 'Ready' });

export interface HealthOptions {
  handle: DatabaseHandle;
  version: string;
  clock: () => number;
  /** The process's readiness; without it `/ready` says ready whenever the database answers. */
  readiness?: Readiness | undefined;
}

export async function checkHealth(handle: DatabaseHandle, version: string, now: number): Promise<HealthReport> {
  const agents = Object.fromEntries(AGENT_STATUSES.map((status) => [status, 0])) as Record<AgentStatus, number>;
  let folded = { stopped: 0, crashed: 0 };
  let ok = true;
  try {
    await sql`select 1`.execute(handle.db);
  } catch {
    ok = false;
  }
  if (ok) {
    try {
      const listing = await listLiveAgents(handle.db, { now });
      for (const row of listing.agents) if (row.status in agents) agents[row.status]++;
      folded = listing.folded;
    } catch {
      // No agents table yet (waiting for `autodev db migrate`): alive all the same, and /ready says why not ready.
    }
  }
  return {
    status: ok ? 'ok' : 'degraded',
    db: { ok, dialect: handle.dialect.name },
    agents,
    agents_folded: folded,
    version,
  };
}

export const healthPlugin: FastifyPluginAsyncZod<HealthOptions> = async (app, options) => {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness and database check',
        tags: ['health'],
        security: [],
        response: { 200: HealthSchema, 503: HealthSchema },
      },
    },
    async (request, reply) => {
      const report = await checkHealth(options.handle, options.version, options.clock());
      if (!report.db.ok) request.log.warn('health check: the database did not answer');
      return reply.code(report.db.ok ? 200 : 503).send(report);
    },
  );
  app.get(
    '/ready',
    {
      schema: {
        summary: "Readiness: database, schema version and this process's loops",
        tags: ['health'],
        security: [],
        response: { 200: ReadySchema, 503: ReadySchema },
      },
    },
    async (_request, reply) => {
      const report = options.readiness
        ? await options.readiness.check(options.handle)
        : await databaseOnlyReadiness(options.handle);
      return reply.code(report.ready ? 200 : 503).send(report);
    },
  );
};

async function databaseOnlyReadiness(handle: DatabaseHandle) {
  let database = true;
  try {
    await sql`select 1`.execute(handle.db);
  } catch {
    database = false;
  }
  return {
    ready: database,
    database,
    schema: true,
    loops: {},
    reasons: database ? [] : ['the database does not answer'],
  };
}
