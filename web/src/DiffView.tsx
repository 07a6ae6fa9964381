/**
 * @module A unified diff as the merge approval shows it: per file a collapsible block with +/- lines coloured, old
 * and new line numbers, monospace, scrolling sideways inside the block (never the page). The diff is repository
 * text: it is rendered as text nodes (React escapes it), never as HTML.
 */
import { useMemo } from 'react';

type LineKind = 'hunk' | 'add' | 'del' | 'ctx' | 'meta';

interface DiffLine {
  kind: LineKind;
  text: string;
  oldNo: number | null;
  newNo: number | null;
}

export interface DiffFile {
  path: string;
  /** added, deleted, renamed, binary or modified. */
  change: string;
  lines: DiffLine[];
  additions: number;
  deletions: number;
}

/** "a/x b/y" -> y (good enough when the --- / +++ lines are absent: mode-only changes, binaries). */
function pathFromGitLine(line: string): string {
  const rest = line.slice('diff --git '.length);
  const b = rest.lastIndexOf(' b/');
  return b >= 0 ? rest.slice(b + 3) : rest;
}

/** Splits `git diff` output into files and numbered lines. Pure; tolerates a diff cut in the middle. */
export function parseDiff(text: string): DiffFile[] {
  const files: DiffFile[] = [];
  let file: DiffFile | undefined;
  let oldNo = 0;
  let newNo = 0;
  let inHunk = false;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    if (line.startsWith('diff --git ')) {
      file = { path: pathFromGitLine(line), change: 'modified', lines: [], additions: 0, deletions: 0 };
      files.push(file);
      inHunk = false;
      continue;
    }
    if (!file) continue;
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (hunk) {
      oldNo = Number(hunk[1]);
      newNo = Number(hunk[2]);
      inHunk = true;
      file.lines.push({ kind: 'hunk', text: line, oldNo: null, newNo: null });
      continue;
    }
    if (!inHunk) {
      if (line.startsWith('+++ ') && line !== '+++ /dev/null') file.path = line.slice(4).replace(/^b\//, '');
      else if (line.startsWith('new file mode')) file.change = 'added';
      else if (line.startsWith('deleted file mode')) file.change = 'deleted';
      else if (line.startsWith('rename to ')) file.change = 'renamed';
      else if (line.startsWith('Binary files ')) {
        file.change = 'binary';
        file.lines.push({ kind: 'meta', text: line, oldNo: null, newNo: null });
      }
      continue;
    }
    if (line.startsWith('+')) {
      file.lines.push({ kind: 'add', text: line, oldNo: null, newNo: newNo++ });
      file.additions++;
    } else if (line.startsWith('-')) {
      file.lines.push({ kind: 'del', text: line, oldNo: oldNo++, newNo: null });
      file.deletions++;
    } else if (line.startsWith('\\')) {
      file.lines.push({ kind: 'meta', text: line, oldNo: null, newNo: null });
    } else {
      file.lines.push({ kind: 'ctx', text: line, oldNo: oldNo++, newNo: newNo++ });
    }
  }
  return files;
}

/** Files open at first while the whole diff is at most this many lines; a bigger one starts collapsed. */
const OPEN_UP_TO_LINES = 1500;

export default function DiffView({
  text,
  truncated,
  limitBytes,
}: {
  text: string;
  truncated: boolean;
  limitBytes: number;
}) {
  const files = useMemo(() => parseDiff(text), [text]);
  const total = files.reduce((n, f) => n + f.lines.length, 0);
  const additions = files.reduce((n, f) => n + f.additions, 0);
  const deletions = files.reduce((n, f) => n + f.deletions, 0);
  if (files.length === 0) return <p className="muted">No changes: the branch adds nothing to its target.</p>;
  return (
    <div className="diff" data-testid="diff">
      <p className="diff-stat">
        {files.length} file{files.length === 1 ? '' : 's'} changed, <span className="diff-add">+{additions}</span>{' '}
        <span className="diff-del">−{deletions}</span>
      </p>
      {truncated ? (
        <p className="notice diff-truncated" role="note">
          The diff is longer than {Math.round(limitBytes / 1024)} kB and is cut here; see the rest with{' '}
          <code>git diff</code> in the repository.
        </p>
      ) : null}
      {files.map((file, index) => (
        <details key={`${index}-${file.path}`} className="diff-file" open={total <= OPEN_UP_TO_LINES}>
          <summary>
            <span className="diff-path">{file.path}</span>
            {file.change !== 'modified' ? <span className="diff-change">{file.change}</span> : null}
            <span className="diff-add">+{file.additions}</span> <span className="diff-del">−{file.deletions}</span>
          </summary>
          <div className="diff-scroll">
            <table className="diff-lines">
              <tbody>
                {file.lines.map((line, n) => (
                  <tr key={n} className={`dl-${line.kind}`}>
                    <td className="ln" data-n={line.oldNo ?? ''} />
                    <td className="ln" data-n={line.newNo ?? ''} />
                    <td className="code">{line.text}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      ))}
    </div>
  );
}
