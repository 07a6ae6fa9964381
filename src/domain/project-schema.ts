/**
 * @module The product pipeline's API shapes as zod schemas: a project proposal (`/api/projects`), its detail page and
 * the publishing approval's preview (what each publisher will send). The server validates and documents its answers
 * with them (OpenAPI) and the dashboard takes its types from them (`import type`), so no shape is copied by hand
 * between `src/` and `web/`. Imports only zod. Times are ISO 8601 with a zone.
 */
import { z } from 'zod';
import { IsoTime } from './story-board-schema.js';

/**
 * Where a project is in its life. `proposed`: waits for the project approval; `deferred`: parked until its date (or a
 * human brings it back); `rejected`: never built; `building`: its story pipeline runs on the project's repository;
 * `awaiting_publish`: the product files are written and the publishing approval is open; `publishing`: the approved
 * `publish_product` task runs; `published`: every target published; `publish_rejected`: a human said no to
 * publishing; `failed`: the build or a publish ended failed (a human can retry it).
 */
export const PROJECT_STATUSES = [
  'proposed',
  'deferred',
  'rejected',
  'building',
  'awaiting_publish',
  'publishing',
  'published',
  'publish_rejected',
  'failed',
] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

/** The four ratings of a proposal, each 1..10 with its reason: the PM rates the market, the Architect the rest. */
export const RATING_NAMES = ['market', 'feasibility', 'effort', 'risk'] as const;
export type RatingName = (typeof RATING_NAMES)[number];

/** Who gave a rating: the PM (its proposal) or the Architect (its `evaluate_feasibility` assessment). */
export const RATERS = ['pm', 'architect'] as const;

export const ProjectRatingSchema = z.object({
  score: z.int().min(1).max(10).describe('1..10; 10 is best (biggest market, most feasible, least effort, least risk)'),
  reason: z.string().describe('Why this score'),
  by: z.enum(RATERS).describe('Who rated it: the PM (market) or the Architect (feasibility, effort, risk)'),
});
export type ProjectRating = z.infer<typeof ProjectRatingSchema>;

const architectRating = ProjectRatingSchema.nullable().describe("Null until the Architect's assessment is in");

export const ProjectRatingsSchema = z
  .object({
    market: ProjectRatingSchema.nullable().describe("The PM's (null only if a proposal lacks it)"),
    feasibility: architectRating,
    effort: architectRating,
    risk: architectRating,
  })
  .meta({ id: 'ProjectRatings' });
export type ProjectRatings = z.infer<typeof ProjectRatingsSchema>;

export const ASSESSMENT_VERDICTS = ['feasible', 'feasible_with_changes', 'not_feasible'] as const;

/**
 * The Architect's assessment of the proposal (its `evaluate_feasibility` task), which runs after the PM's proposal
 * and before the project approval opens. `pending`: it runs; `done`: in (the approval is open); `failed`: the task
 * failed or the Architect was blocked (`error` says why; `projects retry` asks again); `none`: a proposal made before
 * this step existed (the PM rated all four).
 */
export const ProjectAssessmentSchema = z
  .object({
    status: z.enum(['pending', 'done', 'failed', 'none']),
    by: z.string().nullable().describe('The Architect instance that assessed it'),
    task_id: z.int().nullable().describe('Its evaluate_feasibility task'),
    verdict: z.enum(ASSESSMENT_VERDICTS).nullable(),
    estimate: z
      .object({ tokens: z.int(), duration: z.string() })
      .nullable()
      .describe("The Architect's estimate of what building it takes"),
    approach: z.string().nullable().describe('Markdown: the technical approach the Architect recommends'),
    concerns: z.array(z.string()),
    error: z.string().nullable().describe('Why the assessment failed'),
    at: IsoTime.nullable(),
  })
  .meta({ id: 'ProjectAssessment' });
export type ProjectAssessment = z.infer<typeof ProjectAssessmentSchema>;

export const ProjectSummarySchema = z
  .object({
    id: z.int(),
    name: z.string().describe('The product name: its directory under <data-dir>/projects/ and its package name'),
    title: z.string(),
    status: z.enum(PROJECT_STATUSES),
    targets: z.array(z.string()).describe('Publishing targets: npm, github_release, gumroad, vercel, apify'),
    ratings: ProjectRatingsSchema,
    estimated_tokens: z.int().describe("What building it would cost, in tokens (the PM's estimate)"),
    approval_id: z.int().nullable().describe('The open (or last) project approval'),
    deferred_until: IsoTime.nullable().describe('A deferred proposal comes back on this date'),
    created_at: IsoTime,
    updated_at: IsoTime,
  })
  .meta({ id: 'ProjectSummary' });
export type ProjectSummary = z.infer<typeof ProjectSummarySchema>;

export const ProjectDecisionSchema = z.object({
  decision: z.enum(['approved', 'rejected', 'deferred', 'brought_back']),
  by: z.string(),
  reason: z.string().nullable().describe("A rejection's reason or a deferral's notes"),
  at: IsoTime,
});

export const PublicationSchema = z.object({
  target: z.string(),
  status: z.enum(['pending', 'published', 'already_published', 'failed']),
  url: z.string().nullable(),
  error: z.string().nullable(),
  at: IsoTime.nullable(),
});
export type Publication = z.infer<typeof PublicationSchema>;

export const ProjectDetailSchema = ProjectSummarySchema.extend({
  problem: z.string(),
  audience: z.string(),
  spec_markdown: z.string(),
  idea: z.string().describe('The build_product idea it came from'),
  proposed_by: z.string(),
  assessment: ProjectAssessmentSchema,
  decisions: z.array(ProjectDecisionSchema).describe('Every decision on the proposal, oldest first'),
  repo: z.string().nullable().describe("The project's own repository, once approved"),
  story_id: z.int().nullable().describe('The story building it'),
  product_dir: z.string().nullable().describe('<data-dir>/projects/<name>/, once the product files are written'),
  publish_approval_id: z.int().nullable(),
  publications: z.array(PublicationSchema),
}).meta({ id: 'ProjectDetail' });
export type ProjectDetail = z.infer<typeof ProjectDetailSchema>;

export const ProjectListSchema = z.object({ projects: z.array(ProjectSummarySchema) }).meta({ id: 'ProjectList' });
export type ProjectList = z.infer<typeof ProjectListSchema>;

/** One file of the product directory. */
export const ProductFileSchema = z.object({ path: z.string(), size: z.int(), sha256: z.string() });

/** What one publisher will send, exactly as the dry run prints it (secrets by name only). */
export const PublishTargetPlanSchema = z.object({
  target: z.string(),
  secrets: z.array(z.string()).describe('Secret-store names it reads; never their values'),
  requests: z.array(
    z.object({ method: z.string(), url: z.string(), body: z.unknown().optional(), note: z.string().optional() }),
  ),
  files: z.array(ProductFileSchema),
  missing_secrets: z.array(z.string()).describe('Secrets the store lacks: publishing this target would fail'),
});

/**
 * Where a preview came from (`publish/preview-cache.ts`): `computed` now, `fresh` from the cache (the directory's
 * content is unchanged), or `stale`: the directory changed since this preview was computed (a fresh one is being
 * computed; ask again). `digest` is the content the preview shows, `current_digest` the directory's content now.
 */
export const PublishPreviewCacheSchema = z.object({
  state: z.enum(['computed', 'fresh', 'stale']),
  digest: z.string().describe('SHA-256 of the previewed files (path, size, SHA-256 each) and endpoints'),
  current_digest: z.string().describe("The same digest of the directory's content now"),
  computed_at: IsoTime,
});
export type PublishPreviewCache = z.infer<typeof PublishPreviewCacheSchema>;

/** The publishing approval's preview: the product's files, its rendered listings and each publisher's plan. */
export const PublishPreviewSchema = z
  .object({
    approval_id: z.int(),
    project_id: z.int(),
    name: z.string(),
    version: z.string(),
    product_dir: z.string(),
    files: z.array(ProductFileSchema).describe('The whole product directory'),
    listings: z
      .array(z.object({ target: z.string(), file: z.string(), markdown: z.string() }))
      .describe("README.md and each target's listing file, as Markdown for the dashboard to render"),
    plans: z.array(PublishTargetPlanSchema),
    cache: PublishPreviewCacheSchema,
  })
  .meta({ id: 'PublishPreview' });
export type PublishPreview = z.infer<typeof PublishPreviewSchema>;
