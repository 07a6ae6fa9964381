/**
 * @module The record of a publish, per product and target: which steps are done (with what they returned: a release
 * id, an uploaded file's URL) and how the last attempt ended. A publisher runs each step through `step(name, fn)`: a
 * step already done is not run again, so a retry after a crash or a failure continues where the last one stopped
 * (each step still checks the remote first, for a crash between doing a step and recording it). The file journal
 * keeps it as JSON in `<state-dir>/<product>/<version>/<target>.json` (a new version starts a new record), outside the product directory an agent writes, written
 * atomically (temp file + rename) and masked.
 *
 * ### Examples
 * ```ts
 * const journal = fileJournal('/data/publish-state', { product: 'text-kit', version: '1.0.0', target: 'npm' }, masker);
 * const release = await journal.step('create_release', () => createRelease()); // recorded; skipped on retry
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SecretMasker } from '../secrets/secret-masker.js';
import type { PublishTarget } from './publisher.js';

export interface JournalStep {
  name: string;
  done_at: string;
  /** What the step returned (JSON), e.g. `{ id: 12 }`. */
  value: unknown;
}

export interface JournalOutcome {
  status: 'published' | 'already_published' | 'failed' | 'missing_secrets';
  url: string | null;
  error: string | null;
  finished_at: string;
}

export interface JournalKey {
  product: string;
  version: string;
  target: PublishTarget;
}

export interface JournalRecord extends JournalKey {
  steps: JournalStep[];
  last: JournalOutcome | null;
}

export interface PublishJournal {
  /** Runs `run` unless a step of this name is recorded as done; records and returns its value. */
  step<T>(name: string, run: () => Promise<T>): Promise<T>;
  /** The record as it stands (steps done so far, last outcome). */
  read(): JournalRecord;
  /** Records how this attempt ended. */
  finish(outcome: Omit<JournalOutcome, 'finished_at'>): void;
}

class Journal implements PublishJournal {
  private record: JournalRecord;

  constructor(
    initial: JournalRecord,
    private readonly persist: (record: JournalRecord) => void,
    private readonly masker: SecretMasker | undefined,
    private readonly now: () => Date,
  ) {
    this.record = initial;
  }

  async step<T>(name: string, run: () => Promise<T>): Promise<T> {
    const done = this.record.steps.find((s) => s.name === name);
    if (done) return done.value as T;
    const value = await run();
    const stored = this.masker ? this.masker.mask(value) : value;
    this.record = {
      ...this.record,
      steps: [...this.record.steps, { name, done_at: this.now().toISOString(), value: stored ?? null }],
    };
    this.persist(this.record);
    return value;
  }

  read(): JournalRecord {
    return structuredClone(this.record);
  }

  finish(outcome: Omit<JournalOutcome, 'finished_at'>): void {
    const masked = this.masker ? this.masker.mask(outcome) : outcome;
    this.record = { ...this.record, last: { ...masked, finished_at: this.now().toISOString() } };
    this.persist(this.record);
  }
}

/** A journal kept in memory only (tests, dry runs). */
export function memoryJournal(key: JournalKey, now: () => Date = () => new Date()): PublishJournal {
  return new Journal({ ...key, steps: [], last: null }, () => undefined, undefined, now);
}

/** Where the file journal of a product's version and target lives. */
export function journalFile(stateDir: string, key: JournalKey): string {
  return path.join(stateDir, key.product, key.version, `${key.target}.json`);
}

/** The journal of `key` in `stateDir`, read from its file if an earlier attempt left one. */
export function fileJournal(
  stateDir: string,
  key: JournalKey,
  masker?: SecretMasker,
  now: () => Date = () => new Date(),
): PublishJournal {
  const file = journalFile(stateDir, key);
  let initial: JournalRecord = { ...key, steps: [], last: null };
  if (fs.existsSync(file)) {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as JournalRecord;
    const same = parsed.product === key.product && parsed.version === key.version && parsed.target === key.target;
    if (same && Array.isArray(parsed.steps)) initial = parsed;
  }
  const persist = (record: JournalRecord) => {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(temp, file);
  };
  return new Journal(initial, persist, masker, now);
}
