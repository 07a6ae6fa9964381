/**
 * @module The compose layout's processes for tests: `autodev serve ...` of the built CLI (`npm run build` first) as a
 * child process with its own data dir on one database, its output kept and matched line by line; `/ready` read; and
 * the dashboard's SSE stream (`GET /api/events`, from the start of the log) recorded event by event; the whole log
 * in log order, as the stream must show it. Used by the split-services and compose-story tests.
 */
import type { ChildProcess } from 'node:child_process';
import { readEvents, START_OF_LOG } from '../../src/events/read-events.js';
import type { DatabaseHandle } from '../../src/store/open-database.js';
import { waitFor } from './agent-fixtures.js';
import { AUTODEV_BIN } from './built-cli.js';
import { spawnInGroup } from './child-processes.js';

export interface Service {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): { stdout: string; stderr: string };
  /** Resolves with the first match of `pattern` in stdout; rejects if the process exits first. */
  line(pattern: RegExp): Promise<RegExpExecArray>;
}

export interface ServeOptions {
  databaseUrl: string;
  dataDir: string;
  config: string;
  args: readonly string[];
  /** Added to the environment (every `AUTODEV_*` variable of the test's is removed first). */
  env?: Record<string, string>;
  /** Every process started is pushed here (the test kills what is left at its end). */
  children: ChildProcess[];
}

export function serve(options: ServeOptions): Service {
  const { args } = options;
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', DATABASE_URL: options.databaseUrl };
  for (const name of Object.keys(env)) if (name.startsWith('AUTODEV_')) delete env[name];
  Object.assign(env, options.env ?? {});
  const child = spawnInGroup(
    process.execPath,
    [AUTODEV_BIN, '--data-dir', options.dataDir, '--config', options.config, ...args],
    { env, cwd: options.dataDir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  options.children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    line: (pattern) =>
      waitFor(
        async () => `${pattern} in the output of ${args.join(' ')}: ${stdout} ${stderr}`,
        async () => {
          const match = pattern.exec(stdout);
          if (match) return match;
          if (child.exitCode !== null)
            throw new Error(`${args.join(' ')} exited ${child.exitCode}: ${stdout} ${stderr}`);
          return undefined;
        },
        30_000,
        25,
      ),
  };
}

export async function readyReport(base: string) {
  const response = await fetch(`${base}/ready`);
  return {
    status: response.status,
    body: (await response.json()) as { ready: boolean; loops: Record<string, boolean> },
  };
}

export interface RecordedStream {
  /** Every event the stream delivered so far, in delivery order. */
  received: { id: number; kind: string }[];
  /** Closes the stream and waits for the reader to end. */
  close(): Promise<void>;
}

/** Opens the dashboard's SSE stream from the start of the log (Last-Event-ID 0) and records each event. */
export async function recordEventStream(base: string, token: string): Promise<RecordedStream> {
  const received: { id: number; kind: string }[] = [];
  const abort = new AbortController();
  const stream = await fetch(`${base}/api/events`, {
    headers: { authorization: `Bearer ${token}`, 'last-event-id': '0' },
    signal: abort.signal,
  });
  if (stream.status !== 200) throw new Error(`GET /api/events answered ${stream.status}: ${await stream.text()}`);
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = message.split('\n').find((line) => line.startsWith('data: '));
        if (data) {
          const event = JSON.parse(data.slice('data: '.length)) as { id: number; kind: string };
          received.push({ id: event.id, kind: event.kind });
        }
      }
    }
  })().catch((error: unknown) => {
    if (!abort.signal.aborted) throw error;
  });
  return {
    received,
    close: async () => {
      abort.abort();
      await reading;
    },
  };
}

/**
 * Every event of the log in log order ((xid, id) on PostgreSQL), once the writers have stopped. The log is read up to
 * the oldest transaction still open in the whole cluster (the commit-safe horizon), and other test files' databases
 * share the cluster: it waits until the horizon has passed every row of the table.
 */
export async function wholeLog(handle: DatabaseHandle): Promise<{ id: number; kind: string }[]> {
  const total = async () =>
    Number(
      (
        await handle.db
          .selectFrom('events')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  let rows: { id: number; kind: string }[] = [];
  await waitFor(
    async () => `the log to be readable to its end (${rows.length} of ${await total()} events)`,
    async () => {
      rows = [];
      for (let cursor = START_OF_LOG; ;) {
        const page = await readEvents(handle, cursor, 500);
        if (page.rows.length === 0) break;
        rows.push(...page.rows.map((row) => ({ id: row.id, kind: row.kind })));
        cursor = page.cursor;
      }
      return rows.length === (await total());
    },
  );
  return rows;
}
