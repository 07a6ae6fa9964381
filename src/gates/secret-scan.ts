/**
 * @module The secret-scan gate: secretlint (preset-recommend, with the AWS access-key-id rule switched on) over the
 * files a branch adds or changes against its base. Deterministic: a finding fails the security gate whatever the
 * security agent said. Findings name the file, line and rule, never the secret (messages are masked).
 */
import { lintSource } from '@secretlint/core';
import { creator as presetRecommend } from '@secretlint/secretlint-rule-preset-recommend';
import { git } from '../workspace/git.js';

export interface SecretFinding {
  file: string;
  line: number;
  rule: string;
  message: string;
}

export interface FileContent {
  path: string;
  content: string;
}

const CONFIG = {
  rules: [
    {
      id: '@secretlint/secretlint-rule-preset-recommend',
      rule: presetRecommend,
      rules: [{ id: '@secretlint/secretlint-rule-aws', options: { enableIDScanRule: true } }],
    },
  ],
};

/** Files larger than this are not scanned as text (generated or binary). */
const MAX_SCAN_BYTES = 2 * 1024 * 1024;

export async function scanFilesForSecrets(files: readonly FileContent[]): Promise<SecretFinding[]> {
  const findings: SecretFinding[] = [];
  for (const file of files) {
    if (file.content.length > MAX_SCAN_BYTES || file.content.includes('\0')) continue;
    const result = await lintSource({
      source: { filePath: file.path, content: file.content, contentType: 'text' },
      options: { config: CONFIG, maskSecrets: true, noPhysicFilePath: true },
    });
    for (const message of result.messages) {
      findings.push({ file: file.path, line: message.loc.start.line, rule: message.ruleId, message: message.message });
    }
  }
  return findings;
}

/** The files `head` adds or modifies relative to its merge base with `base`, with their content at `head`. */
export async function changedFiles(repoPath: string, base: string, head: string): Promise<FileContent[]> {
  const names = (
    await git(repoPath, ['diff', '--name-only', '-z', '--no-renames', '--diff-filter=AM', `${base}...${head}`])
  ).stdout
    .split('\0')
    .filter(Boolean);
  const files: FileContent[] = [];
  for (const name of names) {
    const shown = await git(repoPath, ['show', `${head}:${name}`], { okExitCodes: [128] });
    if (shown.exitCode === 0) files.push({ path: name, content: shown.stdout });
  }
  return files;
}

/** Scans what `head` changes against `base` in the repository at `repoPath`. */
export async function scanBranchForSecrets(repoPath: string, base: string, head: string): Promise<SecretFinding[]> {
  return scanFilesForSecrets(await changedFiles(repoPath, base, head));
}
