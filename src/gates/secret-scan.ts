/**
 * @module The secret-scan gate: secretlint (preset-recommend, with the AWS access-key-id rule switched on) over every
 * commit a merge of a branch would bring (`base..head`), not only its head: each file a commit adds or changes is
 * scanned as that commit wrote it. A secret still in the head's files fails the security gate whatever the security
 * agent said; one that only an earlier commit held (removed since) makes the merge squash the branch, so the secret
 * never lands in the default branch's history. Findings name the commit, file, line and rule, never the secret
 * (messages are masked). Git runs only read-only commands on the repository's own git directory, with no fsmonitor,
 * external diff or textconv helper.
 */
import type { lintSource } from '@secretlint/core';
import { git } from '../workspace/git.js';

export interface SecretFinding {
  file: string;
  line: number;
  rule: string;
  /** secretlint's message with the value masked. */
  message: string;
  /** The commit whose version of the file held it (the first one of the branch that did). */
  commit?: string;
}

export interface FileContent {
  path: string;
  content: string;
}

/** What a branch's scan found: the secrets its head still holds, and those only earlier commits held. */
export interface BranchSecretScan {
  /** The head commit scanned. */
  head: string;
  /** How many commits of `base..head` were scanned. */
  commits: number;
  /** Secrets in the files the branch adds or changes, as its head has them: the security gate fails. */
  atHead: SecretFinding[];
  /** Secrets an earlier commit added that the head no longer holds: the merge must squash the branch. */
  inHistory: SecretFinding[];
}

/** secretlint and its rules (~0.1 CPU-s to load) are imported by the first scan, not by every agent process. */
type LintSource = typeof lintSource;
type LintConfig = Parameters<LintSource>[0]['options']['config'];
let secretlint: Promise<{ lintSource: LintSource; config: LintConfig }> | undefined;
function loadSecretlint() {
  secretlint ??= Promise.all([import('@secretlint/core'), import('@secretlint/secretlint-rule-preset-recommend')]).then(
    ([core, preset]) => ({
      lintSource: core.lintSource,
      config: {
        rules: [
          {
            id: '@secretlint/secretlint-rule-preset-recommend',
            rule: preset.creator,
            rules: [{ id: '@secretlint/secretlint-rule-aws', options: { enableIDScanRule: true } }],
          },
        ],
      },
    }),
  );
  return secretlint;
}

/** Files larger than this are not scanned as text (generated or binary). */
const MAX_SCAN_BYTES = 2 * 1024 * 1024;

export async function scanFilesForSecrets(files: readonly FileContent[]): Promise<SecretFinding[]> {
  const findings: SecretFinding[] = [];
  const scannable = files.filter((file) => file.content.length <= MAX_SCAN_BYTES && !file.content.includes('\0'));
  if (scannable.length === 0) return findings;
  const { lintSource, config } = await loadSecretlint();
  for (const file of scannable) {
    const result = await lintSource({
      source: { filePath: file.path, content: file.content, contentType: 'text' },
      options: { config, maskSecrets: true, noPhysicFilePath: true },
    });
    for (const message of result.messages) {
      findings.push({ file: file.path, line: message.loc.start.line, rule: message.ruleId, message: message.message });
    }
  }
  return findings;
}

/**
 * Git on the repository's own git directory, read-only, with every helper a repository's config could name turned
 * off: no fsmonitor, no external diff, no textconv, no hooks.
 */
class ObjectReader {
  private constructor(private readonly gitDir: string) {}

  static async open(repoPath: string): Promise<ObjectReader> {
    const gitDir = (
      await git(repoPath, ['rev-parse', '--path-format=absolute', '--git-common-dir'], { env: readOnlyEnv() })
    ).stdout.trim();
    return new ObjectReader(gitDir);
  }

  run(args: readonly string[], okExitCodes: readonly number[] = []) {
    return git(
      this.gitDir,
      [
        `--git-dir=${this.gitDir}`,
        '-c',
        'core.fsmonitor=false',
        '-c',
        'diff.external=',
        '-c',
        'core.hooksPath=/dev/null',
        ...args,
      ],
      { okExitCodes, env: readOnlyEnv() },
    );
  }

  async commit(ref: string): Promise<string> {
    return (await this.run(['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`])).stdout.trim();
  }

  /** A blob's text, or null when it is missing (a submodule's commit) or too large to scan as text. */
  async blob(sha: string): Promise<string | null> {
    const size = await this.run(['cat-file', '-s', sha], [128]);
    if (size.exitCode !== 0 || Number(size.stdout.trim()) > MAX_SCAN_BYTES) return null;
    const shown = await this.run(['cat-file', 'blob', sha], [128]);
    return shown.exitCode === 0 ? shown.stdout : null;
  }
}

/** The process environment without an external diff program (`git.ts` drops the variables that redirect git). */
function readOnlyEnv(): NodeJS.ProcessEnv {
  const { GIT_EXTERNAL_DIFF: _externalDiff, ...env } = process.env;
  return env;
}

interface ChangedBlob {
  path: string;
  blob: string;
}

const OBJECT_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/**
 * Parses `git log --raw -z --format=%H`: a commit id, then per added or modified file a raw entry
 * (`:mode mode old new status`) followed by its path.
 */
function parseRawLog(text: string): { commit: string; files: ChangedBlob[] }[] {
  const commits: { commit: string; files: ChangedBlob[] }[] = [];
  const tokens = text.split('\0');
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!.replace(/^\n/, '');
    if (token.startsWith(':')) {
      const path = tokens[++i];
      const blob = token.split(' ')[3];
      if (path !== undefined && blob && commits.length > 0) commits.at(-1)!.files.push({ path, blob });
    } else if (OBJECT_ID.test(token)) {
      commits.push({ commit: token, files: [] });
    }
  }
  return commits;
}

/** The files `head` adds or modifies relative to its merge base with `base`, as blobs of the head's tree. */
async function headBlobs(reader: ObjectReader, base: string, head: string): Promise<ChangedBlob[]> {
  const mergeBase = (await reader.run(['merge-base', base, head], [1])).stdout.trim();
  const from = mergeBase || (await reader.run(['hash-object', '-t', 'tree', '/dev/null'])).stdout.trim();
  const raw = await reader.run([
    'diff-tree',
    '-r',
    '-z',
    '--raw',
    '--no-renames',
    '--no-abbrev',
    '--no-ext-diff',
    '--no-textconv',
    '--diff-filter=AM',
    from,
    head,
  ]);
  return parseRawLog(`${head}\0${raw.stdout}`)[0]?.files ?? [];
}

/**
 * Scans every commit `base..head` brings: each file a commit adds or changes, as that commit wrote it (a merge commit
 * against its first parent). Each distinct file version is scanned once; a finding names the first commit of the
 * branch that held it.
 */
export async function scanBranchForSecrets(repoPath: string, base: string, headRef: string): Promise<BranchSecretScan> {
  const reader = await ObjectReader.open(repoPath);
  const head = await reader.commit(headRef);
  const baseCommit = await reader.commit(base);
  const log = await reader.run([
    'log',
    '--reverse',
    '--diff-merges=first-parent',
    '--raw',
    '-z',
    '--no-renames',
    '--no-abbrev',
    '--no-ext-diff',
    '--no-textconv',
    '--diff-filter=AM',
    '--format=%H',
    `${baseCommit}..${head}`,
  ]);
  const commits = parseRawLog(log.stdout);
  const atHead = new Set((await headBlobs(reader, baseCommit, head)).map((f) => `${f.blob} ${f.path}`));
  const found = new Map<string, SecretFinding[]>();
  const scan = async (file: ChangedBlob, commit: string) => {
    const key = `${file.blob} ${file.path}`;
    if (found.has(key)) return;
    const content = await reader.blob(file.blob);
    const findings = content === null ? [] : await scanFilesForSecrets([{ path: file.path, content }]);
    found.set(
      key,
      findings.map((f) => ({ ...f, commit })),
    );
  };
  for (const { commit, files } of commits) for (const file of files) await scan(file, commit);
  // A head file version no commit of the range wrote (brought by a merge of the base, say) is still scanned.
  for (const key of atHead) {
    const [blob, ...rest] = key.split(' ');
    await scan({ blob: blob!, path: rest.join(' ') }, head);
  }
  const result: BranchSecretScan = { head, commits: commits.length, atHead: [], inHistory: [] };
  for (const [key, findings] of found) (atHead.has(key) ? result.atHead : result.inHistory).push(...findings);
  return result;
}

/** Why a merge must squash the branch: the history-only secrets, named by file and rule. */
export function squashReasonFor(scan: BranchSecretScan): string | undefined {
  if (scan.atHead.length > 0 || scan.inHistory.length === 0) return undefined;
  const where = [...new Set(scan.inHistory.map((f) => `${f.file}, ${f.rule}`))];
  return `an earlier commit held a secret (${where.join('; ')})`;
}
