/**
 * @module Memory notes on both engines: add/list/forget with their events, refusals that change nothing, and the
 * full-text index (SQLite FTS5 kept in sync by triggers; PostgreSQL tsvector) found by word, stem and scope, with
 * query syntax of either engine treated as plain words.
 */
import { describe, expect, it } from 'vitest';
import { addMemoryNote, forgetMemoryNote, listMemoryNotes } from '../../src/memory/memory-notes.js';
import { searchMemoryText } from '../../src/memory/search-memory.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { expectCode } from '../support/expect-error.js';
import { insertRepo } from './memory-fixtures.js';

const NOW = Date.UTC(2026, 11, 1);

describe.each(DIALECTS)('%s: memory notes', (dialect) => {
  const t = useTestDatabase(dialect);
  const db = () => t.handle.db;

  it('adds, lists newest first by scope, and forgets a note with an event for each', async () => {
    const shop = await insertRepo(db(), 'shop');
    const blog = await insertRepo(db(), 'blog');
    const a = await addMemoryNote(db(), {
      repoId: shop,
      source: 'review_lesson',
      text: 'Close the pg pool in afterAll',
      subject: 'task:4',
      createdBy: 'reviewer:r-1',
      now: NOW,
    });
    const g = await addMemoryNote(db(), {
      repoId: null,
      source: 'human_note',
      text: 'Use UTC',
      createdBy: 'cli',
      now: NOW + 1,
    });
    await addMemoryNote(db(), {
      repoId: blog,
      source: 'agent_note',
      text: 'Blog uses Astro',
      createdBy: 'cli',
      now: NOW + 2,
    });
    expect(a).toEqual({
      id: a.id,
      repo_id: shop,
      source: 'review_lesson',
      text: 'Close the pg pool in afterAll',
      subject: 'task:4',
      created_by: 'reviewer:r-1',
      created_at: new Date(NOW).toISOString(),
    });
    const shopNotes = await listMemoryNotes(db(), { scope: { kind: 'repo', repoId: shop, includeGlobal: true } });
    expect(shopNotes.map((n) => n.id)).toEqual([g.id, a.id]);
    expect((await listMemoryNotes(db(), { scope: { kind: 'global' } })).map((n) => n.id)).toEqual([g.id]);
    expect(await listMemoryNotes(db(), { scope: { kind: 'all' } })).toHaveLength(3);
    expect(await listMemoryNotes(db(), { scope: { kind: 'all' }, source: 'agent_note' })).toHaveLength(1);

    await forgetMemoryNote(db(), a.id, { actor: 'cli', now: NOW + 3 });
    const found = await searchMemoryText(t.handle, { query: 'pool', scope: { kind: 'all' } });
    expect(found).toEqual([]);
    const events = await db().selectFrom('events').select(['kind', 'subject_id']).orderBy('id').execute();
    expect(events.map((e) => e.kind)).toEqual(['memory.added', 'memory.added', 'memory.added', 'memory.forgotten']);
    await expectCode(forgetMemoryNote(db(), a.id, { actor: 'cli', now: NOW }), 'MEMORY_NOTE_NOT_FOUND');
  });

  it('refuses empty, too long, unstorable text, an unknown source or repository, and stores nothing', async () => {
    const base = { repoId: null, source: 'agent_note' as const, createdBy: 'cli', now: NOW };
    await expectCode(addMemoryNote(db(), { ...base, text: '   ' }), 'VALIDATION_FAILED');
    await expectCode(addMemoryNote(db(), { ...base, text: 'x'.repeat(4001) }), 'VALIDATION_FAILED');
    await expectCode(addMemoryNote(db(), { ...base, text: 'a\u0000b' }), 'VALIDATION_FAILED');
    await expectCode(addMemoryNote(db(), { ...base, text: 'ok', source: 'gossip' as never }), 'VALIDATION_FAILED');
    await expectCode(addMemoryNote(db(), { ...base, repoId: 999, text: 'ok' }), 'VALIDATION_FAILED');
    expect(await db().selectFrom('memory_notes').selectAll().execute()).toEqual([]);
    expect(await db().selectFrom('events').selectAll().execute()).toEqual([]);
    // A hook's long learning is cut, not refused.
    const cut = await addMemoryNote(db(), { ...base, text: 'y'.repeat(5000), truncate: true });
    expect(cut.text).toHaveLength(4000);
  });

  it('finds notes by any word and by stem, best first, within the repository plus global scope', async () => {
    const shop = await insertRepo(db(), 'shop');
    const blog = await insertRepo(db(), 'blog');
    const add = (repoId: number | null, text: string) =>
      addMemoryNote(db(), { repoId, source: 'agent_note', text, createdBy: 'cli', now: NOW });
    const pool = await add(shop, 'Tests hang unless the database pool is closed in afterAll');
    const both = await add(shop, 'Database migrations: the pool must be closed before migrating, pool size 5');
    const global = await add(null, 'Migrating the database needs a backup first');
    await add(blog, 'The blog database pool is shared');

    const scope = { kind: 'repo' as const, repoId: shop, includeGlobal: true };
    const found = await searchMemoryText(t.handle, { query: 'database pool', scope, limit: 10 });
    expect(found.map((n) => n.id).sort()).toEqual([pool.id, both.id, global.id].sort());
    expect(found[0]!.id).toBe(both.id); // both words, "pool" twice
    // Stemming: "migrations" finds "migrating".
    const stems = await searchMemoryText(t.handle, { query: 'migrations', scope, limit: 10 });
    expect(stems.map((n) => n.id).sort()).toEqual([both.id, global.id].sort());
    // Only the repository's own, without the global notes.
    const own = await searchMemoryText(t.handle, {
      query: 'migrating',
      scope: { kind: 'repo', repoId: shop, includeGlobal: false },
    });
    expect(own.map((n) => n.id)).toEqual([both.id]);
  });

  it('treats the query syntax of either engine as plain words', async () => {
    await addMemoryNote(db(), {
      repoId: null,
      source: 'agent_note',
      text: 'quote "near" tokens',
      createdBy: 'cli',
      now: NOW,
    });
    for (const query of ['"unbalanced', 'NEAR(a b)', 'pool:* & !x | (', "o'brien --", '*', 'quote" OR "x']) {
      await expect(searchMemoryText(t.handle, { query, scope: { kind: 'all' } })).resolves.toBeInstanceOf(Array);
    }
    const hit = await searchMemoryText(t.handle, { query: 'NEAR("quote"', scope: { kind: 'all' } });
    expect(hit).toHaveLength(1);
    await expectCode(searchMemoryText(t.handle, { query: ' ', scope: { kind: 'all' } }), 'VALIDATION_FAILED');
  });
});
