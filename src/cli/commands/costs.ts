/**
 * @module `autodev costs [--by task|story|role|provider|day] [--since 7d] [--json]`: the agents' tokens and cost,
 * grouped (`agents/cost-report.ts`), as a table with totals, or as `GET /api/costs`'s JSON. The commander
 * definitions are `costs-command.ts`.
 */
import { costReport } from '../../agents/cost-report.js';
import { parseGrouping } from '../../domain/cost-grouping.js';
import { parseSinceText } from '../../domain/since-text.js';
import { withContext, type CliDeps, type GlobalOptions } from '../context.js';
import { formatTable, writeJson, writeLine } from '../format.js';

export interface CostsArgs {
  globals: GlobalOptions;
  by?: string | undefined;
  since?: string | undefined;
  json?: boolean | undefined;
}

const dollars = (value: number) => `$${value.toFixed(value > 0 && value < 0.01 ? 4 : 2)}`;

export async function run(args: CostsArgs, deps: CliDeps): Promise<number> {
  const by = parseGrouping(args.by);
  const since = args.since === undefined ? undefined : parseSinceText(args.since, deps.now());
  const report = await withContext(args.globals, deps, (ctx) => costReport(ctx.handle.db, { by, since }));
  if (args.json) {
    writeJson(deps.stdout, report);
    return 0;
  }
  if (report.rows.length === 0) {
    writeLine(deps.stdout, `no sessions${report.since ? ` since ${report.since}` : ''}`);
    return 0;
  }
  const rows = report.rows.map((r) => [
    r.key ?? '-',
    by === 'task' || by === 'story' ? r.label : '',
    String(r.sessions),
    String(r.tokens),
    dollars(r.cost_usd),
  ]);
  const t = report.totals;
  rows.push(['total', '', String(t.sessions), String(t.tokens), dollars(t.cost_usd)]);
  const header = [by, by === 'task' ? 'type' : by === 'story' ? 'title' : '', 'sessions', 'tokens', 'cost'];
  const keep = by === 'task' || by === 'story' ? [0, 1, 2, 3, 4] : [0, 2, 3, 4];
  writeLine(
    deps.stdout,
    formatTable(
      keep.map((i) => header[i]!),
      rows.map((row) => keep.map((i) => row[i]!)),
    ),
  );
  return 0;
}
