/**
 * @module Wakes idle workers when tasks become claimable, without busy polling the tasks table.
 * PostgreSQL: `pg_notify` in the writer's transaction (delivered at commit) and one LISTEN connection per process.
 * SQLite: an in-process signal for this process's writes, plus `PRAGMA data_version`, which changes when another
 * process (a CLI `tasks create`, another worker) commits to the file. While someone waits it is checked when the
 * database's directory reports a write to the file or its WAL (inotify) and again 20 ms later, and every 250 ms in
 * case a change goes unreported; every 20 ms where the directory cannot be watched.
 *
 * No thundering herd: a new task wakes one idle worker of its type per process (the longest waiting), not every
 * idle loop. The notification names the task (`type:id`; distinct payloads, so PostgreSQL does not fold several
 * enqueues of one transaction into one). Waiters that name no types (the SSE stream, paused workers) hear every
 * change; a change that names no task (release, retry, reclaim, cancel, another process's SQLite commit) wakes all.
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { DatabaseHandle } from '../store/open-database.js';
import type { Database } from '../store/schema.js';

export const TASKS_CHANNEL = 'autodev_tasks';
/** How often an SQLite waiter checks for other processes' commits when the database's directory cannot be watched. */
export const SQLITE_CHANGE_CHECK_MS = 20;
/** How often it checks anyway while the directory is watched (a safety net, not the usual path). */
export const SQLITE_WATCHED_CHECK_MS = 250;

/** The task a change made claimable, when there is one: it wakes one worker of its type instead of all. */
export interface NewWork {
  type: string;
  taskId: number;
}

export interface TaskWakeup {
  /**
   * Say that tasks changed; pass the transaction doing the change so PostgreSQL delivers it at commit. With `work`,
   * one idle worker of that type wakes (and every waiter without types); without, every waiter.
   */
  notify(db: Kysely<Database>, work?: NewWork): Promise<void>;
  /**
   * Resolves when tasks may have changed, after `timeoutMs`, or when `signal` aborts, whichever comes first.
   * `types`: the task types this waiter would claim; omitted, it hears every change.
   */
  wait(timeoutMs: number, signal?: AbortSignal, types?: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** `type:id`, parsed back by `workFromPayload`; '' means "something changed". */
export function workPayload(work: NewWork | undefined): string {
  return work ? `${work.type}:${work.taskId}` : '';
}

export function workFromPayload(payload: string | undefined): NewWork | undefined {
  const match = /^(.+):(\d+)$/.exec(payload ?? '');
  return match ? { type: match[1]!, taskId: Number(match[2]) } : undefined;
}

export class Waiters {
  /** Insertion order is waiting order: the first match is the longest waiting. */
  private readonly resolvers = new Map<() => void, readonly string[] | undefined>();
  get size() {
    return this.resolvers.size;
  }
  wakeAll() {
    const all = [...this.resolvers.keys()];
    this.resolvers.clear();
    for (const resolve of all) resolve();
  }
  /** Wakes every waiter without types and the longest-waiting one of `work.type`; no `work`: everyone. */
  wake(work: NewWork | undefined) {
    if (!work) return this.wakeAll();
    let oneOfType: (() => void) | undefined;
    const woken: (() => void)[] = [];
    for (const [resolve, types] of this.resolvers) {
      if (!types) woken.push(resolve);
      else if (!oneOfType && types.includes(work.type)) oneOfType = resolve;
    }
    if (oneOfType) woken.push(oneOfType);
    for (const resolve of woken) resolve();
  }
  wait(timeoutMs: number, signal?: AbortSignal, types?: readonly string[]): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.resolvers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      this.resolvers.set(done, types);
    });
  }
}

export interface TaskWakeupOptions {
  /** SQLite: the safety-net check while the directory is watched (default SQLITE_WATCHED_CHECK_MS). */
  watchedCheckMs?: number;
}

export function createTaskWakeup(handle: DatabaseHandle, options: TaskWakeupOptions = {}): TaskWakeup {
  return handle.dialect.supportsListenNotify
    ? new PostgresWakeup(handle)
    : new SqliteWakeup(handle, options.watchedCheckMs ?? SQLITE_WATCHED_CHECK_MS);
}

class SqliteWakeup implements TaskWakeup {
  private readonly waiters = new Waiters();
  private timer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private recheck: NodeJS.Timeout | undefined;
  private unwatchable = false;
  private lastVersion: number | undefined;

  constructor(
    private readonly handle: DatabaseHandle,
    private readonly watchedCheckMs: number,
  ) {}

  async notify(_db: Kysely<Database>, work?: NewWork): Promise<void> {
    // Same process, same connection: anything waiting runs after the writer's transaction ends.
    setImmediate(() => this.waiters.wake(work));
  }

  wait(timeoutMs: number, signal?: AbortSignal, types?: readonly string[]): Promise<void> {
    const waiting = this.waiters.wait(timeoutMs, signal, types);
    this.startChecking();
    return waiting;
  }

  private startChecking() {
    if (this.timer || !this.handle.sqlite) return;
    this.lastVersion ??= this.dataVersion();
    const watched = !this.unwatchable && this.watchFile();
    this.timer = setInterval(() => this.check(), watched ? this.watchedCheckMs : SQLITE_CHANGE_CHECK_MS);
    this.timer.unref();
  }

  /** Wakes everyone when another connection has committed; stops checking when no one waits. */
  private check() {
    if (this.waiters.size === 0) return this.stopChecking();
    const version = this.dataVersion();
    if (version !== this.lastVersion) {
      this.lastVersion = version;
      this.waiters.wakeAll();
    }
  }

  /** Watches the database's directory for writes to the file and its WAL; false when it cannot. */
  private watchFile(): boolean {
    const file = this.handle.sqlite!.name;
    if (!file || file === ':memory:' || this.handle.sqlite!.memory) return false;
    const base = path.basename(file);
    try {
      this.watcher = watch(path.dirname(file), { persistent: false }, (_event, name) => {
        if (name !== null && name !== base && name !== `${base}-wal`) return;
        this.check();
        // A writer updates the WAL index (shared memory, no event) just after its last write: look once more soon.
        if (this.recheck) return;
        this.recheck = setTimeout(() => {
          this.recheck = undefined;
          this.check();
        }, SQLITE_CHANGE_CHECK_MS);
        this.recheck.unref();
      });
      // A watch that breaks (the directory removed, out of inotify watches) falls back to the 20 ms checks.
      this.watcher.on('error', () => {
        this.unwatchable = true;
        this.stopChecking();
        if (this.waiters.size > 0) this.startChecking();
      });
      return true;
    } catch {
      this.unwatchable = true;
      return false;
    }
  }

  private stopChecking() {
    clearInterval(this.timer);
    this.timer = undefined;
    clearTimeout(this.recheck);
    this.recheck = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }

  private dataVersion(): number {
    return this.handle.sqlite!.pragma('data_version', { simple: true }) as number;
  }

  async close(): Promise<void> {
    this.stopChecking();
    this.waiters.wakeAll();
  }
}

class PostgresWakeup implements TaskWakeup {
  private readonly waiters = new Waiters();
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly handle: DatabaseHandle) {}

  async notify(db: Kysely<Database>, work?: NewWork): Promise<void> {
    await sql`select pg_notify(${TASKS_CHANNEL}, ${workPayload(work)})`.execute(db);
  }

  async wait(timeoutMs: number, signal?: AbortSignal, types?: readonly string[]): Promise<void> {
    if (!this.client) {
      // Listening starts on first wait (and again after a lost connection). A notification sent before LISTEN was
      // active reached no one, so a waiter that has just started listening returns at once and looks again.
      // A failure to connect degrades to waking on the timeout.
      await this.listen().catch(() => undefined);
      if (this.client) return;
    }
    return this.waiters.wait(timeoutMs, signal, types);
  }

  private listen(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve();
    this.connecting ??= (async () => {
      const { default: driver } = await import('pg');
      const client = new driver.Client({ connectionString: this.handle.postgresUrl });
      client.on('notification', (message) => this.waiters.wake(workFromPayload(message.payload)));
      client.on('error', () => {
        // Drop the broken connection; the next wait reconnects. Waiters fall back to their timeouts meanwhile.
        if (this.client === client) this.client = undefined;
        client.end().catch(() => undefined);
      });
      await client.connect();
      await client.query(`listen ${TASKS_CHANNEL}`);
      if (this.closed) {
        await client.end();
        return;
      }
      this.client = client;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    this.waiters.wakeAll();
    await client?.end().catch(() => undefined);
  }
}
