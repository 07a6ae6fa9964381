/**
 * @module Memory notes: what the swarm learned, per repository or global. Adds (validated: storable text within
 * `MEMORY_LIMITS` of `memory-limits.ts`, a known source), lists (newest first), reads and forgets notes; each add and forget writes its
 * `events` row in the same transaction. Search is `search-memory.ts`; vectors are `embeddings.ts`.
 */
import type { Kysely, Selectable } from 'kysely';
import { assertStorableText } from '../domain/input-policy.js';
import { AutodevError } from '../errors.js';
import { recordEvent } from '../events/record-event.js';
import { inTransaction } from '../store/in-transaction.js';
import type { Database, MemoryNotesTable, MemorySource } from '../store/schema.js';
import { isMemorySource, MEMORY_LIMITS, MEMORY_SOURCES } from './memory-limits.js';

export type MemoryNoteRow = Selectable<MemoryNotesTable>;

/** A note as the CLI, the API and the session tools show it. */
export interface MemoryNote {
  id: number;
  repo_id: number | null;
  source: MemorySource;
  text: string;
  subject: string | null;
  created_by: string;
  created_at: string;
}

export function noteToJson(row: MemoryNoteRow): MemoryNote {
  return {
    id: Number(row.id),
    repo_id: row.repo_id === null ? null : Number(row.repo_id),
    source: row.source,
    text: row.text,
    subject: row.subject,
    created_by: row.created_by,
    created_at: new Date(Number(row.created_at)).toISOString(),
  };
}

export interface NewMemoryNote {
  repoId: number | null;
  source: MemorySource;
  text: string;
  subject?: string | null;
  createdBy: string;
  now: number;
  /** Cut the text to `MEMORY_LIMITS.textMaxChars` instead of refusing it (the hooks' learnings). */
  truncate?: boolean;
}

/**
 * Stores a note (and a `memory.added` event) and returns it. Refuses, changing nothing, empty or unstorable text, an
 * unknown source or a repository that does not exist.
 *
 * ### Examples
 * ```ts
 * await addMemoryNote(db, { repoId: 1, source: 'review_lesson', text: 'Close the pg pool in tests', createdBy: 'cli', now: Date.now() });
 * ```
 */
export async function addMemoryNote(db: Kysely<Database>, note: NewMemoryNote): Promise<MemoryNote> {
  const text = checkNoteText(note.text, note.truncate ?? false);
  if (!isMemorySource(note.source)) {
    throw new AutodevError('VALIDATION_FAILED', `source must be one of ${MEMORY_SOURCES.join(', ')}`);
  }
  if (note.subject != null) assertStorableText('subject', note.subject, 200);
  return inTransaction(db, async (tx) => {
    if (note.repoId !== null) {
      const repo = await tx.selectFrom('repositories').select('id').where('id', '=', note.repoId).executeTakeFirst();
      if (!repo) throw new AutodevError('VALIDATION_FAILED', `repository ${note.repoId} does not exist`);
    }
    const row = await tx
      .insertInto('memory_notes')
      .values({
        repo_id: note.repoId,
        source: note.source,
        text,
        subject: note.subject ?? null,
        created_by: note.createdBy,
        created_at: note.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEvent(tx, {
      kind: 'memory.added',
      subjectType: 'memory_note',
      subjectId: String(row.id),
      actor: note.createdBy,
      data: { repo_id: note.repoId, source: note.source },
      now: note.now,
    });
    return noteToJson(row);
  });
}

function checkNoteText(raw: string, truncate: boolean): string {
  assertStorableText('text', raw);
  let text = raw.trim();
  if (text === '') throw new AutodevError('VALIDATION_FAILED', 'text must not be empty');
  if (text.length > MEMORY_LIMITS.textMaxChars) {
    if (!truncate) {
      throw new AutodevError(
        'VALIDATION_FAILED',
        `text must be at most ${MEMORY_LIMITS.textMaxChars} characters (got ${text.length})`,
      );
    }
    text = `${text.slice(0, MEMORY_LIMITS.textMaxChars - 1)}…`;
  }
  return text;
}

/** Which notes: one repository's (with or without the global ones), only the global ones, or all. */
export type MemoryScope =
  { kind: 'all' } | { kind: 'global' } | { kind: 'repo'; repoId: number; includeGlobal: boolean };

export interface ListMemoryOptions {
  scope: MemoryScope;
  source?: MemorySource | undefined;
  limit?: number | undefined;
}

/** Notes newest first. */
export async function listMemoryNotes(db: Kysely<Database>, options: ListMemoryOptions): Promise<MemoryNote[]> {
  let query = db.selectFrom('memory_notes').selectAll();
  const { scope } = options;
  if (scope.kind === 'global') query = query.where('repo_id', 'is', null);
  if (scope.kind === 'repo') {
    query = scope.includeGlobal
      ? query.where((eb) => eb.or([eb('repo_id', '=', scope.repoId), eb('repo_id', 'is', null)]))
      : query.where('repo_id', '=', scope.repoId);
  }
  if (options.source) query = query.where('source', '=', options.source);
  const rows = await query
    .orderBy('id', 'desc')
    .limit(Math.min(options.limit ?? 50, MEMORY_LIMITS.maxResults))
    .execute();
  return rows.map(noteToJson);
}

/** Deletes a note (its full-text entry goes with it) and records `memory.forgotten`; unknown id: MEMORY_NOTE_NOT_FOUND. */
export async function forgetMemoryNote(
  db: Kysely<Database>,
  id: number,
  options: { actor: string; now: number },
): Promise<MemoryNote> {
  return inTransaction(db, async (tx) => {
    const row = await tx.deleteFrom('memory_notes').where('id', '=', id).returningAll().executeTakeFirst();
    if (!row) throw new AutodevError('MEMORY_NOTE_NOT_FOUND', `no memory note has id ${id}`);
    await recordEvent(tx, {
      kind: 'memory.forgotten',
      subjectType: 'memory_note',
      subjectId: String(id),
      actor: options.actor,
      data: { repo_id: row.repo_id, source: row.source },
      now: options.now,
    });
    return noteToJson(row);
  });
}
