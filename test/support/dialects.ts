/**
 * @module The engines every database test runs on. Each test file loops `DIALECTS` and gets a fresh database of its
 * own from `createTestDatabase` (SQLite: a copy of a file migrated once per run by the global setup; PostgreSQL: a clone of the
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
import { afterAll, beforeAll, beforeEach, inject, it } from 'vitest';
import type { DialectName } from '../../src/store/dialect.js';
import { openDatabase, type DatabaseHandle } from '../../src/store/open-database.js';
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
    fs.copyFileSync(inject('sqliteTemplatePath'), sqlitePath);
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
  const { name, handle } = await takePostgresDatabase(adminUrl);
  const databaseUrl = withDatabase(adminUrl, name);
  return {
    handle,
    databaseUrl,
    sqlitePath: undefined,
    dir,
    async drop() {
      await handle.close();
      await givePostgresDatabase(adminUrl, name);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * PostgreSQL test databases are recycled within a test process: `create database ... template` costs ~0.5 s of the
 * server's CPU (it copies the template's ~9 MB block by block into the WAL), ~200 times a run. A dropped test database
 * is renamed to a pool name once nobody is connected (so nothing holding its old URL, such as a child process that
 * outlived its test, can reach it again), and the next test of the same process takes it under a new name, after
 * checking that its schema is still the template's (`schemaFingerprint`) and emptying it (`clearDatabase`): as good
 * as a fresh copy. A database whose schema a test changed (a trigger, a function, a migration undone) is dropped.
 */
const pooledDatabases: string[] = [];
let templateFingerprint: string | undefined;

async function takePostgresDatabase(adminUrl: string): Promise<{ name: string; handle: DatabaseHandle }> {
  const name = `autodev_test_${randomBytes(6).toString('hex')}`;
  const pooled = pooledDatabases.pop();
  if (pooled) {
    await adminQuery(adminUrl, `alter database ${pooled} rename to ${name}`);
    const handle = await openDatabase({ databaseUrl: withDatabase(adminUrl, name), poolSize: 5 });
    try {
      if ((await schemaFingerprint(handle)) === templateFingerprint) {
        await clearDatabase(handle);
        return { name, handle };
      }
    } catch {
      // Not reusable: dropped below, and a fresh copy made.
    }
    await handle.close();
    await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
  }
  await adminQuery(adminUrl, `create database ${name} template ${TEMPLATE_DATABASE}`);
  const handle = await openDatabase({ databaseUrl: withDatabase(adminUrl, name), poolSize: 5 });
  templateFingerprint ??= await schemaFingerprint(handle);
  return { name, handle };
}

async function givePostgresDatabase(adminUrl: string, name: string): Promise<void> {
  const pooled = `${inject('pooledDatabasePrefix')}${randomBytes(6).toString('hex')}`;
  try {
    await adminQuery(
      adminUrl,
      `select pg_terminate_backend(pid) from pg_stat_activity where datname = '${name}' and pid <> pg_backend_pid();
       alter database ${name} rename to ${pooled}`,
    );
    pooledDatabases.push(pooled);
  } catch {
    await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
  }
}

/**
 * A digest of everything in the database besides its rows that a test could change: schemas, tables, columns and
 * their defaults, indexes, constraints, triggers, functions, views' rules, policies, sequences' parameters,
 * extensions, database-level settings, and the migrator's own rows.
 */
async function schemaFingerprint(handle: DatabaseHandle): Promise<string> {
  const { rows } = await sql<{ digest: string }>`
    with user_ns as (
      select oid, nspname from pg_namespace
      where nspname !~ '^pg_' and nspname <> 'information_schema'
    ), parts as (
      select 'ns ' || nspname as part from user_ns
      union all select 'class ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text || ' ' || c.relpersistence::text
        || ' ' || coalesce(array_to_string(c.reloptions, ','), '') || ' ' || c.relrowsecurity::text
        from pg_class c join user_ns n on n.oid = c.relnamespace
      union all select 'col ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
        || ' ' || a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
        from pg_attribute a join pg_class c on c.oid = a.attrelid join user_ns n on n.oid = c.relnamespace
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where a.attnum > 0 and not a.attisdropped
      union all select 'index ' || pg_get_indexdef(i.indexrelid)
        from pg_index i join pg_class c on c.oid = i.indexrelid join user_ns n on n.oid = c.relnamespace
      union all select 'constraint ' || conname || ' ' || pg_get_constraintdef(k.oid)
        from pg_constraint k join user_ns n on n.oid = k.connamespace
      union all select 'trigger ' || pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
        from pg_trigger t join pg_class c on c.oid = t.tgrelid join user_ns n on n.oid = c.relnamespace
      union all select 'function ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc)
        from pg_proc p join user_ns n on n.oid = p.pronamespace
      union all select 'rule ' || r.rulename || ' ' || md5(pg_get_ruledef(r.oid))
        from pg_rewrite r join pg_class c on c.oid = r.ev_class join user_ns n on n.oid = c.relnamespace
      union all select 'policy ' || polname from pg_policy
      union all select 'sequence ' || s.seqrelid::regclass::text || ' ' || s.seqstart::text || ' ' || s.seqincrement::text
        || ' ' || s.seqmax::text || ' ' || s.seqmin::text || ' ' || s.seqcycle::text from pg_sequence s
      union all select 'extension ' || extname || ' ' || extversion from pg_extension
      union all select 'setting ' || array_to_string(setconfig, ',') from pg_db_role_setting
        where setdatabase = (select oid from pg_database where datname = current_database())
      union all select 'migration ' || name from autodev_migrations
      union all select 'migration lock ' || is_locked::text from autodev_migrations_lock
    )
    select md5(string_agg(part, E'\n' order by part)) as digest from parts`.execute(handle.db);
  return rows[0]!.digest;
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

/**
 * Every table of the schema, as the database itself lists them (so a table a new migration adds is never missed),
 * without the migrator's own and, on SQLite, without the internal and virtual tables' shadow tables.
 */
export async function domainTables(handle: DatabaseHandle): Promise<string[]> {
  const { rows } =
    handle.dialect.name === 'postgres'
      ? await sql<{
          name: string;
        }>`select tablename as name from pg_tables where schemaname = current_schema()`.execute(handle.db)
      : await sql<{
          name: string;
        }>`select name from pragma_table_list where schema = 'main' and type = 'table'`.execute(handle.db);
  return rows
    .map((row) => row.name)
    .filter((name) => !name.startsWith('autodev_migrations') && !name.startsWith('sqlite_'))
    .sort();
}

/**
 * Empties every table and restarts its ids, so each test starts on a database identical to a fresh copy of the
 * migrated template (migrations stay applied). PostgreSQL: one `truncate ... restart identity` of the tables that hold
 * rows, and the other used sequences set back to their start; SQLite: the deletes in one transaction with foreign keys
 * checked at its end, then the id counters reset.
 */
export async function clearDatabase(handle: DatabaseHandle): Promise<void> {
  const tables = await domainTables(handle);
  if (tables.length === 0) return;
  if (handle.dialect.name === 'postgres') {
    // Truncating every table costs ~100 ms (a new file per table and index); most tests fill a few, so only those
    // are truncated, and the sequences a test used on tables it left empty are set back to their start.
    const filled = await sql<{ name: string }>`${sql.join(
      tables.map((table) => sql`select ${table}::text as name where exists (select 1 from ${sql.table(table)})`),
      sql` union all `,
    )}`.execute(handle.db);
    if (filled.rows.length > 0) {
      const names = filled.rows.map((row) => sql.table(row.name));
      await sql`truncate table ${sql.join(names)} restart identity cascade`.execute(handle.db);
    }
    await sql`select setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false)
      from pg_sequences where schemaname = current_schema() and last_value is not null`.execute(handle.db);
    return;
  }
  await handle.db.transaction().execute(async (tx) => {
    await sql`pragma defer_foreign_keys = on`.execute(tx);
    // The task counters last: deleting tasks moves them (triggers of migration 0022).
    const ordered = [
      ...tables.filter((table) => table !== 'task_counts'),
      ...tables.filter((t) => t === 'task_counts'),
    ];
    for (const table of ordered) await sql`delete from ${sql.table(table)}`.execute(tx);
    const counters = await sql<{
      n: number;
    }>`select count(*) as n from sqlite_master where name = 'sqlite_sequence'`.execute(tx);
    if (Number(counters.rows[0]?.n ?? 0) > 0) await sql`delete from sqlite_sequence`.execute(tx);
  });
}

/**
 * One database for the enclosing `describe`, emptied before each test (`clearDatabase`: as good as a fresh one, at a
 * fraction of a PostgreSQL `create database` per test).
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

/**
 * Spreads the cases of a costly end-to-end matrix over the engines under test, round-robin: each case runs once, on
 * one engine, and every engine runs about as many cases (all of them when only one engine is under test). For
 * scenarios whose SQL is the same on both engines and is covered on both by the modules' own tests (a crash at each
 * stage of a story, a story per agent CLI); the pairing is fixed, so a failure names its engine and reproduces.
 */
export function acrossDialects<T>(cases: readonly T[]): [DialectName, T][] {
  return cases.map((c, i) => [DIALECTS[i % DIALECTS.length]!, c]);
}

/**
 * `it` for the `index`-th case of a costly end-to-end file when that case falls on `dialect` (round-robin, as
 * `acrossDialects`), else a function that registers nothing (the case runs under the other engine's describe, not
 * skipped). For `describe.each(DIALECTS)` files whose cases each need a whole agent process or session.
 */
export function itOnSpread(dialect: DialectName, index: number): typeof it {
  if (DIALECTS[index % DIALECTS.length] === dialect) return it;
  const nothing = () => undefined;
  return Object.assign(nothing, { each: () => nothing }) as unknown as typeof it;
}
