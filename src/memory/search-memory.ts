/**
 * @module Full-text search over memory notes, on the engine's own index: SQLite FTS5 (`memory_notes_fts`, ranked by
 * bm25) or PostgreSQL's `text_search` tsvector (GIN, ranked by `ts_rank_cd`). The query is reduced to its words
 * (letters and digits, at most 32) and any of them may match, best first: the caller's text is never handed to the
 * query syntax of either engine, so quotes, `NEAR`, `:*` or `!` in it are plain text. Scope: one repository's notes
 * plus the global ones, or only the global ones, or all.
 */
import { sql, type Kysely } from 'kysely';
import type { DialectCapabilities } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import { assertStorableText } from '../domain/input-policy.js';
import { AutodevError } from '../errors.js';
import { MEMORY_LIMITS } from './memory-limits.js';
import { noteToJson, type MemoryNote, type MemoryNoteRow, type MemoryScope } from './memory-notes.js';

/** A note found by a search, with its rank (higher is better; only comparable within one search). */
export interface FoundMemoryNote extends MemoryNote {
  score: number;
}

export interface SearchMemoryOptions {
  query: string;
  scope: MemoryScope;
  limit?: number | undefined;
}

const MAX_QUERY_WORDS = 32;

/** The words of a query, lower-cased and deduplicated: what both engines' queries are built from. */
export function queryWords(query: string): string[] {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words)].slice(0, MAX_QUERY_WORDS);
}

/** Checks a query as every entry point must: storable text, 1..queryMaxChars characters. Returns it trimmed. */
export function checkMemoryQuery(query: string): string {
  assertStorableText('query', query, MEMORY_LIMITS.queryMaxChars);
  const trimmed = query.trim();
  if (trimmed === '') throw new AutodevError('VALIDATION_FAILED', 'query must not be empty');
  return trimmed;
}

/**
 * Full-text search, best match first. A query with no word (only punctuation) finds nothing.
 *
 * ### Examples
 * ```ts
 * await searchMemoryText(handle, { query: 'flaky pool teardown', scope: { kind: 'repo', repoId: 1, includeGlobal: true } });
 * // -> [{ id: 7, text: 'Close the pg pool in afterAll ...', score: 3.2, ... }]
 * ```
 */
export async function searchMemoryText(
  handle: { db: Kysely<Database>; dialect: DialectCapabilities },
  options: SearchMemoryOptions,
): Promise<FoundMemoryNote[]> {
  const words = queryWords(checkMemoryQuery(options.query));
  if (words.length === 0) return [];
  const limit = Math.max(1, Math.min(options.limit ?? 5, MEMORY_LIMITS.maxResults));
  const scope = scopeCondition(options.scope);
  if (handle.dialect.name === 'postgres') {
    // Each word goes through to_tsvector's parser as a parameter, so nothing in it is tsquery syntax.
    const ors = sql.join(
      words.map((word) => sql`plainto_tsquery('english', ${word})`),
      sql` || `,
    );
    const rows = await sql<MemoryNoteRow & { score: number }>`
      select n.id, n.repo_id, n.source, n.text, n.subject, n.created_by, n.embedding, n.embedding_model, n.created_at,
        ts_rank_cd(n.text_search, q.query) as score
      from memory_notes n, (select ${ors} as query) q
      where n.text_search @@ q.query and ${scope}
      order by score desc, n.id desc
      limit ${limit}`.execute(handle.db);
    return rows.rows.map((row) => ({ ...noteToJson(row), score: Number(row.score) }));
  }
  // FTS5: each word as a quoted string (a "" inside is an escaped quote), joined by OR. `cross join` keeps the FTS
  // table first: otherwise SQLite may walk the scope's notes and run the full-text query once per note.
  const match = words.map((word) => `"${word.replaceAll('"', '""')}"`).join(' OR ');
  const rows = await sql<MemoryNoteRow & { score: number }>`
    select n.id, n.repo_id, n.source, n.text, n.subject, n.created_by, n.embedding, n.embedding_model, n.created_at,
      -bm25(memory_notes_fts) as score
    from memory_notes_fts f cross join memory_notes n on n.id = f.rowid
    where memory_notes_fts match ${match} and ${scope}
    order by bm25(memory_notes_fts), n.id desc
    limit ${limit}`.execute(handle.db);
  return rows.rows.map((row) => ({ ...noteToJson(row), score: Number(row.score) }));
}

/** The scope as a condition on `n` (the notes table's alias). */
export function scopeCondition(scope: MemoryScope) {
  if (scope.kind === 'all') return sql`true`;
  if (scope.kind === 'global') return sql`n.repo_id is null`;
  return scope.includeGlobal
    ? sql`(n.repo_id = ${scope.repoId} or n.repo_id is null)`
    : sql`n.repo_id = ${scope.repoId}`;
}
