/**
 * @module Reads the failing tests' names and first message lines from a test run's output: TAP (`not ok N - name`
 * with its YAML `error:`, as `node --test` and others print it), node's spec reporter (`✖ name (1.2ms)`), vitest
 * (` FAIL  file > suite > name` then the error), jest (`● suite › name` then the error) and pytest
 * (`FAILED path::name - message`). Pure; durations are dropped from names; a suite that failed only because a test
 * inside it did is not listed again. Returns an empty list when no known format is found.
 */

export interface FailingTest {
  name: string;
  /** The first line of the failure message ('' when the output gives none). */
  message: string;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;
/** A trailing duration as reporters print it after a test name: `(1.6ms)`, ` 6ms`, `(12 ms)`, `[0.53s]`. */
const TRAILING_DURATION = /\s*[([]?\d+(?:\.\d+)?\s?(?:ms|s)[)\]]?\s*$/;
const MAX_MESSAGE = 300;

function clean(text: string): string {
  const line = text.trim();
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE - 1)}…` : line;
}

function unquote(text: string): string {
  const t = text.trim();
  if (t.length >= 2 && ((t.startsWith("'") && t.endsWith("'")) || (t.startsWith('"') && t.endsWith('"')))) {
    return t.slice(1, -1).replace(/''/g, "'");
  }
  return t;
}

const indentOf = (line: string) => /^\s*/.exec(line)![0].length;

/** TAP: `not ok 1 - name` (any depth), the message from the YAML block's `error:` (inline or a `|-` block). */
function tapFailures(lines: string[]): FailingTest[] {
  const out: FailingTest[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = /^(\s*)not ok \d+(?: - (.*?))?(?:\s+#\s*(?:TODO|SKIP).*)?$/.exec(lines[i]!);
    if (!match || /#\s*(TODO|SKIP)/i.test(lines[i]!)) continue;
    const depth = match[1]!.length;
    let message = '';
    let suiteOnly = false;
    for (let j = i + 1; j < lines.length; j++) {
      const line = lines[j]!;
      if (line.trim() === '') continue;
      if (indentOf(line) <= depth) break;
      const field = /^\s*(\w+):\s*(.*)$/.exec(line);
      if (!field) continue;
      if (field[1] === 'failureType' && unquote(field[2]!) === 'subtestsFailed') suiteOnly = true;
      if (field[1] === 'error' && message === '') {
        const value = field[2]!.trim();
        if (value === '|-' || value === '|' || value === '>-' || value === '') {
          const next = lines.slice(j + 1).find((l) => l.trim() !== '');
          message = next ?? '';
        } else {
          message = unquote(value);
        }
      }
      if (/^\s*\.\.\.\s*$/.test(line)) break;
    }
    if (suiteOnly) continue;
    out.push({ name: clean((match[2] ?? '').replace(TRAILING_DURATION, '')), message: clean(message) });
  }
  return out;
}

/** node's spec reporter: `✖ name (1.6ms)` followed by a more indented message line; a suite has none. */
function specFailures(lines: string[]): FailingTest[] {
  const out: FailingTest[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = /^(\s*)✖ (.+)$/.exec(lines[i]!);
    if (!match || /^failing tests:?$/.test(match[2]!.trim())) continue;
    const next = lines.slice(i + 1).find((l) => l.trim() !== '');
    if (next === undefined || indentOf(next) <= match[1]!.length || /^\s*✖ /.test(next)) continue;
    out.push({ name: clean(match[2]!.replace(TRAILING_DURATION, '')), message: clean(next) });
  }
  return out;
}

/** vitest: ` FAIL  file > suite > name`, the error on the next non-empty line. */
function vitestFailures(lines: string[]): FailingTest[] {
  const out: FailingTest[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = /^\s*FAIL\s+(.+ > .+)$/.exec(lines[i]!);
    if (!match) continue;
    const next = lines.slice(i + 1).find((l) => l.trim() !== '') ?? '';
    out.push({ name: clean(match[1]!.replace(/\s*\[.*\]\s*$/, '')), message: clean(next) });
  }
  return out;
}

/** jest: `● suite › name`, the error on the next non-empty line. */
function jestFailures(lines: string[]): FailingTest[] {
  const out: FailingTest[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = /^\s*● (.+)$/.exec(lines[i]!);
    if (!match || /^Console$/.test(match[1]!.trim())) continue;
    const next = lines.slice(i + 1).find((l) => l.trim() !== '') ?? '';
    out.push({ name: clean(match[1]!), message: clean(next) });
  }
  return out;
}

/** pytest's short summary: `FAILED tests/test_a.py::test_x - AssertionError: ...`. */
function pytestFailures(lines: string[]): FailingTest[] {
  return lines.flatMap((line) => {
    const match = /^(?:FAILED|ERROR) (\S+::\S+|\S+\.py)(?: - (.*))?$/.exec(line.trim());
    return match ? [{ name: clean(match[1]!), message: clean(match[2] ?? '') }] : [];
  });
}

/** vitest/jest list lines without a detail block: `× name 6ms`, `✕ name (3 ms)`, `✗ name`. */
function markedFailures(lines: string[]): FailingTest[] {
  return lines.flatMap((line) => {
    const match = /^\s*[×✕✗] (.+)$/.exec(line);
    return match ? [{ name: clean(match[1]!.replace(TRAILING_DURATION, '')), message: '' }] : [];
  });
}

/** The failing tests of a run, first format that finds any wins; each name once. */
export function parseFailingTests(output: string): FailingTest[] {
  const lines = output.replace(ANSI, '').split(/\r?\n/);
  for (const parse of [vitestFailures, jestFailures, tapFailures, specFailures, pytestFailures, markedFailures]) {
    const found = parse(lines).filter((f) => f.name !== '');
    if (found.length === 0) continue;
    const seen = new Set<string>();
    return found.filter((f) => !seen.has(f.name) && seen.add(f.name));
  }
  return [];
}
