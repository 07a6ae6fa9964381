/**
 * @module Where the database's schema stands against this build: the migrations this build knows, the ones applied
 * (`autodev_migrations`), the ones still pending, and any applied one this build does not know (the database is
 * newer than the build). `waitForSchema` is how every process but `autodev db migrate` (and `up`/`demo`, which
 * migrate themselves) starts: it never migrates, it waits for the deployment's `db migrate`, and refuses a newer one.
 */
import { sql } from 'kysely';
import { AutodevError } from '../errors.js';
import { sleepUnlessAborted } from '../sleep.js';
import { allMigrations } from './migrate.js';
import type { DatabaseHandle } from './open-database.js';

export interface SchemaState {
  /** Every migration this build has, in the order they run. */
  expected: string[];
  /** Applied ones this build knows. */
  applied: string[];
  /** Known to this build, not applied yet: `autodev db migrate` applies them. */
  pending: string[];
  /** Applied, but unknown to this build: the database was migrated by a newer Auto-Dev. */
  unknown: string[];
}

const MIGRATION_TABLE = 'autodev_migrations';

export async function readSchemaState(handle: DatabaseHandle): Promise<SchemaState> {
  const expected = Object.keys(allMigrations(handle.dialect)).sort();
  const names = (await migrationTableExists(handle)) ? await appliedNames(handle) : [];
  const known = new Set(expected);
  const done = new Set(names);
  return {
    expected,
    applied: expected.filter((name) => done.has(name)),
    pending: expected.filter((name) => !done.has(name)),
    unknown: names.filter((name) => !known.has(name)).sort(),
  };
}

async function migrationTableExists(handle: DatabaseHandle): Promise<boolean> {
  if (handle.dialect.name === 'postgres') {
    const { rows } = await sql<{ found: string | null }>`select to_regclass(${MIGRATION_TABLE})::text as found`.execute(
      handle.db,
    );
    return rows[0]?.found != null;
  }
  const { rows } = await sql<{
    name: string;
  }>`select name from sqlite_master where type = 'table' and name = ${MIGRATION_TABLE}`.execute(handle.db);
  return rows.length > 0;
}

async function appliedNames(handle: DatabaseHandle): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(handle.db);
  return rows.map((row) => row.name);
}

/** Throws `SCHEMA_NEWER_THAN_BUILD` when the database holds migrations this build does not know. */
export function refuseNewerSchema(state: SchemaState, location: string): void {
  if (state.unknown.length === 0) return;
  throw new AutodevError(
    'SCHEMA_NEWER_THAN_BUILD',
    `the database ${location} has migrations this Auto-Dev build does not know (${state.unknown.join(', ')}): ` +
      'it was migrated by a newer version; run that version (or a newer one) of Auto-Dev against it',
  );
}

export interface WaitForSchemaOptions {
  /** Told once when the wait starts, and again when the database cannot be read. */
  log: (message: string) => void;
  signal: AbortSignal;
  /** How often the schema is read again (default 1 s). */
  pollMs?: number;
}

/**
 * Resolves once every migration of this build is applied (`true`), or `false` if `signal` aborts first. Throws
 * `SCHEMA_NEWER_THAN_BUILD` at once if the database is newer than the build. A database that does not answer is
 * waited for too (it may still be starting), with a line each time that changes.
 */
export async function waitForSchema(handle: DatabaseHandle, options: WaitForSchemaOptions): Promise<boolean> {
  const pollMs = options.pollMs ?? 1000;
  let told = '';
  const tell = (message: string) => {
    if (message !== told) options.log(message);
    told = message;
  };
  while (!options.signal.aborted) {
    let state: SchemaState | undefined;
    try {
      state = await readSchemaState(handle);
    } catch (error) {
      tell(`waiting for the database ${handle.location} to answer: ${(error as Error).message}`);
    }
    if (state) {
      refuseNewerSchema(state, handle.location);
      if (state.pending.length === 0) return true;
      tell(
        `waiting for \`autodev db migrate\`: the database ${handle.location} lacks ${state.pending.length} ` +
          `migration(s) of this build (${state.pending[0]}${state.pending.length > 1 ? ', ...' : ''}); not ready until then`,
      );
    }
    await sleepUnlessAborted(pollMs, options.signal);
  }
  return false;
}
