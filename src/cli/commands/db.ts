/**
 * @module `autodev db migrate`: brings the database (SQLite file or PostgreSQL) to the latest schema and says which
 * migrations it applied, or that there was nothing to do.
 */
import { migrateToLatest } from '../../store/migrate.js';
import { withContext, type CliDeps, type GlobalOptions } from '../context.js';
import { writeJson, writeLine } from '../format.js';

export interface DbArgs {
  globals: GlobalOptions;
  action: 'migrate';
  json?: boolean | undefined;
}

export async function run(args: DbArgs, deps: CliDeps): Promise<number> {
  const { applied, location } = await withContext(
    args.globals,
    deps,
    async (ctx) => ({ ...(await migrateToLatest(ctx.handle)), location: ctx.handle.location }),
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
