/**
 * @module The engines every database test runs on. Each test file loops `DIALECTS` and gets a fresh database of its
 * own from `createTestDatabase` (SQLite: a copy of a file migrated once per process; PostgreSQL: a clone of the
 * migrated template database).
 *
 * ### Examples
 * ```ts
 * describe.each(DIALECTS)('%s: claim', (dialect) => {
 *   const t = useTestDatabase(dialect);
 *   it('claims', async () => { await enqueueTask(t.handle.db, ...) });
 * });
 * ```
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import type { DialectName } from '../../src/store/dialect.js';
import { openDatabase, type DatabaseHandle } from '../../src/store/open-database.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { withDatabase } from './postgres-cluster.js';
import { sql } from 'kysely';

const TEMPLATE_DATABASE = 'autodev_template';

function dialectsUnderTest(): DialectName[] {
  const wanted = (process.env.AUTODEV_TEST_DIALECTS ?? 'sqlite,postgres').split(',').map((d) => d.trim());
  const available: DialectName[] = ['sqlite'];
  if (inject('pgAdminUrl')) available.push('postgres');
  return available.filter((d) => wanted.includes(d));
}

export const DIALECTS: DialectName[] = dialectsUnderTest();

/**
 * One engine, for end-to-end tests whose subject does not depend on it (the browser, the sandbox): the SQL they run
 * is the API's and the runtime's, which the tests of those modules run on both engines. PostgreSQL when it is under
 * test (the engine of several processes), else the one that is.
 */
export const ONE_DIALECT: DialectName[] = DIALECTS.includes('postgres') ? ['postgres'] : DIALECTS.slice(0, 1);

export interface TestDatabase {
  handle: DatabaseHandle;
  /** What to pass as DATABASE_URL / --data-dir to a child process using the same database. */
  databaseUrl: string | undefined;
  sqlitePath: string | undefined;
  /** A scratch directory removed after the file. */
  dir: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(dialect: DialectName): Promise<TestDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `autodev-test-${dialect}-`));
  if (dialect === 'sqlite') {
    const sqlitePath = path.join(dir, 'autodev.db');
    fs.copyFileSync(await sqliteTemplate(), sqlitePath);
    const handle = await openDatabase({ sqlitePath });
    return {
      handle,
      databaseUrl: undefined,
      sqlitePath,
      dir,
      async drop() {
        await handle.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const adminUrl = inject('pgAdminUrl');
  if (!adminUrl) throw new Error('PostgreSQL is not available to this test run');
  const name = `autodev_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `create database ${name} template ${TEMPLATE_DATABASE}`);
  const databaseUrl = withDatabase(adminUrl, name);
  const handle = await openDatabase({ databaseUrl, poolSize: 5 });
  return {
    handle,
    databaseUrl,
    sqlitePath: undefined,
    dir,
    async drop() {
      await handle.close();
      await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

let sqliteTemplatePath: Promise<string> | undefined;

/** A migrated SQLite file, made once per test process and copied for each database (a copy takes a few ms). */
function sqliteTemplate(): Promise<string> {
  sqliteTemplatePath ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-test-sqlite-template-'));
    const file = path.join(dir, 'template.db');
    const handle = await openDatabase({ sqlitePath: file });
    await migrateToLatest(handle);
    await handle.close(); // checkpoints the WAL into the file
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    return file;
  })();
  return sqliteTemplatePath;
}

async function adminQuery(adminUrl: string, text: string): Promise<void> {
  // Cloning a template fails while anyone else is connected to it; files run in parallel, so retry briefly.
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(text);
      return;
    } catch (error) {
      if (attempt >= 50 || !/being accessed by other users/.test((error as Error).message)) throw error;
    } finally {
      await client.end();
    }
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
  }
}

export const TABLES_IN_DELETE_ORDER = [
  'memory_notes',
  'session_events',
  'sessions',
  'merge_request_notes',
  'merge_requests',
  'approvals',
  'tasks',
  'workflows',
  'events',
  'agents',
  'repositories',
  'discussions',
  'proposals',
  'instructions',
  'api_tokens',
  'provider_limits',
  'agent_controls',
] as const;

/** Empties every domain table (migrations stay applied). */
export async function clearDatabase(handle: DatabaseHandle): Promise<void> {
  for (const table of TABLES_IN_DELETE_ORDER) await sql`delete from ${sql.table(table)}`.execute(handle.db);
}

/**
 * One fresh database for the enclosing `describe`, emptied before each test.
 * Read `t.handle` etc. inside hooks and tests (they are set in `beforeAll`).
 */
export function useTestDatabase(dialect: DialectName): TestDatabase {
  const holder = {} as TestDatabase;
  beforeAll(async () => {
    Object.assign(holder, await createTestDatabase(dialect));
  });
  beforeEach(async () => {
    await clearDatabase(holder.handle);
  });
  afterAll(async () => {
    await holder.drop?.();
  });
  return holder;
}
