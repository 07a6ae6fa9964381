/**
 * @module Migration 0014: the swarm's memory. `memory_notes` holds what agents learned, per repository (`repo_id`
 * null = global), with its source (analyze_repo summary, approved-spec decision, review lesson, failed-round cause,
 * human rejection reason, agent note) and, when an embeddings endpoint is configured, its vector (`embedding`, JSON
 * text of floats, and the model that made it). Full-text search on both engines:
 * - SQLite: an FTS5 external-content table `memory_notes_fts` over `memory_notes(text)`, kept in sync by triggers
 *   (insert, delete, update of text), tokenizer `porter unicode61` (English stemming, case and accents folded).
 * - PostgreSQL: a stored generated `tsvector` column (`to_tsvector('english', text)`) with a GIN index.
 * Released migrations are never edited; add a new file.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { DialectCapabilities } from '../dialect.js';

export function memoryNotesMigration(dialect: DialectCapabilities): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('memory_notes')
        .addColumn('id', dialect.idColumnType, (c) =>
          dialect.name === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
        )
        .addColumn('repo_id', dialect.idColumnType, (c) => c.references('repositories.id').onDelete('cascade'))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('subject', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('embedding', 'text')
        .addColumn('embedding_model', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('memory_notes_repo_idx').on('memory_notes').columns(['repo_id', 'id']).execute();
      if (dialect.name === 'postgres') {
        await sql`alter table memory_notes add column text_search tsvector
          generated always as (to_tsvector('english', text)) stored`.execute(db);
        await sql`create index memory_notes_text_search_idx on memory_notes using gin (text_search)`.execute(db);
        return;
      }
      await sql`create virtual table memory_notes_fts using fts5(
        text, content = 'memory_notes', content_rowid = 'id', tokenize = 'porter unicode61')`.execute(db);
      await sql`create trigger memory_notes_fts_insert after insert on memory_notes begin
        insert into memory_notes_fts (rowid, text) values (new.id, new.text);
      end`.execute(db);
      await sql`create trigger memory_notes_fts_delete after delete on memory_notes begin
        insert into memory_notes_fts (memory_notes_fts, rowid, text) values ('delete', old.id, old.text);
      end`.execute(db);
      await sql`create trigger memory_notes_fts_update after update of text on memory_notes begin
        insert into memory_notes_fts (memory_notes_fts, rowid, text) values ('delete', old.id, old.text);
        insert into memory_notes_fts (rowid, text) values (new.id, new.text);
      end`.execute(db);
    },
  };
}
