/**
 * @module `autodev db migrate`: brings the database (SQLite file or PostgreSQL) to the latest schema and says which
 * migrations it applied, or that there was nothing to do. Two at once migrate once (Kysely's migration lock: a
 * PostgreSQL advisory lock, SQLite's write lock). A database migrated by a newer build is refused, unchanged.
 * `autodev db prune [--dry-run]`: deletes (or counts) what the `retention:` settings say is old (`store/prune.ts`);
 * it needs the current schema and never migrates.
 */
import { AutodevError } from '../../errors.js';
import { migrateToLatest } from '../../store/migrate.js';
import { pruneOldRows } from '../../store/prune.js';
import { readSchemaState, refuseNewerSchema } from '../../store/schema-version.js';
import { withContext, type CliDeps, type GlobalOptions } from '../context.js';
import { writeJson, writeLine } from '../format.js';

export interface DbArgs {
  globals: GlobalOptions;
  action: 'migrate' | 'prune';
  json?: boolean | undefined;
  dryRun?: boolean | undefined;
}

export async function run(args: DbArgs, deps: CliDeps): Promise<number> {
  if (args.action === 'prune') return prune(args, deps);
  const { applied, location } = await withContext(
    args.globals,
    deps,
    async (ctx) => {
      refuseNewerSchema(await readSchemaState(ctx.handle), ctx.handle.location);
      return { ...(await migrateToLatest(ctx.handle)), location: ctx.handle.location };
    },
    { migrate: false },
  );
  if (args.json) {
    writeJson(deps.stdout, { database: location, applied });
  } else if (applied.length === 0) {
    writeLine(deps.stdout, `database ${location} is already up to date`);
  } else {
    writeLine(deps.stdout, `applied ${applied.length} migration${applied.length > 1 ? 's' : ''} to ${location}:`);
    for (const name of applied) writeLine(deps.stdout, `  ${name}`);
  }
  return 0;
}

async function prune(args: DbArgs, deps: CliDeps): Promise<number> {
  const dryRun = args.dryRun === true;
  const { counts, location } = await withContext(
    args.globals,
    deps,
    async (ctx) => {
      const state = await readSchemaState(ctx.handle);
      refuseNewerSchema(state, ctx.handle.location);
      if (state.pending.length > 0) {
        throw new AutodevError(
          'SCHEMA_NOT_CURRENT',
          `the database ${ctx.handle.location} lacks ${state.pending.length} migration(s) of this build; run \`autodev db migrate\` first`,
        );
      }
      const counts = await pruneOldRows(ctx.handle.db, ctx.settings.retention, { now: deps.now(), dryRun });
      return { counts, location: ctx.handle.location };
    },
    { migrate: false },
  );
  if (args.json) {
    writeJson(deps.stdout, { database: location, dry_run: dryRun, deleted: counts });
    return 0;
  }
  const what = `${counts.tasks} finished task(s), ${counts.events} event(s), ${counts.transcripts} transcript event(s), ${counts.sessions} session(s), ${counts.process_logs} process log line(s), ${counts.processes} gone process(es)`;
  writeLine(deps.stdout, dryRun ? `would delete ${what} from ${location}` : `deleted ${what} from ${location}`);
  return 0;
}
