/**
 * @module The agent routes: `GET /api/me` (the caller's token role), `GET /api/agents` (live agent rows, those of gone
 * processes counted unless `?all=true`, rate-limited providers, today's usage against the daily budget),
 * `POST /api/agents/:role/instructions` (approver+) and `GET /api/instructions` (what was sent, and delivered).
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { listLiveAgents } from '../../agents/agent-registry.js';
import { addInstruction, MAX_INSTRUCTION_CHARS } from '../../agents/instructions.js';
import { startOfUtcDay, usageSince } from '../../agents/session-store.js';
import { isRole, ROLES, type Role } from '../../domain/roles.js';
import { AutodevError } from '../../errors.js';
import { refuseUnstorable } from '../../domain/input-policy.js';
import type { Database } from '../../store/schema.js';
import type { Kysely } from 'kysely';
import { ErrorResponseSchema } from '../error-handler.js';
import { requireRole } from './auth.js';
import { AgentsResponseSchema, InstructionSchema, MeSchema } from '../../domain/agent-schema.js';

const MAX_LISTED_INSTRUCTIONS = 200;

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

const roleText = z
  .string()
  .refine(isRole, { message: `must be one of ${ROLES.join(', ')}` })
  .transform((value) => value as Role);

const RoleParams = z.object({ role: roleText });
const InstructionBody = z.strictObject({
  message: z
    .string()
    .trim()
    .min(1, 'the message must not be empty')
    .max(MAX_INSTRUCTION_CHARS, `the message must be at most ${MAX_INSTRUCTION_CHARS} characters`)
    .superRefine(refuseUnstorable),
});
const InstructionsQuery = z.strictObject({ role: roleText.optional() });
const AgentsQuery = z.strictObject({
  all: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .describe('true (or 1): list the agents of gone processes too, instead of counting them.'),
});

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

export interface AgentsOptions {
  db: Kysely<Database>;
  clock: () => number;
  /** tokens.daily_budget (0: none). */
  dailyBudget: number;
}

async function readInstruction(db: Kysely<Database>, id: number) {
  const row = await db.selectFrom('instructions').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new AutodevError('NOT_FOUND', `instruction ${id} does not exist`);
  return instructionToJson(row);
}

function instructionToJson(row: {
  id: number;
  role: string;
  message: string;
  created_by: string;
  created_at: number;
  delivered_at: number | null;
  delivered_to_session_id: number | null;
}) {
  return {
    id: Number(row.id),
    role: row.role,
    message: row.message,
    created_by: row.created_by,
    created_at: iso(Number(row.created_at)),
    delivered_at: isoOrNull(row.delivered_at === null ? null : Number(row.delivered_at)),
    delivered_to_session_id: row.delivered_to_session_id === null ? null : Number(row.delivered_to_session_id),
  };
}

export const agentsPlugin: FastifyPluginAsyncZod<AgentsOptions> = async (app, { db, clock, dailyBudget }) => {
  app.get(
    '/me',
    {
      schema: {
        summary: 'The token making the request: its name and role (the dashboard hides what the role may not do)',
        tags: ['agents'],
        response: {
          200: MeSchema,
          ...errors(401),
        },
      },
    },
    async (request) => ({ name: request.apiToken?.name ?? 'unknown', role: request.apiToken?.role ?? 'viewer' }),
  );

  app.get(
    '/agents',
    {
      schema: {
        summary: 'Agents, rate-limited providers and usage today',
        tags: ['agents'],
        querystring: AgentsQuery,
        response: { 200: AgentsResponseSchema, ...errors(400, 401) },
      },
    },
    async (request) => {
      const now = clock();
      const all = request.query.all === 'true' || request.query.all === '1';
      const { agents, folded } = await listLiveAgents(db, { now, all });
      const limits = await db
        .selectFrom('provider_limits')
        .select(['provider', 'limited_until', 'reason'])
        .where('limited_until', '>', now)
        .orderBy('provider')
        .execute();
      const today = await usageSince(db, startOfUtcDay(now));
      return {
        agents: agents.map((a) => ({
          instance_id: a.instance_id,
          role: a.role,
          status: a.status,
          current_task_id: a.current_task_id === null ? null : Number(a.current_task_id),
          provider: a.provider,
          detail: a.status_detail,
          host: a.host,
          pid: Number(a.pid),
          heartbeat_at: iso(Number(a.heartbeat_at)),
          started_at: iso(Number(a.started_at)),
        })),
        folded,
        provider_limits: limits.map((l) => ({
          provider: l.provider,
          limited_until: iso(Number(l.limited_until)),
          reason: l.reason,
        })),
        today: {
          tokens_in: today.tokensIn,
          tokens_out: today.tokensOut,
          tokens: today.tokens,
          cost_usd: today.costUsd,
          daily_budget: dailyBudget,
        },
      };
    },
  );

  app.post(
    '/agents/:role/instructions',
    {
      onRequest: requireRole('approver'),
      schema: {
        summary: "Leave an instruction for a role's next session",
        tags: ['agents'],
        params: RoleParams,
        body: InstructionBody,
        response: { 201: InstructionSchema, ...errors(400, 401, 403, 413, 415) },
      },
    },
    async (request, reply) => {
      const id = await addInstruction(db, {
        role: request.params.role,
        message: request.body.message,
        createdBy: `api:${request.apiToken?.name ?? 'unknown'}`,
        now: clock(),
      });
      return reply.code(201).send(await readInstruction(db, id));
    },
  );

  app.get(
    '/instructions',
    {
      schema: {
        summary: `Instructions, newest first (at most ${MAX_LISTED_INSTRUCTIONS})`,
        tags: ['agents'],
        querystring: InstructionsQuery,
        response: { 200: z.object({ instructions: z.array(InstructionSchema) }), ...errors(400, 401) },
      },
    },
    async (request) => {
      let query = db.selectFrom('instructions').selectAll();
      if (request.query.role !== undefined) query = query.where('role', '=', request.query.role);
      const rows = await query.orderBy('id', 'desc').limit(MAX_LISTED_INSTRUCTIONS).execute();
      return { instructions: rows.map(instructionToJson) };
    },
  );
};
