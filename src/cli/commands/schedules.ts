/**
 * @module `autodev schedules list`: the schedules of settings.yaml with their next slot and last fired run.
 */
import { listSchedules } from '../../scheduler/list-schedules.js';
import { withContext, type CliDeps, type GlobalOptions } from '../context.js';
import { formatTable, writeJson, writeLine } from '../format.js';

export interface SchedulesArgs {
  action: 'list';
  globals: GlobalOptions;
  json?: boolean | undefined;
}

export async function run(args: SchedulesArgs, deps: CliDeps): Promise<number> {
  const schedules = await withContext(args.globals, deps, (ctx) =>
    listSchedules(ctx.handle.db, ctx.settings, deps.now()),
  );
  if (args.json) {
    writeJson(deps.stdout, { schedules });
    return 0;
  }
  if (schedules.length === 0) {
    writeLine(deps.stdout, 'no schedules; add them under "schedules:" in settings.yaml');
    return 0;
  }
  writeLine(
    deps.stdout,
    formatTable(
      ['NAME', 'TASK', 'CRON', 'ENABLED', 'NEXT RUN', 'LAST RUN', 'TASKS'],
      schedules.map((s) => [
        s.name,
        s.task_type,
        `${s.cron} (${s.timezone})`,
        s.enabled ? 'yes' : 'no',
        s.next_run_at ?? '-',
        s.last_run?.slot_at ?? 'never',
        s.last_run ? s.last_run.task_ids.join(',') || '-' : '-',
      ]),
    ).trimEnd(),
  );
  return 0;
}
