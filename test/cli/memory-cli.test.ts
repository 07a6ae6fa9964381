/**
 * @module `autodev memory add|list|search|forget` in process on both engines: notes by repository and global, search
 * best first, JSON output, and refusals (unknown repository, bad id, bad limit or source, empty text) with exit 2 and
 * nothing stored.
 */
import { describe, expect, it } from 'vitest';
import { insertRepo } from '../memory/memory-fixtures.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { runCliInProcessOn } from '../support/in-process-cli.js';

describe.each(DIALECTS)('%s: autodev memory', (dialect) => {
  const t = useTestDatabase(dialect);
  const cli = (...args: string[]) => runCliInProcessOn(t, args);

  it('adds, lists, searches and forgets notes', async () => {
    await insertRepo(t.handle.db, 'shop');
    const added = await cli('memory', 'add', 'Checkout tests need the Stripe mock', '--repo', 'shop', '--json');
    expect(added.code, added.stderr).toBe(0);
    const note = JSON.parse(added.stdout) as { id: number; source: string; created_by: string };
    expect(note).toMatchObject({ source: 'human_note', created_by: expect.stringMatching(/^cli:/) });
    const global = await cli('memory', 'add', 'Every service logs in UTC');
    expect(global.stdout).toMatch(/^note \d+ saved \(global\)\n$/);

    const list = await cli('memory', 'list', '--repo', 'shop');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/ID\s+SCOPE\s+SOURCE\s+DATE\s+TEXT/);
    expect(list.stdout).toContain('Checkout tests need the Stripe mock');
    expect(list.stdout).toContain('Every service logs in UTC');

    const search = await cli('memory', 'search', 'stripe', 'checkout', '--repo', 'shop', '--json');
    expect(search.code, search.stderr).toBe(0);
    expect((JSON.parse(search.stdout) as { notes: { id: number }[] }).notes.map((n) => n.id)).toEqual([note.id]);
    expect((await cli('memory', 'search', 'nothing-like-this')).stdout).toBe('no notes\n');

    const forgot = await cli('memory', 'forget', String(note.id));
    expect([forgot.code, forgot.stdout]).toEqual([0, `note ${note.id} forgotten\n`]);
    const again = await cli('memory', 'forget', String(note.id));
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no memory note has id/);
  });

  it('refuses bad input with exit 2 and stores nothing', async () => {
    for (const args of [
      ['memory', 'add', 'x', '--repo', 'nope'],
      ['memory', 'add', '   '],
      ['memory', 'forget', '1e0'],
      ['memory', 'list', '--limit', '0'],
      ['memory', 'list', '--source', 'gossip'],
      ['memory', 'search', 'x', '--limit', '101'],
    ]) {
      const outcome = await cli(...args);
      expect(outcome.code, args.join(' ')).toBe(2);
      expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(await t.handle.db.selectFrom('memory_notes').selectAll().execute()).toEqual([]);
  });
});
