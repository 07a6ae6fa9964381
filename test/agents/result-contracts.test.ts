/**
 * @module Tests for the result contracts: every task type has one, valid results pass, and invalid ones fail with a
 * reason that names the wrong field.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { TASK_TYPES, type TaskType } from '../../src/domain/roles.js';
import {
  RESULT_CONTRACTS,
  allResultJsonSchemas,
  formatFieldPath,
  resultJsonSchema,
  submitResultInputSchema,
  validateResult,
} from '../../src/agents/result-contracts.js';

const story = {
  title: 'Sign up with email',
  body: 'As a visitor, I want to sign up with my email, so that I can save my cart.',
  acceptance_criteria: ['Given a valid email, when I submit, then an account is created'],
};
const commit = { sha: 'a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0', message: 'Validate email on signup' };

/** A valid "done" result per task type. Typed by TaskType, so a new type without an example fails to compile. */
const VALID_DONE: Record<TaskType, Record<string, unknown>> = {
  analyze_repo: {
    overview: 'A small shop backend in TypeScript.',
    languages: ['TypeScript'],
    components: [{ path: 'src/cart', purpose: 'Cart state and pricing' }],
    commands: { test: 'npm test' },
    observations: ['No tests for pricing rounding'],
  },
  create_epic: { epic: { title: 'Accounts', body: 'Let visitors keep a cart across devices.' }, stories: [story] },
  create_user_story: { stories: [story] },
  prioritize_backlog: {
    ranked: [{ ref: '#12', title: 'Fix checkout crash', priority: 10, rationale: 'Blocks every purchase' }],
  },
  build_product: {
    name: 'hook-check',
    title: 'HookCheck: Stripe webhook handler template',
    problem: 'Small teams get Stripe webhooks wrong.',
    audience: 'Indie developers selling subscriptions',
    spec_markdown: '# HookCheck\n...',
    ratings: { market: { score: 6, reason: 'Many small SaaS' } },
    targets: ['npm'],
    estimated_tokens: 400000,
  },
  evaluate_feasibility: {
    verdict: 'feasible',
    feasibility: { score: 9, reason: 'A template and a CLI' },
    effort: { score: 8, reason: 'Days, not weeks' },
    risk: { score: 5, reason: 'Crowded market' },
    estimate: { tokens: 400000, duration: 'three days of agent work' },
    approach: 'A Fastify template with a signature check and a CLI that replays events.',
    concerns: [],
  },
  write_spec: {
    spec_markdown: '## Goal\n...',
    files_to_touch: ['src/routes/signup.ts', 'test/routes/signup.test.ts'],
    test_plan: 'Unit tests for valid and invalid emails.',
    risks: ['Existing accounts with invalid emails'],
  },
  implement_feature: {
    branch: 'autodev/42-signup-email',
    commits: [commit],
    files_changed: ['src/routes/signup.ts'],
    tests_run: { command: 'npm test', passed: true },
  },
  implement_fix: {
    branch: 'autodev/42-signup-email',
    commits: [{ sha: 'abc1234', message: 'Handle empty email' }],
    files_changed: ['src/routes/signup.ts'],
    root_cause: 'The validator ran after trimming to empty.',
  },
  review_mr: {
    verdict: 'request_changes',
    findings: [{ severity: 'major', file: 'src/routes/signup.ts', line: 14, message: 'Email is not normalised.' }],
  },
  run_tests: {
    command: 'npm test -- --coverage',
    passed: 41,
    failed: 1,
    skipped: 2,
    coverage_percent: 83.5,
    failures: [{ name: 'signup rejects empty email', message: 'expected 400, got 500' }],
  },
  security_scan: {
    verdict: 'pass',
    findings: [{ severity: 'low', category: 'A05 Security Misconfiguration', message: 'Verbose error in dev mode.' }],
  },
  merge: { outcome: 'merged', sha: 'f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed' },
  deploy: {
    environment: 'staging',
    outcome: 'succeeded',
    url: 'https://staging.example.com',
    version: 'abc1234',
    steps: [{ command: './deploy.sh staging', ok: true }],
    rollback: './deploy.sh staging --version 9f8e7d6',
  },
  create_project_repo: { repo_id: 3, repo: 'hook-check', location: '/data/projects/hook-check' },
  publish_product: { target: 'npm', outcome: 'published', url: 'https://www.npmjs.com/package/hookcheck' },
  static_analysis: {
    tools_run: ['npx tsc --noEmit'],
    issues: [
      {
        title: 'Cart total drops cents on refunds',
        body: 'Math.floor on negative amounts...',
        severity: 'major',
        category: 'arithmetic',
        file: 'src/cart/total.ts',
        line: 33,
      },
    ],
  },
};

function done(type: TaskType, overrides: Record<string, unknown> = {}) {
  return { status: 'done', summary: `Finished the ${type} task.`, ...VALID_DONE[type], ...overrides };
}

function expectInvalid(type: TaskType, value: unknown, ...fieldPaths: string[]) {
  const outcome = validateResult(type, value);
  expect(outcome.ok).toBe(false);
  if (outcome.ok) return;
  expect(outcome.reason).toContain(type);
  for (const fieldPath of fieldPaths) expect(outcome.reason).toContain(`${fieldPath}:`);
}

describe('every task type has a result contract', () => {
  it.each(TASK_TYPES)('%s', (type) => {
    const contract = RESULT_CONTRACTS[type];
    expect(contract, `no result contract for ${type}`).toBeDefined();
    expect(contract.requiredWhenDone.length).toBeGreaterThan(0);
    expect(VALID_DONE[type], `no valid example for ${type} in this test`).toBeDefined();
  });

  it('has no contract for a type the domain does not know', () => {
    expect(Object.keys(RESULT_CONTRACTS).sort()).toEqual([...TASK_TYPES].sort());
  });
});

describe.each(TASK_TYPES)('%s result', (type) => {
  it('accepts a valid "done" result', () => {
    const outcome = validateResult(type, done(type));
    expect(outcome).toMatchObject({ ok: true, result: { status: 'done' } });
  });

  it('drops unknown keys instead of failing the attempt', () => {
    const outcome = validateResult(type, done(type, { mood: 'great' }));
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect(outcome.result).not.toHaveProperty('mood');
  });

  it('names each missing required field of a "done" result', () => {
    for (const field of RESULT_CONTRACTS[type].requiredWhenDone) {
      const value = done(type);
      delete (value as Record<string, unknown>)[field];
      expectInvalid(type, value, field);
    }
  });

  it('accepts "blocked" with a reason and no type fields, and rejects it without the reason', () => {
    const blocked = { status: 'blocked', summary: 'Could not start.', blocked_reason: 'The repository is missing.' };
    expect(validateResult(type, blocked)).toEqual({ ok: true, result: blocked });
    expectInvalid(type, { status: 'blocked', summary: 'Could not start.' }, 'blocked_reason');
  });

  it('rejects a missing summary, a bad status and a non-object', () => {
    expectInvalid(type, { ...done(type), summary: '   ' }, 'summary');
    expectInvalid(type, { ...done(type), status: 'finished' }, 'status');
    expectInvalid(type, 'all done!', '(result)');
    expectInvalid(type, null, '(result)');
  });

  it('advertises a flat JSON Schema object the submit_result tool can use', () => {
    const schema = resultJsonSchema(type);
    expect(schema.type).toBe('object');
    // Tool input schemas may not have a union at the top level.
    expect(schema).not.toHaveProperty('oneOf');
    expect(schema).not.toHaveProperty('anyOf');
    expect(schema.required).toEqual(['status', 'summary']);
    const properties = Object.keys(schema.properties as object);
    expect(properties).toEqual(expect.arrayContaining(['status', 'summary', 'blocked_reason']));
    expect(properties).toEqual(expect.arrayContaining(RESULT_CONTRACTS[type].requiredWhenDone));
    expect(String(schema.description)).toContain(RESULT_CONTRACTS[type].requiredWhenDone.join(', '));
    // Anything the validator accepts, the tool schema accepts too.
    expect(submitResultInputSchema(type).safeParse(done(type)).success).toBe(true);
  });
});

describe('field-level checks', () => {
  it('a blocked builder keeps its partial work, and that work is still checked', () => {
    const partial = { status: 'blocked', summary: 'Tests hang.', blocked_reason: 'Postgres is not reachable.' };
    const outcome = validateResult('implement_feature', { ...partial, branch: 'autodev/7', commits: [commit] });
    expect(outcome).toMatchObject({ ok: true, result: { branch: 'autodev/7', commits: [commit] } });
    expectInvalid('implement_feature', { ...partial, commits: [{ sha: 'not-a-sha', message: 'x' }] }, 'commits[0].sha');
  });

  it('implement_feature needs at least one commit and a hex sha', () => {
    expectInvalid('implement_feature', done('implement_feature', { commits: [] }), 'commits');
    expectInvalid(
      'implement_fix',
      done('implement_fix', { commits: [{ sha: 'HEAD', message: 'x' }] }),
      'commits[0].sha',
    );
    expectInvalid(
      'implement_feature',
      done('implement_feature', { tests_run: { command: 'npm test', passed: 'yes' } }),
      'tests_run.passed',
    );
  });

  it('review_mr: unknown severity, bad line, contradicting verdicts', () => {
    expectInvalid(
      'review_mr',
      done('review_mr', { findings: [{ severity: 'blocker', line: 0, message: 'x' }] }),
      'findings[0].severity',
      'findings[0].line',
    );
    expectInvalid('review_mr', done('review_mr', { verdict: 'lgtm' }), 'verdict');
    expectInvalid(
      'review_mr',
      done('review_mr', { verdict: 'approve', findings: [{ severity: 'critical', message: 'SQL injection' }] }),
      'verdict',
    );
    expectInvalid('review_mr', done('review_mr', { verdict: 'request_changes', findings: [] }), 'findings');
    expect(validateResult('review_mr', done('review_mr', { verdict: 'approve', findings: [] })).ok).toBe(true);
  });

  it('run_tests: counts are whole, failures are listed, and something ran', () => {
    expectInvalid('run_tests', done('run_tests', { passed: -1 }), 'passed');
    expectInvalid('run_tests', done('run_tests', { skipped: 1.5 }), 'skipped');
    expectInvalid('run_tests', done('run_tests', { coverage_percent: 101 }), 'coverage_percent');
    expectInvalid('run_tests', done('run_tests', { failed: 2, failures: [] }), 'failures');
    expectInvalid('run_tests', done('run_tests', { passed: 0, failed: 0, skipped: 0, failures: [] }), 'passed');
    expectInvalid('run_tests', done('run_tests', { failures: [{ name: 'x' }] }), 'failures[0].message');
  });

  it('security_scan: a critical finding cannot pass', () => {
    const critical = { severity: 'critical', category: 'secret', file: '.env', message: 'An AWS key is committed.' };
    expectInvalid('security_scan', done('security_scan', { findings: [critical] }), 'verdict');
    expect(validateResult('security_scan', done('security_scan', { verdict: 'fail', findings: [critical] })).ok).toBe(
      true,
    );
    const major = { severity: 'major', category: 'A03 Injection', message: 'x' };
    expectInvalid('security_scan', done('security_scan', { findings: [major] }), 'findings[0].severity');
    expectInvalid(
      'security_scan',
      done('security_scan', { findings: [{ severity: 'low', message: 'x' }] }),
      'findings[0].category',
    );
  });

  it('deploy and publish_product: enums and URLs', () => {
    expectInvalid('deploy', done('deploy', { outcome: 'ok' }), 'outcome');
    expectInvalid('deploy', done('deploy', { url: 'staging' }), 'url');
    expectInvalid('publish_product', done('publish_product', { outcome: 'rolled_back' }), 'outcome');
  });

  it('stories need acceptance criteria; ratings are 1..10', () => {
    expectInvalid(
      'create_user_story',
      done('create_user_story', { stories: [{ ...story, acceptance_criteria: [] }] }),
      'stories[0].acceptance_criteria',
    );
    expectInvalid('create_user_story', done('create_user_story', { stories: [] }), 'stories');
    expectInvalid(
      'build_product',
      done('build_product', {
        ratings: { ...(VALID_DONE.build_product.ratings as object), market: { score: 11, reason: 'x' } },
      }),
      'ratings.market.score',
    );
    expectInvalid(
      'evaluate_feasibility',
      done('evaluate_feasibility', { risk: { score: 0, reason: 'x' } }),
      'risk.score',
    );
    expectInvalid(
      'evaluate_feasibility',
      done('evaluate_feasibility', { estimate: { tokens: 0, duration: 'a day' } }),
      'estimate.tokens',
    );
    expectInvalid(
      'prioritize_backlog',
      done('prioritize_backlog', { ranked: [{ ref: '#1', title: 'x', priority: 0, rationale: 'y' }] }),
      'ranked[0].priority',
    );
  });

  it('write_spec needs files to touch', () => {
    expectInvalid('write_spec', done('write_spec', { files_to_touch: [] }), 'files_to_touch');
  });

  it('refuses a task type with no contract', () => {
    expect(validateResult('make_coffee' as TaskType, {})).toEqual({
      ok: false,
      reason: 'no result contract for task type "make_coffee"',
    });
  });

  it('caps a long list of problems', () => {
    const outcome = validateResult('run_tests', {
      status: 'done',
      summary: 'x',
      failures: Array.from({ length: 20 }, () => ({})),
    });
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.reason).toMatch(/and \d+ more$/);
  });
});

describe('result types', () => {
  it('narrow by status to the task type fields', () => {
    const outcome = validateResult('review_mr', done('review_mr'));
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    if (outcome.result.status === 'done') {
      expectTypeOf(outcome.result.verdict).toEqualTypeOf<'approve' | 'request_changes'>();
      expect(outcome.result.findings[0]?.line).toBe(14);
    } else {
      expectTypeOf(outcome.result.blocked_reason).toEqualTypeOf<string>();
    }
  });
});

describe('formatFieldPath', () => {
  it('writes paths the way a reader would', () => {
    expect(formatFieldPath(['findings', 0, 'severity'])).toBe('findings[0].severity');
    expect(formatFieldPath(['ratings', 'feasibility'])).toBe('ratings.feasibility');
    expect(formatFieldPath([])).toBe('(result)');
  });
});

describe('allResultJsonSchemas', () => {
  it('has one schema per task type', () => {
    expect(Object.keys(allResultJsonSchemas()).sort()).toEqual([...TASK_TYPES].sort());
  });
});
