/**
 * @module Opens the one Kysely handle Auto-Dev uses: SQLite (better-sqlite3, WAL) by default, PostgreSQL when a
 * `postgres://` URL is given. Callers get the handle, its capabilities and a close function; nothing else.
 */
import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, type DatabaseConnection, type Driver } from 'kysely';
import pg from 'pg';
import { AutodevError } from '../errors.js';
import { POSTGRES, SQLITE, type DialectCapabilities } from './dialect.js';
import type { Database } from './schema.js';

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly dialect: DialectCapabilities;
  /** Where the data lives, for messages: a file path or a URL with the password removed. */
  readonly location: string;
  /** SQLite only: the raw connection, for the cheap cross-process change check (`PRAGMA data_version`). */
  readonly sqlite?: SqliteDatabase.Database;
  /** PostgreSQL only: the connection string, for the dedicated LISTEN connection. */
  readonly postgresUrl?: string;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** `postgres://...` selects PostgreSQL; otherwise `sqlitePath` is used. */
  databaseUrl?: string | undefined;
  sqlitePath?: string;
  /** PostgreSQL pool size. */
  poolSize?: number;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** PostgreSQL returns int8/numeric as strings; Auto-Dev's ids, times and costs fit in a double. */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable database URL)';
  }
}

export function isPostgresUrl(url: string | undefined): url is string {
  return !!url && /^postgres(ql)?:\/\//.test(url);
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl && !isPostgresUrl(options.databaseUrl)) {
    throw new AutodevError(
      'CONFIG_INVALID',
      `DATABASE_URL must start with postgres:// or postgresql:// (got ${redactUrl(options.databaseUrl)}); unset it to use SQLite`,
    );
  }
  if (isPostgresUrl(options.databaseUrl)) return openPostgres(options.databaseUrl, options.poolSize ?? 10);
  if (!options.sqlitePath) throw new Error('openDatabase needs a databaseUrl or a sqlitePath');
  return openSqlite(options.sqlitePath);
}

async function openPostgres(url: string, poolSize: number): Promise<DatabaseHandle> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, types: pgTypes });
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new AutodevError(
      'DATABASE_UNAVAILABLE',
      `cannot connect to PostgreSQL at ${redactUrl(url)}: ${(error as Error).message}. Check DATABASE_URL and that the server is running.`,
    );
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: POSTGRES,
    location: redactUrl(url),
    postgresUrl: url,
    async close() {
      // Kysely only ends a pool it initialized (on first query); end ours either way, once.
      await db.destroy();
      if (!pool.ended) await pool.end();
    },
  };
}

/**
 * SQLite transactions begin IMMEDIATE: the write lock is taken (waiting up to busy_timeout) at BEGIN, so a
 * transaction that reads and then writes can never fail with SQLITE_BUSY when another process wrote in between.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection: DatabaseConnection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    return driver;
  }
}

function openSqlite(file: string): DatabaseHandle {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  // Several processes share one file; a writer waits for the lock instead of failing at once.
  sqlite.pragma('busy_timeout = 10000');
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) });
  return {
    db,
    dialect: SQLITE,
    location: file,
    sqlite,
    async close() {
      await db.destroy();
      if (sqlite.open) sqlite.close();
    },
  };
}
