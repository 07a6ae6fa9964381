import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AutodevError } from '../../src/errors.js';
import {
  authenticate,
  createApiToken,
  ensureAdminToken,
  ensureSharedAdminToken,
  hashToken,
} from '../../src/server/api-tokens.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';

describe('hashToken', () => {
  it('is lowercase sha256 hex', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe.each(DIALECTS)('%s: API tokens', (dialect) => {
  const t = useTestDatabase(dialect);
  let n = 0;
  const freshDir = () => path.join(t.dir, `data-${++n}`, 'nested');
  const tokenRows = () => t.handle.db.selectFrom('api_tokens').selectAll().execute();

  describe('ensureAdminToken', () => {
    it('creates the directory, a 0600 token file and its hash on first start', async () => {
      const dir = freshDir();
      const result = await ensureAdminToken(t.handle.db, dir, 1_700_000_000_000);
      expect(result).toEqual({ path: path.join(dir, 'admin-token'), created: true });
      expect(fs.statSync(result.path).mode & 0o777).toBe(0o600);
      const token = fs.readFileSync(result.path, 'utf8').trim();
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const rows = await tokenRows();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ name: 'admin', role: 'admin', token_hash: hashToken(token), revoked_at: null });
      expect(fs.readdirSync(dir)).toEqual(['admin-token']);
    });

    it('is idempotent', async () => {
      const dir = freshDir();
      const first = await ensureAdminToken(t.handle.db, dir, 1);
      const content = fs.readFileSync(first.path, 'utf8');
      const second = await ensureAdminToken(t.handle.db, dir, 2);
      expect(second).toEqual({ path: first.path, created: false });
      expect(fs.readFileSync(first.path, 'utf8')).toBe(content);
      expect(await tokenRows()).toHaveLength(1);
    });

    it('stores the hash of an existing file in a database that lacks it', async () => {
      const dir = freshDir();
      const first = await ensureAdminToken(t.handle.db, dir, 1);
      await t.handle.db.deleteFrom('api_tokens').execute();
      const again = await ensureAdminToken(t.handle.db, dir, 2);
      expect(again.created).toBe(false);
      const token = fs.readFileSync(first.path, 'utf8').trim();
      expect(await authenticate(t.handle.db, token)).toEqual({ name: 'admin', role: 'admin' });
    });

    it('makes one token when started several times at once', async () => {
      const dir = freshDir();
      const results = await Promise.all([1, 2, 3, 4, 5].map((i) => ensureAdminToken(t.handle.db, dir, i)));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(await tokenRows()).toHaveLength(1);
      expect(fs.readdirSync(dir)).toEqual(['admin-token']);
    });

    it('refuses a token file that holds no token, and stores nothing', async () => {
      const dir = freshDir();
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'admin-token'), '\n');
      const error = await ensureAdminToken(t.handle.db, dir, 1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AutodevError);
      expect((error as AutodevError).code).toBe('CONFIG_INVALID');
      expect((error as AutodevError).message).toContain('admin-token');
      expect(await tokenRows()).toEqual([]);
    });
  });

  describe('ensureSharedAdminToken', () => {
    it('writes no file once the database has an admin token, but keeps a file it finds', async () => {
      const first = await ensureSharedAdminToken(t.handle.db, freshDir(), 1);
      expect(first).toMatchObject({ kind: 'file', created: true });
      const elsewhere = freshDir();
      expect(await ensureSharedAdminToken(t.handle.db, elsewhere, 2)).toEqual({ kind: 'database', adminTokens: 1 });
      expect(fs.existsSync(elsewhere)).toBe(false);
      // A viewer token is no admin token; a file already on this disk is kept and its hash stored.
      await createApiToken(t.handle.db, { name: 'wallboard', role: 'viewer', now: 3 });
      const kept = freshDir();
      fs.mkdirSync(kept, { recursive: true });
      fs.writeFileSync(path.join(kept, 'admin-token'), 'a'.repeat(43) + '\n');
      expect(await ensureSharedAdminToken(t.handle.db, kept, 4)).toMatchObject({ kind: 'file', created: false });
      expect(await authenticate(t.handle.db, 'a'.repeat(43))).toEqual({ name: 'admin', role: 'admin' });
    });
  });

  describe('authenticate', () => {
    it('knows a created token by name and role', async () => {
      const token = await createApiToken(t.handle.db, { name: 'ci', role: 'approver', now: 1 });
      expect(await authenticate(t.handle.db, token)).toEqual({ name: 'ci', role: 'approver' });
      const rows = await tokenRows();
      expect(rows[0]!.token_hash).toBe(hashToken(token));
      expect(JSON.stringify(rows)).not.toContain(token);
    });

    it('ignores unknown, empty and revoked tokens', async () => {
      const token = await createApiToken(t.handle.db, { name: 'old', role: 'admin', now: 1 });
      expect(await authenticate(t.handle.db, 'nope')).toBeUndefined();
      expect(await authenticate(t.handle.db, '')).toBeUndefined();
      await t.handle.db.updateTable('api_tokens').set({ revoked_at: 2 }).execute();
      expect(await authenticate(t.handle.db, token)).toBeUndefined();
    });
  });
});
