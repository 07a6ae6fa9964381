/**
 * @module The structured result each task type's session hands back through `submit_result`: one zod contract per
 * type, the validator the worker applies, and the JSON Schema the tool advertises. Storing and acting on results is
 * left to the worker and the workflow.
 */
import { z } from 'zod';
import { TASK_TYPES, type TaskType } from '../domain/roles.js';
import { PRODUCT_NAME } from '../publish/product-dir.js';
import { PUBLISH_TARGETS } from '../publish/publisher.js';

// ---------------------------------------------------------------------------------------------------------------------
// Shared pieces

const text = (description: string) => z.string().trim().min(1).describe(description);
const projectRating = (description: string) =>
  z.object({ score: z.number().int().min(1).max(10), reason: text('Why this score') }).describe(description);
const lineNumber = z.number().int().min(1).describe('1-based line number');
const repoPath = (description: string) => z.string().trim().min(1).describe(description);

export const REVIEW_SEVERITIES = ['critical', 'major', 'minor', 'info'] as const;
export const SECURITY_SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;

const storySchema = z.object({
  title: text('Short, specific title'),
  body: text('The story in markdown: "As a <user>, I want <capability>, so that <benefit>", plus context'),
  acceptance_criteria: z.array(text('One testable criterion')).min(1).describe('Testable acceptance criteria'),
  priority: z.number().int().min(1).max(10).optional().describe('1..10, 10 most urgent'),
  labels: z.array(z.string().trim().min(1)).optional(),
});

const commitSchema = z.object({
  sha: z
    .string()
    .regex(/^[0-9a-fA-F]{7,64}$/, 'expected a git commit sha (7 to 64 hex characters)')
    .describe('Commit sha as printed by git'),
  message: text('The commit message subject'),
});

const implementationFields = {
  branch: text('The branch the commits are on (your working branch, never the default branch)'),
  commits: z.array(commitSchema).min(1).describe('Every commit you made, oldest first'),
  files_changed: z.array(repoPath('Repository-relative path')).min(1).describe('Files added, modified or deleted'),
  tests_run: z
    .object({
      command: text('The exact command you ran'),
      passed: z.boolean().describe('true only if the command exited 0 and reported no failing tests'),
    })
    .optional()
    .describe('The test command you ran last and its outcome'),
};

// ---------------------------------------------------------------------------------------------------------------------
// Per task type: the fields a "done" result must carry, and the checks that span fields.

type Refinement = (value: Record<string, unknown>, ctx: z.RefinementCtx) => void;

interface ContractDefinition {
  description: string;
  fields: Record<string, z.ZodType>;
  refine?: Refinement;
}

const DEFINITIONS = {
  analyze_repo: {
    description: 'An analysis of the repository: what it is, how it is built and tested, and where work is needed.',
    fields: {
      overview: text('Markdown overview: purpose, architecture, notable conventions'),
      languages: z.array(z.string().trim().min(1)).min(1).describe('Main languages, most used first'),
      components: z
        .array(z.object({ path: repoPath('Directory or file'), purpose: text('What it does') }))
        .describe('The main parts of the codebase'),
      commands: z
        .object({
          build: z.string().optional(),
          test: z.string().optional(),
          lint: z.string().optional(),
          run: z.string().optional(),
        })
        .describe('Commands found in the repository (only ones you saw defined)'),
      observations: z.array(text('One observation')).describe('Gaps, risks, tech debt worth a story'),
      suggested_stories: z.array(storySchema).optional().describe('Stories you recommend creating'),
    },
  },
  create_epic: {
    description: 'An epic and the user stories it breaks down into.',
    fields: {
      epic: z
        .object({
          title: text('Epic title'),
          body: text('Markdown: goal, scope, out of scope, success measures'),
        })
        .describe('The epic'),
      stories: z.array(storySchema).min(1).describe('The stories that deliver the epic, in suggested order'),
    },
  },
  create_user_story: {
    description: 'One or more user stories with acceptance criteria.',
    fields: {
      stories: z.array(storySchema).min(1).describe('The user stories'),
    },
  },
  prioritize_backlog: {
    description: 'The backlog ranked, most important first, each item with a priority and a reason.',
    fields: {
      ranked: z
        .array(
          z.object({
            ref: text('The item as identified in the task data (issue number, task id or title)'),
            title: text('Item title'),
            priority: z.number().int().min(1).max(10).describe('1..10, 10 most urgent'),
            rationale: text('Why this rank: value, urgency, risk, dependencies'),
          }),
        )
        .describe('Items, most important first'),
    },
  },
  build_product: {
    description:
      'A project proposal for a product idea, for a human to approve (it is then built and, after a second approval, ' +
      'published), reject or defer.',
    fields: {
      name: z
        .string()
        .regex(PRODUCT_NAME, 'lowercase letters, digits, ".", "_" or "-", starting with a letter or digit')
        .describe('Product name: its directory, repository and package name, e.g. "hook-check"'),
      title: text('Human title, e.g. "HookCheck: Stripe webhook tester"'),
      problem: text('The problem it solves'),
      audience: text('Who would use or buy it, and why'),
      spec_markdown: text('Markdown spec: features, scope, out of scope, technical approach, deliverables'),
      ratings: z
        .object({ market: projectRating('Market: how many would want it (10: a big market)') })
        .describe(
          'Your honest market rating, 1..10 (10 best) with its reason; the Architect rates feasibility, effort and ' +
            'risk next (evaluate_feasibility)',
        ),
      targets: z.array(z.enum(PUBLISH_TARGETS)).min(1).describe('Where to publish it'),
      estimated_tokens: z.number().int().min(1).describe('What building it would cost, in tokens'),
    },
  },
  evaluate_feasibility: {
    description:
      "The Architect's assessment of a product proposal's spec (in the task payload): feasibility, effort and risk " +
      'rated 1..10 (10 best) with a reason each, an estimate of what building it takes, and your concerns.',
    fields: {
      verdict: z
        .enum(['feasible', 'feasible_with_changes', 'not_feasible'])
        .describe('not_feasible: it should not be built as specified (say why in approach and concerns)'),
      feasibility: projectRating('Feasibility: can it be built here as specified (10: certainly)'),
      effort: projectRating('Effort: how little work (10: very little)'),
      risk: projectRating('Risk: how little risk (10: almost none)'),
      estimate: z
        .object({
          tokens: z.number().int().min(1).describe('What building it would cost, in tokens'),
          duration: text('How long, e.g. "two days of agent work"'),
        })
        .describe('Your estimate of what building it takes'),
      approach: text('Markdown: the technical approach you recommend, or why it cannot be done'),
      concerns: z.array(text('One concern: a risk, a gap in the spec, a question a human must answer')),
    },
  },
  write_spec: {
    description: 'An implementation spec a human can approve and a builder can follow.',
    fields: {
      spec_markdown: text('Markdown spec: scope (in and out), design, data and API changes, edge cases'),
      files_to_touch: z.array(repoPath('Repository-relative path')).min(1).describe('Files to add or change'),
      test_plan: text('Markdown: the tests that will prove the acceptance criteria'),
      risks: z.array(text('One risk and its mitigation')),
    },
  },
  implement_feature: {
    description: 'The feature implemented as commits on the working branch.',
    fields: implementationFields,
  },
  implement_fix: {
    description: 'The fix implemented as commits on the working branch.',
    fields: {
      ...implementationFields,
      root_cause: z.string().trim().min(1).optional().describe('What caused the bug or the findings'),
    },
  },
  review_mr: {
    description: 'A code review of the merge request with a verdict.',
    fields: {
      verdict: z.enum(['approve', 'request_changes']),
      findings: z
        .array(
          z.object({
            severity: z.enum(REVIEW_SEVERITIES),
            file: repoPath('Repository-relative path').optional(),
            line: lineNumber.optional(),
            message: text('What is wrong and what to do instead'),
          }),
        )
        .describe('Concrete findings; empty when there is nothing to report'),
    },
    refine: (value, ctx) => {
      const findings = value.findings as { severity: string }[];
      if (value.verdict === 'approve' && findings.some((f) => f.severity === 'critical')) {
        ctx.addIssue({ code: 'custom', path: ['verdict'], message: 'cannot approve with a critical finding' });
      }
      if (value.verdict === 'request_changes' && !findings.some((f) => f.severity !== 'info')) {
        ctx.addIssue({
          code: 'custom',
          path: ['findings'],
          message: 'request_changes needs at least one critical, major or minor finding saying what to change',
        });
      }
    },
  },
  run_tests: {
    description: 'The test suite run, with exact counts.',
    fields: {
      command: text('The exact test command you ran'),
      passed: z.number().int().min(0),
      failed: z.number().int().min(0),
      skipped: z.number().int().min(0),
      coverage_percent: z.number().min(0).max(100).optional().describe('Only if the runner measured it'),
      failures: z
        .array(z.object({ name: text('Test name'), message: text('Failure message, trimmed') }))
        .describe('One entry per failing test'),
      tests_added: z.array(repoPath('Repository-relative path')).optional().describe('Test files you added or changed'),
      commits: z.array(commitSchema).optional().describe('Commits you made (new or updated tests)'),
    },
    refine: (value, ctx) => {
      const { passed, failed, skipped } = value as { passed: number; failed: number; skipped: number };
      if (passed + failed + skipped === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['passed'],
          message: 'no tests were run; report status "blocked" if the suite cannot run',
        });
      }
      if (failed > 0 && (value.failures as unknown[]).length === 0) {
        ctx.addIssue({ code: 'custom', path: ['failures'], message: 'failed > 0 but no failures are listed' });
      }
    },
  },
  security_scan: {
    description: 'A security review of the change with a pass/fail verdict.',
    fields: {
      verdict: z.enum(['pass', 'fail']),
      findings: z
        .array(
          z.object({
            severity: z.enum(SECURITY_SEVERITIES),
            category: text('e.g. "A03 Injection", "secret", "dependency"'),
            file: repoPath('Repository-relative path').optional(),
            line: lineNumber.optional(),
            message: text('The weakness, how it could be exploited, and the fix; never the secret itself'),
          }),
        )
        .describe('Findings; empty when there is nothing to report'),
    },
    refine: (value, ctx) => {
      const findings = value.findings as { severity: string }[];
      if (value.verdict === 'pass' && findings.some((f) => f.severity === 'critical')) {
        ctx.addIssue({ code: 'custom', path: ['verdict'], message: 'a critical finding means the verdict is "fail"' });
      }
    },
  },
  merge: {
    description: 'The approved merge, carried out through the forge (deterministic: no session).',
    fields: {
      outcome: z.enum(['merged', 'refused', 'skipped']),
      sha: z.string().trim().min(1).optional().describe('The merge (or squash) commit'),
      reason: z.string().trim().min(1).optional().describe('Why the forge refused, or why nothing was merged'),
    },
  },
  deploy: {
    description: 'The deployment and its outcome.',
    fields: {
      environment: text('e.g. "staging", "production"'),
      outcome: z.enum(['succeeded', 'failed', 'rolled_back']),
      url: z.url().optional().describe('Where the deployed service can be reached'),
      version: z.string().trim().min(1).optional().describe('Commit sha, tag or image deployed'),
      steps: z
        .array(z.object({ command: text('Command run'), ok: z.boolean() }))
        .describe('The commands you ran, in order'),
      rollback: text('How to roll this deployment back (or what you rolled back)'),
    },
  },
  create_project_repo: {
    description: "An approved project's own repository, created and registered (deterministic: no session).",
    fields: {
      repo_id: z.number().int().min(1).describe('The registered repository'),
      repo: text('Its name'),
      location: text('Its local git repository (GitLab/GitHub: the clone at <data-dir>/projects/<name>)'),
      forge: z.enum(['local', 'gitlab', 'github']).optional().describe('Where it was made (products.forge)'),
      remote_url: z.string().optional().describe('GitLab/GitHub: its token-free clone URL'),
      web_url: z.string().optional().describe('GitLab/GitHub: its page, when this attempt made or found it'),
    },
  },
  publish_product: {
    description: 'The approved product published to its target.',
    fields: {
      target: text('Where it was published, e.g. "npm", "github", "gumroad"'),
      outcome: z.enum(['published', 'failed']),
      url: z.url().optional().describe('The public listing or package page'),
      version: z.string().trim().min(1).optional(),
      artifacts: z.array(repoPath('File published')).optional(),
    },
  },
  static_analysis: {
    description: 'Confirmed bugs found by static analysis and reading, each ready to become an issue.',
    fields: {
      tools_run: z.array(text('Command')).describe('Analysis commands you ran'),
      issues: z
        .array(
          z.object({
            title: text('Issue title naming the bug'),
            body: text('Markdown: what is wrong, evidence, how to reproduce or why it fails, suggested fix'),
            severity: z.enum(REVIEW_SEVERITIES),
            category: text('e.g. "null dereference", "race", "resource leak"'),
            file: repoPath('Repository-relative path').optional(),
            line: lineNumber.optional(),
          }),
        )
        .describe('One entry per confirmed bug; empty when none were found'),
    },
  },
} as const satisfies Record<TaskType, ContractDefinition>;

// ---------------------------------------------------------------------------------------------------------------------
// Building the contracts

const baseFields = {
  summary: text('Two to five sentences: what you did and what the reader should know. No overclaiming.'),
};

const blockedReason = text('Why you could not finish, and what a human must do to unblock it');

function buildContract(definition: ContractDefinition) {
  const done = z.object({ status: z.literal('done'), ...baseFields, ...definition.fields });
  const doneChecked = definition.refine
    ? done.superRefine((value, ctx) => definition.refine?.(value as Record<string, unknown>, ctx))
    : done;
  const blocked = z.object({
    status: z.literal('blocked'),
    ...baseFields,
    blocked_reason: blockedReason,
    ...z.object(definition.fields).partial().shape,
  });
  const validator = z.discriminatedUnion('status', [doneChecked, blocked]);
  const requiredWhenDone = Object.entries(definition.fields)
    .filter(([, schema]) => !schema.safeParse(undefined).success)
    .map(([name]) => name);
  // The tool advertises one flat object (tool input schemas must be an object at the top level, no oneOf); which
  // fields are required for "done" is stated in its description and enforced by the validator.
  const toolInput = z
    .object({
      status: z
        .enum(['done', 'blocked'])
        .describe('"done" when the work is finished; "blocked" when you cannot finish it'),
      ...baseFields,
      blocked_reason: blockedReason.optional().describe('Required when status is "blocked"'),
      ...z.object(definition.fields).partial().shape,
    })
    .describe(
      `${definition.description} When status is "done", these fields are required: ${requiredWhenDone.join(', ')}. ` +
        'When status is "blocked", blocked_reason is required and the other fields are optional: include whatever ' +
        'partial work exists (for code changes, the branch and commits) so nothing is lost.',
    );
  return { description: definition.description, requiredWhenDone, validator, toolInput };
}

export type ResultContract = ReturnType<typeof buildContract>;

export const RESULT_CONTRACTS: Record<TaskType, ResultContract> = Object.fromEntries(
  Object.entries(DEFINITIONS).map(([type, definition]) => [type, buildContract(definition)]),
) as Record<TaskType, ResultContract>;

// ---------------------------------------------------------------------------------------------------------------------
// Result types

type Fields<T extends TaskType> = z.infer<z.ZodObject<(typeof DEFINITIONS)[T]['fields']>>;

export type DoneResult<T extends TaskType> = { status: 'done'; summary: string } & Fields<T>;
export type BlockedResult<T extends TaskType> = {
  status: 'blocked';
  summary: string;
  blocked_reason: string;
} & Partial<Fields<T>>;
/** What a session for task type T hands back, e.g. `TaskResult<'review_mr'>`. */
export type TaskResult<T extends TaskType> = DoneResult<T> | BlockedResult<T>;

// ---------------------------------------------------------------------------------------------------------------------
// Public functions

export type ValidationOutcome<T extends TaskType> = { ok: true; result: TaskResult<T> } | { ok: false; reason: string };

const MAX_ISSUES_IN_REASON = 12;

/** `['findings', 0, 'severity']` -> `findings[0].severity`. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(result)' : out;
}

/**
 * Checks what a session submitted against its task type's contract. Unknown keys are dropped, not rejected.
 *
 * ### Examples
 * ```ts
 * validateResult('review_mr', { status: 'done', summary: 'Looks good.', verdict: 'approve', findings: [] });
 * // -> { ok: true, result: {...} }
 * validateResult('review_mr', { status: 'done', summary: 'x', verdict: 'maybe', findings: [] });
 * // -> { ok: false, reason: 'review_mr result is invalid: verdict: Invalid option: expected one of ...' }
 * ```
 */
export function validateResult<T extends TaskType>(taskType: T, value: unknown): ValidationOutcome<T> {
  const contract = (RESULT_CONTRACTS as Partial<Record<string, ResultContract>>)[taskType];
  if (!contract) return { ok: false, reason: `no result contract for task type "${String(taskType)}"` };
  const parsed = contract.validator.safeParse(value);
  if (parsed.success) return { ok: true, result: parsed.data as TaskResult<T> };
  const issues = parsed.error.issues;
  const listed = issues
    .slice(0, MAX_ISSUES_IN_REASON)
    .map((issue) => `${formatFieldPath(issue.path)}: ${issue.message}`);
  if (issues.length > MAX_ISSUES_IN_REASON) listed.push(`and ${issues.length - MAX_ISSUES_IN_REASON} more`);
  return { ok: false, reason: `${taskType} result is invalid: ${listed.join('; ')}` };
}

/** The zod object the `submit_result` tool takes as input for a task type (flat; see `resultJsonSchema`). */
export function submitResultInputSchema(taskType: TaskType) {
  return RESULT_CONTRACTS[taskType].toolInput;
}

/**
 * The JSON Schema `submit_result` advertises for a task type: one object, `status` and `summary` required, the
 * type's fields optional at the schema level and required for "done" by `validateResult` (the description says so).
 */
export function resultJsonSchema(taskType: TaskType): Record<string, unknown> {
  const schema = z.toJSONSchema(RESULT_CONTRACTS[taskType].toolInput, { io: 'output' });
  return withoutImplicitBounds(schema) as Record<string, unknown>;
}

/** Drops the `maximum: 2^53-1` zod adds to every integer: true of any JSON number a model sends, and only noise. */
function withoutImplicitBounds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutImplicitBounds);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'maximum' && value === Number.MAX_SAFE_INTEGER) continue;
    if (key === 'minimum' && value === Number.MIN_SAFE_INTEGER) continue;
    out[key] = withoutImplicitBounds(value);
  }
  return out;
}

/** Every task type's JSON Schema, keyed by type. */
export function allResultJsonSchemas(): Record<TaskType, Record<string, unknown>> {
  return Object.fromEntries(TASK_TYPES.map((type) => [type, resultJsonSchema(type)])) as Record<
    TaskType,
    Record<string, unknown>
  >;
}
