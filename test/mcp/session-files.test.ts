import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  appendOutbox,
  OUTBOX_FILE,
  readOutbox,
  readSessionContext,
  readSessionResult,
  RESULT_FILE,
  writeSessionContext,
  writeSessionResult,
} from '../../src/mcp/session-files.js';
import { makeSessionContext, makeSessionDir, removeSessionDirs } from './session-fixtures.js';

afterAll(removeSessionDirs);

const AT = new Date('2025-03-01T12:00:00.000Z');

describe('session context', () => {
  it('round-trips and keeps fields the runner adds later', async () => {
    const context = { ...makeSessionContext(), forge_mr_url: 'http://forge/mr/3' };
    const dir = await makeSessionDir(context);
    expect(await readSessionContext(dir)).toEqual(context);
  });

  it('refuses to write an invalid context and writes nothing', async () => {
    const dir = await makeSessionDir(null);
    const bad = makeSessionContext({ task: { id: 1, type: 'review_mr', priority: 11, payload: {}, attempts: 1 } });
    await expect(writeSessionContext(dir, bad)).rejects.toThrow(/task\.priority/);
    await expect(fs.readdir(dir)).resolves.toEqual([]);
  });

  it('names the file when it is missing or not JSON', async () => {
    const dir = await makeSessionDir(null);
    await expect(readSessionContext(dir)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('context.json does not exist'),
    });
    await fs.writeFile(path.join(dir, 'context.json'), '{"task":');
    await expect(readSessionContext(dir)).rejects.toThrow(/context\.json is not valid JSON/);
  });
});

describe('session result', () => {
  it('is undefined until written, then the last write wins, leaving no temp files', async () => {
    const dir = await makeSessionDir();
    expect(await readSessionResult(dir)).toBeUndefined();
    const first = { task_id: 42, task_type: 'review_mr', submitted_at: AT.toISOString(), result: { v: 1 } };
    await writeSessionResult(dir, first);
    await writeSessionResult(dir, { ...first, result: { v: 2 } });
    expect(await readSessionResult(dir)).toEqual({ ...first, result: { v: 2 } });
    expect((await fs.readdir(dir)).sort()).toEqual(['context.json', RESULT_FILE]);
  });

  it('throws on a result file it could not have written', async () => {
    const dir = await makeSessionDir();
    await fs.writeFile(path.join(dir, RESULT_FILE), JSON.stringify({ task_id: 'x', result: {} }));
    await expect(readSessionResult(dir)).rejects.toThrow(/result\.json is invalid: task_id/);
  });
});

describe('outbox', () => {
  it('is empty when absent and numbers entries in order', async () => {
    const dir = await makeSessionDir();
    expect(await readOutbox(dir)).toEqual({ entries: [], problems: [] });
    const first = await appendOutbox(
      dir,
      { kind: 'create_task', type: 'implement_fix', priority: 6, payload: { bug: 'npe' }, reason: 'found a bug' },
      { now: AT },
    );
    const second = await appendOutbox(dir, { kind: 'post_discussion', topic: 'flaky', body: 'x.test.ts' }, { now: AT });
    expect(first).toEqual({
      seq: 1,
      at: AT.toISOString(),
      kind: 'create_task',
      type: 'implement_fix',
      priority: 6,
      payload: { bug: 'npe' },
      reason: 'found a bug',
    });
    expect(second).toMatchObject({ seq: 2, kind: 'post_discussion' });
    expect(await readOutbox(dir)).toEqual({ entries: [first, second], problems: [] });
    const lines = (await fs.readFile(path.join(dir, OUTBOX_FILE), 'utf8')).split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0] ?? '')).toEqual(first);
  });

  it('gives concurrent appends distinct, dense sequence numbers', async () => {
    const dir = await makeSessionDir();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        appendOutbox(dir, { kind: 'post_discussion', topic: `t${i}`, body: 'b' }, { now: AT }),
      ),
    );
    const { entries, problems } = await readOutbox(dir);
    expect(problems).toEqual([]);
    expect(entries.map((entry) => entry.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  });

  it('skips and reports corrupt lines, and appends after a cut-off line on a fresh line', async () => {
    const dir = await makeSessionDir();
    await appendOutbox(dir, { kind: 'post_discussion', topic: 'a', body: 'one' }, { now: AT });
    const file = path.join(dir, OUTBOX_FILE);
    await fs.appendFile(file, '{"seq":2,"kind":"post_discussion","topic":"b","bo'); // a crash mid-write
    await appendOutbox(dir, { kind: 'post_discussion', topic: 'c', body: 'three' }, { now: AT });
    await fs.appendFile(file, `${JSON.stringify({ seq: 4, at: AT.toISOString(), kind: 'delete_repo' })}\n`);
    await fs.appendFile(file, `${JSON.stringify({ seq: 5, at: AT.toISOString(), kind: 'create_task' })}\n`);

    const { entries, problems } = await readOutbox(dir);
    expect(entries.map((entry) => [entry.seq, entry.kind === 'post_discussion' && entry.topic])).toEqual([
      [1, 'a'],
      [3, 'c'],
    ]);
    expect(problems).toEqual([
      { line: 2, reason: 'not valid JSON' },
      { line: 4, reason: expect.stringContaining('kind') },
      { line: 5, reason: expect.stringMatching(/type.*priority|priority.*type/s) },
    ]);
  });

  it('refuses an invalid request and writes nothing', async () => {
    const dir = await makeSessionDir();
    await expect(appendOutbox(dir, { kind: 'post_discussion', topic: '  ', body: 'b' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('topic'),
    });
    await expect(
      appendOutbox(dir, {
        kind: 'create_task',
        type: 'hack_the_planet' as never,
        priority: 5,
        payload: {},
        reason: 'r',
      }),
    ).rejects.toThrow(/type: unknown task type/);
    expect(await readOutbox(dir)).toEqual({ entries: [], problems: [] });
  });
});
