/**
 * @module The approval routes' answers (`GET /api/approvals`, approve, reject) as zod schemas: the server validates and documents its answers with them (OpenAPI) and the
 * dashboard takes its types from them (`import type`, nothing bundled). Imports only zod. Times are ISO 8601 with a
 * zone.
 */
import { z } from 'zod';
import { IsoTime } from './story-board-schema.js';

/** The approval statuses (`APPROVAL_STATUSES` of workflow/approvals.ts; the approvals plugin checks the two agree). */
export const APPROVAL_STATES = ['pending', 'approved', 'rejected', 'deferred'] as const;

export const ApprovalSchema = z
  .object({
    id: z.int(),
    kind: z.enum(['spec', 'merge', 'project', 'publish']),
    status: z.enum(APPROVAL_STATES),
    subject_type: z.string(),
    subject_id: z.string(),
    title: z.string(),
    body: z.string(),
    workflow_id: z.int().nullable(),
    decided_by: z.string().nullable(),
    reason: z.string().nullable(),
    decided_at: IsoTime.nullable(),
    created_at: IsoTime,
    merge_request_id: z
      .int()
      .nullable()
      .describe('A merge approval: its merge request (GET /api/merge-requests/:id shows diff and gates); else null'),
  })
  .meta({ id: 'Approval' });

export type Approval = z.infer<typeof ApprovalSchema>;
