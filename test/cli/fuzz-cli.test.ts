/**
 * Property-based fuzzing of every `autodev` command, generated from the commander program itself (`buildProgram`):
 * each leaf command with its arguments and options, given valid, boundary and hostile values (NUL, lone surrogates,
 * non-canonical ids, out-of-range numbers, a payload nested 10,000 deep, long text), run in process against a real
 * database, on both engines. Every run: exit 0, or one `autodev: ...` line on stderr and the database fingerprint
 * unchanged; never "internal error"; hostile values exit 2. Commands that would keep running (`up`, `serve`, `demo`,
 * `mcp`) get only values they must refuse. Seed: AUTODEV_FUZZ_SEED (fixed by default), runs: AUTODEV_FUZZ_RUNS.
 */
import fc from 'fast-check';
import type { Command } from 'commander';
import { beforeEach, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { runCli } from '../../src/cli/run.js';
import type { CliDeps } from '../../src/cli/context.js';
import { ROLES, TASK_TYPES } from '../../src/domain/roles.js';
import { databaseFingerprint } from '../support/db-fingerprint.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { makeGitRepository, REPOSITORY_NAME } from '../fuzz/git-repository.js';
import {
  assertWithSeed,
  deepJsonText,
  FUZZ_RUNS,
  LONE_SURROGATES,
  NON_CANONICAL_IDS,
  NUL_TEXTS,
} from '../fuzz/fuzz-values.js';

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

interface CliCase {
  argv: string[];
  /** A value the command must refuse (exit 2). */
  mustRefuse: boolean;
}

/** Values for one argument or option: ones that may work, and ones that must be refused. */
interface Pool {
  valid: string[];
  refused: string[];
}

/** Commands that would keep running on valid input (`logs` with --follow): only values they must refuse. */
const LONG_RUNNING = new Set(['up', 'serve', 'demo', 'mcp', 'logs']);

const UNSTORABLE = [...NUL_TEXTS.slice(0, 2), ...LONE_SURROGATES];
const text = (...valid: string[]): Pool => ({ valid, refused: UNSTORABLE });
const id = (): Pool => ({
  valid: ['1', '2', '3', '999999'],
  refused: [...NON_CANONICAL_IDS, '0', '2147483648x', ...UNSTORABLE],
});
const count = (min: number, max: number, more: string[] = []): Pool => ({
  valid: [String(min), String(max)],
  refused: [
    String(max + 1),
    '-1',
    '1e1',
    '0x1',
    '+1',
    ' 1',
    '1\n',
    '01',
    '2147483648',
    '9'.repeat(30),
    ...more,
    ...UNSTORABLE,
  ],
});

function pools(repoPath: string): Record<string, Pool> {
  return {
    id: id(),
    role: { valid: [...ROLES], refused: ['nobody', 'Builder', ...UNSTORABLE] },
    n: count(0, 16),
    message: { valid: ['hello', ' spaced '], refused: ['', '   ', 'm'.repeat(10_001), ...UNSTORABLE] },
    path: { valid: [repoPath, '/nonexistent', 'relative'], refused: UNSTORABLE },
    name: text(REPOSITORY_NAME, 'no-such', 'x'.repeat(101)),
    file: { valid: ['/nonexistent.yaml'], refused: UNSTORABLE },
    args: text('discuss', 'status'),
    component: { valid: [], refused: ['agent:nobody', 'agent:', 'dash\u0000board', 'nonsense', 'agent:\ud800'] },
    '--type': { valid: [...TASK_TYPES], refused: ['make_coffee', '', ...UNSTORABLE] },
    '--priority': count(1, 10),
    '--payload': {
      valid: ['{}', '{"idea":"x"}', '{"text":"a\\u0000b"}'],
      refused: [deepJsonText(10_000), deepJsonText(65), '[1]', 'null', '"text"', 'not json', '{', ...UNSTORABLE],
    },
    '--status': {
      valid: ['pending', 'completed', 'failed', 'approved', 'rejected'],
      refused: ['PENDING', 'nope', ...UNSTORABLE],
    },
    '--limit': count(1, 500),
    // dDox is "t:1"; the other decodes to an id past 2^53.
    '--cursor': { valid: ['dDox'], refused: ['x', 'dDo5OTk5OTk5OTk5OTk5OTk5OTk5OTk5', ...UNSTORABLE] },
    '--reason': text('because', 'r'.repeat(4000)),
    '--name': text('fuzz-token', 'n'.repeat(100)),
    '--test-command': text('npm test', 'c'.repeat(2000)),
    '--deploy-command': text('./deploy.sh'),
    '--lint-command': text('npm run lint'),
    '--deploy-secret': { valid: ['API_KEY'], refused: ['1BAD', 'has space', ...UNSTORABLE] },
    '--coverage-threshold': { valid: ['0', '80', '100', '99.5'], refused: ['101', '-1', 'abc', ...UNSTORABLE] },
    '--merge-method': { valid: ['merge', 'squash'], refused: ['rebase', ...UNSTORABLE] },
    '--repo': text(REPOSITORY_NAME, 'no-such-repo'),
    '--title': { valid: ['A story', 't'.repeat(200)], refused: ['', 't'.repeat(201), ...UNSTORABLE] },
    '--body': text('details'),
    '--note': text('note'),
    '--role': { valid: ['viewer', 'approver', 'admin'], refused: ['root', ...UNSTORABLE] },
    '--port': { valid: [], refused: count(0, 65_535).refused },
    '--host': { valid: [], refused: UNSTORABLE },
    '--replay-delay': { valid: [], refused: count(0, 60_000).refused },
    '--session-dir': { valid: [], refused: UNSTORABLE },
    '--config': { valid: [], refused: UNSTORABLE },
    '--log-level': { valid: ['silent'], refused: ['loud'] },
  };
}

interface Leaf {
  path: string[];
  command: Command;
}

function leaves(command: Command, path: string[] = []): Leaf[] {
  if (command.commands.length === 0) return [{ path, command }];
  return command.commands.flatMap((sub) => leaves(sub, [...path, sub.name()]));
}

function poolFor(all: Record<string, Pool>, key: string, longRunning: boolean): Pool {
  const pool = all[key] ?? text('value');
  return longRunning ? { valid: [], refused: pool.refused } : pool;
}

function pick(pool: Pool): fc.Arbitrary<[string, boolean]> {
  const refused = fc.constantFrom(...pool.refused).map((v): [string, boolean] => [v, true]);
  if (pool.valid.length === 0) return refused;
  const valid = fc.constantFrom(...pool.valid).map((v): [string, boolean] => [v, false]);
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: refused });
}

/** argv for one leaf command: its arguments in order, then some of its options. */
function caseFor(leaf: Leaf, all: Record<string, Pool>): fc.Arbitrary<CliCase> {
  const longRunning = LONG_RUNNING.has(leaf.path[0] ?? '');
  const argumentArbs = leaf.command.registeredArguments.map((argument) => {
    const value = pick(poolFor(all, argument.name(), false));
    return argument.required
      ? value.map((v) => [v])
      : fc.option(
          value.map((v) => [v]),
          { nil: undefined },
        );
  });
  const optionArbs = leaf.command.options
    .filter((option) => option.long !== '--help' && !option.negate)
    .map((option) => {
      const flag = option.long!;
      if (!option.required && !option.optional) {
        return fc.option(fc.constant<[string, boolean][]>([[flag, false]]), { nil: undefined });
      }
      const value = pick(poolFor(all, flag, longRunning)).map((v): [string, boolean][] => [[flag, false], v]);
      return option.mandatory ? value : fc.option(value, { nil: undefined, freq: 2 });
    });
  // Long-running commands must get at least one refused value: add the first refusable option when none was drawn.
  return fc.tuple(fc.tuple(...argumentArbs), fc.tuple(...optionArbs)).map(([args, options]) => {
    const parts = [...args, ...options].filter((p): p is [string, boolean][] => p !== undefined).flat();
    let argv = [...leaf.path, ...parts.map(([v]) => v)];
    let mustRefuse = parts.some(([, refused]) => refused);
    if (longRunning && !mustRefuse) {
      argv =
        leaf.path[0] === 'serve'
          ? ['serve', 'agent:nobody']
          : [...argv, leaf.path[0] === 'mcp' ? '--session-dir' : '--port', '\u0000'];
      if (leaf.path[0] === 'demo') argv = ['demo', '--replay-delay', '-1'];
      mustRefuse = true;
    }
    return { argv, mustRefuse };
  });
}

/** The cases the issue reported, for the CLI. */
function issueCases(): CliCase[] {
  return [
    { argv: ['tasks', 'create', '--type', 'deploy', '--payload', `{"p":${deepJsonText(10_000)}}`], mustRefuse: true },
    { argv: ['stories', 'create', '--repo', REPOSITORY_NAME, '--title', 'a\u0000b'], mustRefuse: true },
    { argv: ['stories', 'create', '--repo', REPOSITORY_NAME, '--title', 't', '--body', '\u0000'], mustRefuse: true },
    { argv: ['stories', 'create', '--repo', 'r\u0000', '--title', 't'], mustRefuse: true },
    { argv: ['instruct', 'builder', 'do\u0000this'], mustRefuse: true },
    { argv: ['tasks', 'cancel', '1', '--reason', '\u0000'], mustRefuse: true },
    { argv: ['repos', 'add', '/tmp', '--test-command', 'npm\u0000test'], mustRefuse: true },
    { argv: ['repos', 'add', '/tmp', '--deploy-command', '\u0000'], mustRefuse: true },
    { argv: ['repos', 'add', '/tmp', '--lint-command', '\u0000'], mustRefuse: true },
    { argv: ['repos', 'remove', '\u0000'], mustRefuse: true },
    ...['1e0', '0x1', '+1', ' 1', '1\n', '01'].flatMap((bad) => [
      { argv: ['tasks', 'show', bad], mustRefuse: true },
      { argv: ['tasks', 'cancel', bad], mustRefuse: true },
      { argv: ['stories', 'show', bad], mustRefuse: true },
      { argv: ['approvals', 'approve', bad], mustRefuse: true },
    ]),
    { argv: ['tasks', 'list', '--limit', '2147483648'], mustRefuse: true },
    { argv: ['--data-dir', '\u0000', 'tasks', 'list'], mustRefuse: true },
    { argv: ['config', 'validate', '\u0000'], mustRefuse: true },
  ];
}

describe.each(DIALECTS)('%s: every CLI command under fuzzing (generated from the program)', (dialect) => {
  const db = useTestDatabase(dialect);
  let repoPath = '';

  const deps = (out: Outcome): CliDeps => ({
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      USER: 'fuzz',
      ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    },
    cwd: db.dir,
    stdout: { write: (chunk: string) => (out.stdout += chunk) },
    stderr: { write: (chunk: string) => (out.stderr += chunk) },
    now: Date.now,
    listenForShutdown: () => new AbortController().signal,
  });

  async function cli(argv: string[]): Promise<Outcome> {
    const out: Outcome = { code: -1, stdout: '', stderr: '' };
    // SQLite: the test's own database file is <dir>/autodev.db, which --data-dir points at.
    const withDir = argv.includes('--data-dir') ? argv : ['--data-dir', db.dir, ...argv];
    out.code = await runCli(withDir, deps(out));
    return out;
  }

  beforeEach(async () => {
    repoPath = makeGitRepository(db.dir);
    for (const argv of [
      ['repos', 'add', repoPath, '--name', REPOSITORY_NAME],
      ['stories', 'create', '--repo', REPOSITORY_NAME, '--title', 'Seed story'],
      ['tasks', 'create', '--type', 'deploy'],
      ['instruct', 'builder', 'seed'],
    ]) {
      const outcome = await cli(argv);
      if (outcome.code !== 0) throw new Error(`seeding ${argv.join(' ')} failed: ${outcome.stderr}`);
    }
  });

  it('exits 0, or 2 with one line and nothing changed, for every command and value', async () => {
    const all = pools(repoPath);
    const commands = leaves(buildProgram(deps({ code: 0, stdout: '', stderr: '' })).program);
    expect(commands.length).toBeGreaterThan(25);
    const codes = new Map<number, number>();
    const caseArb = fc.constantFrom(...commands).chain((leaf) => caseFor(leaf, all));
    await assertWithSeed(
      fc.asyncProperty(caseArb, async ({ argv, mustRefuse }) => {
        const before = await databaseFingerprint(db.handle);
        const outcome = await cli(argv);
        codes.set(outcome.code, (codes.get(outcome.code) ?? 0) + 1);
        const where = `${JSON.stringify(argv).slice(0, 300)} -> exit ${outcome.code}, stderr ${outcome.stderr.slice(0, 300)}`;
        expect(outcome.stderr, where).not.toContain('internal error');
        expect([0, 1, 2], where).toContain(outcome.code);
        if (mustRefuse) expect(outcome.code, where).toBe(2);
        if (outcome.code !== 0) {
          expect(outcome.stderr, where).toMatch(/^autodev: [^\n]+\n$/);
          expect(await databaseFingerprint(db.handle), where).toEqual(before);
        }
      }),
      issueCases(),
      'npx vitest run test/cli/fuzz-cli.test.ts',
      Math.ceil(FUZZ_RUNS / 2),
    );
    console.log(`${dialect}: CLI exits by code`, Object.fromEntries(codes));
    expect(codes.get(0) ?? 0).toBeGreaterThan(0);
    expect(codes.get(2) ?? 0).toBeGreaterThan(0);
  }, 300_000);
});
