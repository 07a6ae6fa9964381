/**
 * @module Instruments for the session-overhead benchmark, all outside the agent runtime: a database handle that logs
 * the busy interval of every query and transaction, model stand-ins that log each request's arrival and how long the
 * scripted answer took (the model time), and a provider wrapper that logs when the CLI session starts and ends.
 * Intervals are in ms on one clock (`preciseNow`), so the phases of a session can be cut out of one timeline.
 */
import fs from 'node:fs';
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import type { Kysely } from 'kysely';
import type { ProviderFactory } from '../src/agents/run-agent-task.js';
import type { LlmProvider } from '../src/llm/provider.js';
import type { DatabaseHandle } from '../src/store/open-database.js';
import type { Database } from '../src/store/schema.js';
import { startScriptedModelServer } from '../src/demo/scripted-model-server.js';
import { startMockResponsesServer } from '../test/support/mock-responses-server.js';
import { ScriptedAgents, type ChooseScript, type TurnKind } from '../src/demo/scripted-agent.js';
import { scriptedClaude } from '../src/demo/scripted-claude.js';
import { scriptedCodex } from '../test/support/scripted-codex.js';
import type { ModelStandIns } from '../test/support/real-cli-sessions.js';
import { preciseNow } from './bench-report.js';

export interface Interval {
  start: number;
  end: number;
}

/** A query or transaction of the database, with what it touched (`insert sessions`, `transaction`, ...). */
export interface DbInterval extends Interval {
  what: string;
}

/** Total length of the union of `intervals` clipped to `window` (overlapping queries count once). */
export function busyWithin(intervals: readonly Interval[], window: Interval): number {
  const clipped = intervals
    .map((i) => ({ start: Math.max(i.start, window.start), end: Math.min(i.end, window.end) }))
    .filter((i) => i.end > i.start)
    .sort((a, b) => a.start - b.start);
  let total = 0;
  let cursor = -Infinity;
  for (const { start, end } of clipped) {
    const from = Math.max(start, cursor);
    if (end > from) total += end - from;
    cursor = Math.max(cursor, end);
  }
  return total;
}

function tableOf(node: RootOperationNode): string {
  const name = (table: unknown): string => {
    const t = table as { table?: { identifier?: { name?: string } }; node?: unknown } | undefined;
    if (t?.table?.identifier?.name) return t.table.identifier.name;
    if (t?.node) return name(t.node);
    return '?';
  };
  switch (node.kind) {
    case 'InsertQueryNode':
      return `insert ${name(node.into)}`;
    case 'UpdateQueryNode':
      return `update ${name(node.table)}`;
    case 'DeleteQueryNode':
      return `delete ${name(node.from.froms[0])}`;
    case 'SelectQueryNode':
      return `select ${name(node.from?.froms[0])}`;
    default:
      return node.kind;
  }
}

/** Logs the busy interval of every query run through the Kysely instance it is plugged into. */
class QueryLog implements KyselyPlugin {
  private readonly open = new WeakMap<object, { start: number; what: string }>();
  constructor(private readonly log: DbInterval[]) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.open.set(args.queryId, { start: preciseNow(), what: tableOf(args.node) });
    return args.node;
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const started = this.open.get(args.queryId);
    if (started) this.log.push({ ...started, end: preciseNow() });
    return Promise.resolve(args.result);
  }
}

/**
 * `handle` with a database that logs its work in `log`: every query (a Kysely plugin) and every transaction from
 * begin to commit (so a commit's fsync counts as database time too). Everything else is the same handle.
 */
export function timedDatabase(handle: DatabaseHandle, log: DbInterval[]): DatabaseHandle {
  const db = handle.db.withPlugin(new QueryLog(log));
  const timed = new Proxy(db, {
    get(target, property) {
      if (property === 'transaction') {
        return () => {
          const builder = target.transaction();
          return new Proxy(builder, {
            get(inner, innerProperty) {
              const value = Reflect.get(inner, innerProperty, inner) as unknown;
              if (innerProperty !== 'execute' || typeof value !== 'function') {
                return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(inner) : value;
              }
              return async <T>(fn: (tx: Kysely<Database>) => Promise<T>): Promise<T> => {
                const start = preciseNow();
                try {
                  return await builder.execute(fn);
                } finally {
                  log.push({ start, end: preciseNow(), what: 'transaction' });
                }
              };
            },
          });
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { ...handle, db: timed, close: () => handle.close() };
}

/** One model request of a session: when it arrived, when the stand-in had its answer, what the answer asked for. */
export interface ModelRequest {
  arrivedAt: number;
  answeredAt: number;
  kind: TurnKind;
}

/**
 * Scripted agents that also log, per model request, the arrival time, the answer kind and (set by the stand-in
 * wrapper) when the answer was ready. Sessions are run one at a time, so `requests` is the current session's list.
 */
export class TimedAgents extends ScriptedAgents {
  requests: ModelRequest[] = [];
  constructor(choose: ChooseScript) {
    super(choose);
  }

  override answered(provider: string, session: string, answered: TurnKind, at: number): void {
    super.answered(provider, session, answered, at);
    this.requests.push({ arrivedAt: at, answeredAt: at, kind: answered });
  }

  /** Called by the stand-in wrapper once the scripted answer is built. */
  answerReady(): void {
    const last = this.requests.at(-1);
    if (last) last.answeredAt = preciseNow();
  }
}

/** The Messages and Responses stand-ins playing `agents`, timing each scripted answer (the model time). */
export async function startTimedStandIns(agents: TimedAgents): Promise<ModelStandIns> {
  const claude = scriptedClaude(agents, preciseNow);
  const codex = scriptedCodex(agents, preciseNow);
  const messages = await startScriptedModelServer((request, step) => {
    const reply = claude(request, step);
    agents.answerReady();
    return reply;
  });
  const responses = await startMockResponsesServer((request, step) => {
    const reply = codex(request, step);
    agents.answerReady();
    return reply;
  });
  return {
    messages,
    responses,
    close: async () => {
      await messages.close();
      await responses.close();
    },
  };
}

/** Linux's USER_HZ: /proc reports CPU times in these ticks. */
const TICKS_PER_SECOND = 100;

/**
 * CPU ms used so far by this process and by its children that ended and were waited for (with theirs, when they
 * waited for their own): `utime + stime + cutime + cstime` of /proc/self/stat, 10 ms resolution. A CLI's processes
 * that are never reaped do not count, so a difference of two readings is a lower bound. NaN off Linux.
 */
export function cpuMsSoFar(): number {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may hold spaces) in parentheses: state is field 3, utime 14 ... cstime 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = [11, 12, 13, 14].map((i) => Number(fields[i]));
    return (ticks.reduce((a, b) => a + b, 0) * 1000) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** Wraps a provider factory so each session's `run` logs its start and end in `runs`. */
export function timedProviders(factory: ProviderFactory, runs: Interval[]): ProviderFactory {
  return (name, session) => {
    const provider = factory(name, session);
    const timed: LlmProvider = {
      name: provider.name,
      run: async (request, sink) => {
        const start = preciseNow();
        try {
          return await provider.run(request, sink);
        } finally {
          runs.push({ start, end: preciseNow() });
        }
      },
    };
    return timed;
  };
}
