/**
 * @module What a gate finding says, without what changes from run to run: the workflow compares two rounds' findings
 * by these fingerprints to notice a fix round that changed nothing ("no progress"). A finding's first line is what
 * it says (a failing test's name and message, a finding's location and message, a run's counts); the lines after it
 * are an output tail, left out. Colours, durations, clock times and temporary paths are stripped, so the same
 * failures read the same in every run. Pure.
 */

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;
/** `/tmp/autodev-checkout-1-x/checkout/a.ts`, `/var/folders/..`, `/private/tmp/..`: a temporary directory's path. */
const TEMP_PATH = /(?:\/private)?(?:\/tmp|\/var\/tmp|\/var\/folders|\/dev\/shm)(?:\/[^\s'"`):,]*)?/g;
/** `12ms`, `0.53 s`, `1.2sec`, `3 seconds`, `2m`, `1 min`, `(0.53 s)`: durations, with or without a space. */
const DURATION = /\b\d+(?:\.\d+)?\s?(?:ns|µs|us|ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)\b/gi;
/** `duration_ms: 12.3`, `duration_ms 96.4`, `time=0.2`: durations reported as named figures. */
const NAMED_DURATION = /\b(duration(?:_ms)?|time|elapsed)([:=\s]+)\d+(?:\.\d+)?/gi;
/** `20:58:27`, `2026-12-06T20:58:27.123Z`: clock times. */
const CLOCK = /\b(?:\d{4}-\d{2}-\d{2}[T ])?\d{1,2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?\b/g;

/** One finding as the workflow compares it: its first line, without colours, durations, clock times or temp paths. */
export function normalizeFinding(finding: string): string {
  const firstLine = finding.replace(ANSI, '').split(/\r?\n/, 1)[0] ?? '';
  return firstLine
    .replace(TEMP_PATH, '<tmp>')
    .replace(CLOCK, '<time>')
    .replace(NAMED_DURATION, '$1$2<duration>')
    .replace(DURATION, '<duration>')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A round's findings as a sorted set of normalized findings. */
export function findingsFingerprint(findings: readonly string[]): string[] {
  return [...new Set(findings.map(normalizeFinding))].sort();
}

/** Whether two rounds' findings say the same thing (see `normalizeFinding`). */
export function sameFindings(a: readonly string[], b: readonly string[]): boolean {
  const left = findingsFingerprint(a);
  const right = findingsFingerprint(b);
  return left.length === right.length && left.every((line, i) => line === right[i]);
}
