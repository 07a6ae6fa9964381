/**
 * @module API tokens: only their sha256 hashes are stored (`api_tokens`); the admin token's plain text lives in
 * `<data-dir>/admin-token` (mode 0600). Checking a request's token against its role is `plugins/auth.ts`'s job.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { AutodevError } from '../errors.js';
import type { Database, TokenRole } from '../store/schema.js';

export const ADMIN_TOKEN_FILE = 'admin-token';
export const TOKEN_ROLES: readonly TokenRole[] = ['viewer', 'approver', 'admin'];

export interface TokenIdentity {
  name: string;
  role: TokenRole;
}

/** The form a token is stored in: lowercase sha256 hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** 32 random bytes, base64url: 43 characters, safe in a header and a file. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Creates a token with `role` and returns its plain text, which is never stored and cannot be shown again.
 *
 * ### Examples
 * ```ts
 * const token = await createApiToken(db, { name: 'grafana', role: 'viewer', now: Date.now() });
 * ```
 */
export async function createApiToken(
  db: Kysely<Database>,
  input: { name: string; role: TokenRole; now: number },
): Promise<string> {
  const token = generateToken();
  await db
    .insertInto('api_tokens')
    .values({
      name: input.name,
      role: input.role,
      token_hash: hashToken(token),
      created_at: input.now,
      revoked_at: null,
    })
    .execute();
  return token;
}

/**
 * Makes sure an admin token exists: on first start writes `<dataDir>/admin-token` (created whole or not at all, so a
 * second process starting at the same moment reads a complete file) and stores its hash; when the file exists but this
 * database has never seen it (a fresh PostgreSQL database), stores its hash. Safe to call on every start.
 * A token revoked in the database stays revoked; delete the file and restart to get a new one.
 */
export async function ensureAdminToken(
  db: Kysely<Database>,
  dataDir: string,
  now: number,
): Promise<{ path: string; created: boolean }> {
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  await fs.mkdir(dataDir, { recursive: true });
  const written = await writeNewTokenFile(file);
  const token = written ?? (await readTokenFile(file));
  await db
    .insertInto('api_tokens')
    .values({ name: 'admin', role: 'admin', token_hash: hashToken(token), created_at: now, revoked_at: null })
    .onConflict((oc) => oc.column('token_hash').doNothing())
    .execute();
  return { path: file, created: written !== undefined };
}

/** What a process that shares its database (`serve dashboard`) did about the admin token at its start. */
export type SharedAdminToken =
  { kind: 'file'; path: string; created: boolean } | { kind: 'database'; adminTokens: number };

/**
 * `ensureAdminToken` for a process that shares its database with others and may have a disk of its own that does not
 * last (a dashboard replica on ECS: its /data goes with the task). A token file already in `dataDir` is kept and its
 * hash stored, as `ensureAdminToken` does; without one, a new file is written only while the database holds no
 * unrevoked admin token (a fresh database's first start). Otherwise nothing is written: the admin tokens are the
 * database's, and a new one is `autodev tokens create --role admin`.
 */
export async function ensureSharedAdminToken(
  db: Kysely<Database>,
  dataDir: string,
  now: number,
): Promise<SharedAdminToken> {
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  const fileExists = await fs.access(file).then(
    () => true,
    () => false,
  );
  if (!fileExists) {
    const row = await db
      .selectFrom('api_tokens')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('count'))
      .where('role', '=', 'admin')
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    const adminTokens = Number(row.count);
    if (adminTokens > 0) return { kind: 'database', adminTokens };
  }
  return { kind: 'file', ...(await ensureAdminToken(db, dataDir, now)) };
}

/** Writes a fresh token to `file` unless it exists; returns the token, or undefined when the file was already there. */
async function writeNewTokenFile(file: string): Promise<string | undefined> {
  const token = generateToken();
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(temporary, `${token}\n`, { mode: 0o600, flag: 'wx' });
  try {
    // link() fails with EEXIST instead of replacing, and the file appears with its content complete.
    await fs.link(temporary, file);
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  } finally {
    await fs.rm(temporary, { force: true });
  }
}

async function readTokenFile(file: string): Promise<string> {
  const token = (await fs.readFile(file, 'utf8')).trim();
  if (!/^[A-Za-z0-9_-]{20,}$/.test(token)) {
    throw new AutodevError(
      'CONFIG_INVALID',
      `${file} does not hold a token; delete it and start Auto-Dev again to create a new admin token`,
    );
  }
  return token;
}

/** The name and role of a valid, unrevoked token; undefined for anything else. */
export async function authenticate(db: Kysely<Database>, bearer: string): Promise<TokenIdentity | undefined> {
  if (bearer.length === 0 || bearer.length > 512) return undefined;
  const row = await db
    .selectFrom('api_tokens')
    .select(['name', 'role'])
    .where('token_hash', '=', hashToken(bearer))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row ? { name: row.name, role: row.role } : undefined;
}
