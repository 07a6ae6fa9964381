/**
 * @module The session memory channel on both engines: the MCP tools `search_memory` / `add_memory` reach the notes of
 * the session's repository (plus global) through the runner's unix socket, and a hostile client on that socket — no
 * token, a wrong one, an expired one, a revoked one (session over), another task's id, another repository's id, other
 * routes, junk bodies — gets nothing and changes nothing.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createMemoryService } from '../../src/memory/memory-service.js';
import {
  MEMORY_CHANNEL_FILE,
  MemoryChannelFileSchema,
  openMemoryChannel,
  type MemoryChannel,
} from '../../src/memory/memory-channel.js';
import { callMemoryChannel } from '../../src/mcp/memory-tools.js';
import { addMemoryNote } from '../../src/memory/memory-notes.js';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { connectClient, makeSessionDir, removeSessionDirs, textOf } from '../mcp/session-fixtures.js';
import { insertRepo } from './memory-fixtures.js';

afterAll(removeSessionDirs);
const NOW = Date.UTC(2026, 11, 1);

describe.each(DIALECTS)('%s: session memory channel', (dialect) => {
  const t = useTestDatabase(dialect);
  let channel: MemoryChannel | undefined;
  afterEach(async () => {
    await channel?.close();
    channel = undefined;
  });

  async function setUp(options: { expiresAt?: number; clock?: () => number; maxAdds?: number } = {}) {
    const db = t.handle.db;
    const shop = await insertRepo(db, 'shop');
    const blog = await insertRepo(db, 'blog');
    const add = (repoId: number | null, text: string) =>
      addMemoryNote(db, { repoId, source: 'review_lesson', text, createdBy: 'cli', now: NOW });
    const own = await add(shop, 'Shop: the payment tests need STRIPE_MODE=mock');
    const global = await add(null, 'Everywhere: payment amounts are integer cents');
    const other = await add(blog, 'Blog secret plan: payment wall in March');
    const dir = await makeSessionDir();
    const memory = createMemoryService({ handle: t.handle, settings: SettingsSchema.parse({}).memory });
    channel = await openMemoryChannel({
      sessionDir: dir,
      scope: { sessionId: 9, taskId: 42, repoId: shop },
      memory,
      expiresAt: options.expiresAt ?? NOW + 3_600_000,
      clock: options.clock ?? (() => NOW),
      author: 'reviewer:reviewer-1',
      ...(options.maxAdds ? { maxAdds: options.maxAdds } : {}),
    });
    const file = MemoryChannelFileSchema.parse(
      JSON.parse(await fs.readFile(path.join(dir, MEMORY_CHANNEL_FILE), 'utf8')),
    );
    return { dir, file, shop, blog, own, global, other };
  }

  const noteCount = async () => (await t.handle.db.selectFrom('memory_notes').select('id').execute()).length;

  it('search_memory finds the repository and global notes, never another repository; add_memory saves to this one', async () => {
    const { dir, own, global, shop } = await setUp();
    const connected = await connectClient(dir);
    try {
      const { tools } = await connected.client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['search_memory', 'add_memory']));
      const found = await connected.client.callTool({ name: 'search_memory', arguments: { query: 'payment tests' } });
      expect(found.isError).toBeFalsy();
      const notes = JSON.parse((found.content as { text: string }[])[1]!.text) as { id: number; scope: string }[];
      expect(notes.map((n) => n.id).sort()).toEqual([own.id, global.id].sort());
      expect(notes.find((n) => n.id === global.id)?.scope).toBe('global');
      expect(textOf(found)).not.toContain('Blog secret plan');

      const added = await connected.client.callTool({
        name: 'add_memory',
        arguments: { text: 'Run the payment tests with --runInBand' },
      });
      expect(added.isError, textOf(added)).toBeFalsy();
      const row = await t.handle.db
        .selectFrom('memory_notes')
        .selectAll()
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({
        repo_id: shop,
        source: 'agent_note',
        subject: 'task:42',
        created_by: 'reviewer:reviewer-1',
        text: 'Run the payment tests with --runInBand',
      });
    } finally {
      await connected.close();
    }
  });

  it('a hostile client: no, wrong, expired or revoked token, another task or repository, other routes, junk', async () => {
    let now = NOW;
    const { dir, file, blog } = await setUp({ expiresAt: NOW + 60_000, clock: () => now });
    const before = await noteCount();
    const search = { query: 'payment' };
    const code = (answer: { body: unknown }) => (answer.body as { error?: { code?: string } }).error?.code;

    const good = await callMemoryChannel(file, '/v1/search', search);
    expect(good.status).toBe(200);

    for (const token of ['', 'x'.repeat(43), `${file.token}x`, file.token.slice(0, -1), 'a b', '../../etc']) {
      const answer = await callMemoryChannel({ ...file, token }, '/v1/search', search);
      expect(answer.status, token).toBe(401);
      expect(code(answer)).toBe('UNAUTHORIZED');
    }
    const otherTask = await callMemoryChannel(file, '/v1/search', { ...search, task_id: 41 });
    expect([otherTask.status, code(otherTask)]).toEqual([403, 'FORBIDDEN']);
    const otherRepo = await callMemoryChannel(file, '/v1/add', { text: 'planted', repo_id: blog });
    expect([otherRepo.status, code(otherRepo)]).toEqual([403, 'FORBIDDEN']);
    const globalAdd = await callMemoryChannel(file, '/v1/add', { text: 'planted', repo_id: null });
    expect(globalAdd.status).toBe(403);
    // Fields the protocol does not have (a source, an author, a scope) are refused, not ignored.
    const forged = await callMemoryChannel(file, '/v1/add', { text: 'planted', source: 'human_rejection' });
    expect([forged.status, code(forged)]).toEqual([400, 'VALIDATION_FAILED']);
    for (const route of ['/v1/list', '/v1/forget', '/api/memory', '/v1/search/../add']) {
      expect((await callMemoryChannel(file, route, search)).status, route).toBe(404);
    }
    const junk = await callMemoryChannel(file, '/v1/search', 'not an object');
    expect(junk.status).toBe(400);
    const huge = await callMemoryChannel(file, '/v1/add', { text: 'x'.repeat(20_000) });
    expect(huge.status).toBe(400);
    expect(await noteCount()).toBe(before);

    // Expired: the clock passes expiresAt while the channel is still open.
    now = NOW + 60_000;
    const expired = await callMemoryChannel(file, '/v1/search', search);
    expect([expired.status, code(expired)]).toEqual([401, 'UNAUTHORIZED']);

    // The session ended: the socket is gone and the token revoked.
    await channel!.close();
    await expect(callMemoryChannel(file, '/v1/search', search)).rejects.toThrow(/ENOENT|ECONNREFUSED/);
    // And the tool says so instead of failing the session.
    const connected = await connectClient(dir);
    try {
      const answer = await connected.client.callTool({ name: 'search_memory', arguments: { query: 'payment' } });
      expect(answer.isError).toBe(true);
      expect(textOf(answer)).toMatch(/could not be reached/);
    } finally {
      await connected.close();
    }
  });

  it('caps the notes one session adds', async () => {
    const { file } = await setUp({ maxAdds: 2 });
    expect((await callMemoryChannel(file, '/v1/add', { text: 'one' })).status).toBe(201);
    expect((await callMemoryChannel(file, '/v1/add', { text: 'two' })).status).toBe(201);
    const third = await callMemoryChannel(file, '/v1/add', { text: 'three' });
    expect(third.status).toBe(400);
    expect(JSON.stringify(third.body)).toMatch(/already added 2 notes/);
  });
});
