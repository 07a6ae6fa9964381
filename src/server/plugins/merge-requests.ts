/**
 * @module `GET /api/merge-requests/:id` (viewer and up): a merge request with its diff (capped at 500 kB, `truncated`
 * says when cut), notes, and the gates of the round it was opened for (verdict, findings, and the deterministic run:
 * test counts, coverage, output tail; secret-scan findings; lint run), plus the earlier rounds' gates. Read only.
 */
import { z } from 'zod';
import { IsoTime } from '../../domain/story-board-schema.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { mergeRequestView } from '../../workflow/merge-request-view.js';
import { idText } from '../../domain/input-policy.js';
import { ErrorResponseSchema } from '../error-handler.js';

const TestRunSchema = z.object({
  kind: z.literal('tests'),
  command: z.string(),
  commit: z.string().nullable(),
  passed: z.boolean(),
  exit_code: z.number().nullable(),
  timed_out: z.boolean(),
  counts: z
    .object({ passed: z.number(), failed: z.number(), skipped: z.number(), runner: z.string() })
    .nullable()
    .describe('Read from the runner summary; null when the output has none'),
  coverage: z.number().nullable().describe('Total coverage percent, when the output reports it'),
  coverage_threshold: z.number().nullable(),
  output_tail: z.string().describe('The last lines of the run; untrusted text'),
  duration_ms: z.number().nullable(),
});

const SecretFindingSchema = z.object({
  file: z.string(),
  line: z.number(),
  rule: z.string(),
  message: z.string().describe('The value masked'),
  commit: z.string().nullable().describe('The first commit of the branch whose version of the file held it'),
});

const SecretScanSchema = z.object({
  kind: z.literal('secret_scan'),
  scanner: z.string(),
  passed: z.boolean(),
  findings: z.array(SecretFindingSchema).describe('Secrets the branch head still holds: the gate fails'),
  history_findings: z
    .array(SecretFindingSchema)
    .describe('Secrets only earlier commits of the branch held: the merge squashes them out of the history'),
  squash: z.string().nullable().describe('Why the merge squashes the branch, else null'),
  duration_ms: z.number().nullable(),
});

const LintRunSchema = z.object({
  kind: z.literal('lint'),
  command: z.string(),
  commit: z.string().nullable(),
  passed: z.boolean(),
  exit_code: z.number().nullable(),
  timed_out: z.boolean(),
  output_tail: z.string(),
  duration_ms: z.number().nullable(),
});

const GateSchema = z
  .object({
    name: z.enum(['review', 'tests', 'security']),
    task_id: z.int().nullable(),
    task_status: z.string().nullable(),
    passed: z.boolean().nullable().describe("The workflow's verdict (the deterministic run decides); null: none yet"),
    findings: z.array(z.string()),
    summary: z.string().nullable().describe("The agent's summary"),
    agent_verdict: z.string().nullable().describe('review: approve | request_changes; security: pass | fail'),
    agent_counts: z.object({ passed: z.number(), failed: z.number(), skipped: z.number() }).nullable(),
    run: z
      .discriminatedUnion('kind', [TestRunSchema, SecretScanSchema, LintRunSchema])
      .nullable()
      .describe('The deterministic run: tests -> test run, security -> secret scan, review -> lint; null if none ran'),
  })
  .meta({ id: 'MergeRequestGate' });

export const MergeRequestViewSchema = z
  .object({
    id: z.int(),
    repo: z.object({ id: z.int(), name: z.string() }).nullable(),
    workflow_id: z.int().nullable(),
    title: z.string(),
    description: z.string(),
    source_branch: z.string(),
    target_branch: z.string(),
    status: z.string(),
    head_sha: z.string().nullable(),
    target_sha: z.string().nullable(),
    merge_sha: z.string().nullable(),
    created_at: IsoTime,
    updated_at: IsoTime,
    diff: z.object({
      base: z.string(),
      head: z.string(),
      text: z.string().nullable().describe('Unified diff of base...head; untrusted text'),
      bytes: z.int(),
      truncated: z.boolean().describe('The diff was longer than limit_bytes and was cut at a line end'),
      limit_bytes: z.int(),
      error: z.string().nullable(),
    }),
    notes: z.array(
      z.object({
        id: z.int(),
        author: z.string(),
        kind: z.string(),
        verdict: z.string().nullable(),
        body: z.string(),
        created_at: IsoTime,
      }),
    ),
    round: z.int().nullable().describe('The workflow round the merge request was opened (or refreshed) for'),
    gates: z.array(GateSchema),
    earlier_rounds: z.array(z.object({ round: z.int(), gates: z.array(GateSchema) })),
  })
  .meta({ id: 'MergeRequest' });

const IdParams = z.object({ id: idText('merge request id') });

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

export interface MergeRequestsOptions {
  db: Kysely<Database>;
}

export const mergeRequestsPlugin: FastifyPluginAsyncZod<MergeRequestsOptions> = async (app, { db }) => {
  app.get(
    '/merge-requests/:id',
    {
      schema: {
        summary: 'A merge request with its diff, notes and gate results',
        tags: ['merge requests'],
        params: IdParams,
        response: { 200: MergeRequestViewSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => mergeRequestView(db, request.params.id),
  );
};
