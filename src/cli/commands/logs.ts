/**
 * @module `autodev logs [--follow] [--agent ROLE] [--level LEVEL] [--since 1h] [--limit N] [--json]`: the log lines
 * every process recorded in the store (warn and above, and lifecycle lines at info; `logs/process-log-sink.ts`),
 * across every machine, newest last. `--follow` keeps printing new lines (the commit-safe reading of
 * `logs/read-process-logs.ts`) until Ctrl+C. `--json` prints one JSON object per line.
 * The commander definitions are `logs-command.ts`.
 */
import { parseWholeNumberText } from '../../domain/input-policy.js';
import { DEFAULT_LOG_LIMIT, MAX_LOG_LIMIT, parseLogFilters } from '../../logs/log-filters.js';
import {
  followProcessLogs,
  processLogNow,
  recentProcessLogs,
  type ProcessLogLine,
} from '../../logs/read-process-logs.js';
import { sleepUnlessAborted } from '../../sleep.js';
import { withContext, type CliDeps, type GlobalOptions } from '../context.js';
import { writeLine } from '../format.js';

export const FOLLOW_POLL_MS = 1_000;

export interface LogsArgs {
  globals: GlobalOptions;
  follow?: boolean | undefined;
  agent?: string | undefined;
  level?: string | undefined;
  since?: string | undefined;
  limit?: string | undefined;
  json?: boolean | undefined;
}

export function formatLogLine(line: ProcessLogLine): string {
  const where = line.role ? `${line.service} ${line.role}` : line.service;
  const data = line.data ? ` ${JSON.stringify(line.data)}` : '';
  return `${new Date(line.time).toISOString()} ${line.level.toUpperCase().padEnd(5)} ${where} ${line.host}:${line.pid} ${line.message}${data}`;
}

export async function run(args: LogsArgs, deps: CliDeps): Promise<number> {
  const filters = parseLogFilters({ role: args.agent, level: args.level, since: args.since }, deps.now());
  const limit =
    args.limit === undefined ? DEFAULT_LOG_LIMIT : parseWholeNumberText('--limit', args.limit, 1, MAX_LOG_LIMIT);
  const print = (line: ProcessLogLine) =>
    writeLine(
      deps.stdout,
      args.json ? JSON.stringify({ ...line, time: new Date(line.time).toISOString() }) : formatLogLine(line),
    );
  const shutdown = args.follow ? deps.listenForShutdown() : undefined;
  await withContext(args.globals, deps, async (ctx) => {
    // The cursor is taken before the page is read, so no line committed in between is missed; one the page shows
    // and the first follow reads again is printed once (the page's ids are remembered).
    const cursorBefore = await processLogNow(ctx.handle);
    const page = await recentProcessLogs(ctx.handle, filters, limit);
    for (const line of page) print(line);
    if (!shutdown) {
      if (page.length === 0 && !args.json) writeLine(deps.stderr, 'no log lines recorded that match');
      return;
    }
    const printed = new Set(page.map((line) => line.id));
    let cursor = cursorBefore;
    while (!shutdown.aborted) {
      const next = await followProcessLogs(ctx.handle, cursor, filters, 500);
      for (const line of next.lines) if (!printed.has(line.id)) print(line);
      const moved = next.cursor !== cursor;
      cursor = next.cursor;
      if (!moved) await sleepUnlessAborted(FOLLOW_POLL_MS, shutdown);
    }
  });
  return 0;
}
