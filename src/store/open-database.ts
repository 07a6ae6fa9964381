/**
 * @module Opens the one Kysely handle Auto-Dev uses: SQLite (better-sqlite3, WAL) by default, PostgreSQL when a
 * `postgres://` URL is given. Callers get the handle, its capabilities and a close function; nothing else. The pg
 * driver is imported only when a PostgreSQL database is opened (a SQLite command does not load it).
 */
import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  type DatabaseConnection,
  type Dialect,
  type Driver,
} from 'kysely';
import type pg from 'pg';
import { AutodevError } from '../errors.js';
import { POSTGRES, SQLITE, type DialectCapabilities } from './dialect.js';
import { transformingParameters, type ParameterTransform } from './mask-parameters.js';
import { withPreparedStatements } from './prepared-statements.js';
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
  /**
   * Applied to every string parameter of every statement before it is sent (`mask-parameters.ts`): Auto-Dev passes
   * its secret masker, so nothing it writes stores a known secret value.
   */
  transformParameter?: ParameterTransform;
  /**
   * PostgreSQL: `now` (default) connects once before returning and throws DATABASE_UNAVAILABLE when the server does
   * not answer; `lazy` returns at once and connects at the first statement (a `serve` process that waits for the
   * database with `wait-for-database.ts`, answering `/ready` meanwhile).
   */
  connect?: 'now' | 'lazy';
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** PostgreSQL returns int8/numeric as strings; Auto-Dev's ids, times and costs fit in a double. */
function numericTypes(types: typeof pg.types): pg.CustomTypesConfig {
  return {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
      return types.getTypeParser(oid, format);
    },
  } as pg.CustomTypesConfig;
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable database URL)';
  }
}

const UNREACHABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
]);
/** SQLSTATEs of an outage: class 08 (connection exception), shutdown / starting up, too many connections. */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;
const UNAVAILABLE_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/**
 * True when `error` says the database cannot be reached (refused, reset, timed out, shutting down), as opposed to a
 * statement that failed: the server answers 503 DATABASE_UNAVAILABLE instead of 500.
 */
export function isDatabaseUnavailableError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof code === 'string' && (UNREACHABLE_SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)) return true;
  // Node's connect to several addresses fails with an AggregateError of each attempt.
  return Array.isArray(errors) && errors.some(isDatabaseUnavailableError);
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
  const transform = options.transformParameter;
  const dialectOf = (dialect: Dialect) => (transform ? transformingParameters(dialect, transform) : dialect);
  if (isPostgresUrl(options.databaseUrl)) {
    return openPostgres(options.databaseUrl, options.poolSize ?? 10, dialectOf, options.connect ?? 'now');
  }
  if (!options.sqlitePath) throw new Error('openDatabase needs a databaseUrl or a sqlitePath');
  return openSqlite(options.sqlitePath, dialectOf);
}

async function openPostgres(
  url: string,
  poolSize: number,
  dialectOf: (dialect: Dialect) => Dialect,
  connect: 'now' | 'lazy',
): Promise<DatabaseHandle> {
  const { default: driver } = await import('pg');
  const pool = new driver.Pool({ connectionString: url, max: poolSize, types: numericTypes(driver.types) });
  // An idle connection that dies (server restart, network) is dropped by the pool; without a listener its 'error'
  // event would end the process. The next query opens a new connection, or fails as DATABASE_UNAVAILABLE.
  pool.on('error', () => undefined);
  if (connect === 'now') {
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
  }
  // Statements marked by prepared-statements.ts (the queue's claim and completion) are prepared per connection.
  const db = new Kysely<Database>({ dialect: dialectOf(new PostgresDialect({ pool: withPreparedStatements(pool) })) });
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

function openSqlite(file: string, dialectOf: (dialect: Dialect) => Dialect): DatabaseHandle {
  if (file !== ':memory:') {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
    // Created owner-only before SQLite opens it: SQLite gives the -wal and -shm files the database file's mode.
    fs.closeSync(fs.openSync(file, 'a', 0o600));
  }
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  // Several processes share one file; a writer waits for the lock instead of failing at once.
  sqlite.pragma('busy_timeout = 10000');
  const db = new Kysely<Database>({ dialect: dialectOf(new ImmediateSqliteDialect({ database: sqlite })) });
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
