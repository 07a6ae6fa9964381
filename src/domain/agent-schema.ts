/**
 * @module The agent routes' answers (`GET /api/agents`, `GET /api/instructions`, `GET /api/me`) as zod schemas, for the
 * server's OpenAPI and the dashboard's types (`import type`). Imports only zod. Times are ISO 8601 with a zone.
 */
import { z } from 'zod';
import { IsoTime } from './story-board-schema.js';

const isoTime = IsoTime;

export const AgentSchema = z.object({
  instance_id: z.string(),
  role: z.string(),
  status: z
    .enum(['idle', 'working', 'waiting', 'rate_limited', 'stopped', 'crashed'])
    .describe('waiting: not claiming because no provider the role may use can run; detail says why and what to do.'),
  current_task_id: z.int().nullable(),
  provider: z.string().nullable(),
  detail: z.string().nullable(),
  host: z.string(),
  pid: z.int(),
  heartbeat_at: isoTime,
  started_at: isoTime,
});

export const AgentsResponseSchema = z.object({
  agents: z.array(AgentSchema).describe('Live agents; every agent with ?all=true.'),
  folded: z
    .object({ stopped: z.int(), crashed: z.int() })
    .describe(
      'Agents of processes that are gone (stopped or crashed, last heartbeat over 10 minutes ago), counted instead of ' +
        'listed; zeros with ?all=true.',
    ),
  provider_limits: z.array(z.object({ provider: z.string(), limited_until: isoTime, reason: z.string() })),
  today: z.object({
    tokens_in: z.number(),
    tokens_out: z.number(),
    tokens: z.number(),
    cost_usd: z.number(),
    daily_budget: z.int().describe('tokens.daily_budget; 0 means no budget.'),
  }),
});

export const InstructionSchema = z
  .object({
    id: z.int(),
    role: z.string(),
    message: z.string(),
    created_by: z.string(),
    created_at: isoTime,
    delivered_at: isoTime.nullable(),
    delivered_to_session_id: z.int().nullable(),
  })
  .meta({ id: 'Instruction' });

export const MeSchema = z.object({ name: z.string(), role: z.enum(['viewer', 'approver', 'admin']) });

export type Me = z.infer<typeof MeSchema>;
export type Agent = z.infer<typeof AgentSchema>;
export type AgentsResponse = z.infer<typeof AgentsResponseSchema>;
export type Instruction = z.infer<typeof InstructionSchema>;
