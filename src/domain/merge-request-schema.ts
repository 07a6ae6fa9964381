/**
 * @module `GET /api/merge-requests/:id`' answer (diff, notes, gates and their deterministic runs) as zod schemas: the server validates and documents its answers with them (OpenAPI) and the
 * dashboard takes its types from them (`import type`, nothing bundled). Imports only zod. Times are ISO 8601 with a
 * zone.
 */
import { z } from 'zod';
import { IsoTime } from './story-board-schema.js';

export const TestRunSchema = z.object({
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

export const SecretFindingSchema = z.object({
  file: z.string(),
  line: z.number(),
  rule: z.string(),
  message: z.string().describe('The value masked'),
  commit: z.string().nullable().describe('The first commit of the branch whose version of the file held it'),
});

export const SecretScanSchema = z.object({
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

export const LintRunSchema = z.object({
  kind: z.literal('lint'),
  command: z.string(),
  commit: z.string().nullable(),
  passed: z.boolean(),
  exit_code: z.number().nullable(),
  timed_out: z.boolean(),
  output_tail: z.string(),
  duration_ms: z.number().nullable(),
});

export const GateSchema = z
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

export type MergeRequestView = z.infer<typeof MergeRequestViewSchema>;
export type MergeRequestGate = z.infer<typeof GateSchema>;
export type GateRun = NonNullable<MergeRequestGate['run']>;
export type SecretFinding = z.infer<typeof SecretFindingSchema>;
