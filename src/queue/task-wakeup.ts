/**
 * @module Wakes idle workers when tasks become claimable, without busy polling the tasks table.
 * PostgreSQL: `pg_notify` in the writer's transaction (delivered at commit) and one LISTEN connection per process.
 * SQLite: an in-process signal for this process's writes, plus `PRAGMA data_version` checked every few ms while
 * someone waits, which changes when another process (a CLI `tasks create`, another worker) commits to the file.
 */
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { DatabaseHandle } from '../store/open-database.js';
import type { Database } from '../store/schema.js';

export const TASKS_CHANNEL = 'autodev_tasks';
/** How often an SQLite waiter checks for other processes' commits. */
export const SQLITE_CHANGE_CHECK_MS = 20;

export interface TaskWakeup {
  /** Say that tasks changed; pass the transaction doing the change so PostgreSQL delivers it at commit. */
  notify(db: Kysely<Database>): Promise<void>;
  /** Resolves when tasks may have changed, after `timeoutMs`, or when `signal` aborts, whichever comes first. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

class Waiters {
  private readonly resolvers = new Set<() => void>();
  get size() {
    return this.resolvers.size;
  }
  wakeAll() {
    const all = [...this.resolvers];
    this.resolvers.clear();
    for (const resolve of all) resolve();
  }
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void> {
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
      this.resolvers.add(done);
    });
  }
}

export function createTaskWakeup(handle: DatabaseHandle): TaskWakeup {
  return handle.dialect.supportsListenNotify ? new PostgresWakeup(handle) : new SqliteWakeup(handle);
}

class SqliteWakeup implements TaskWakeup {
  private readonly waiters = new Waiters();
  private timer: NodeJS.Timeout | undefined;
  private lastVersion: number | undefined;

  constructor(private readonly handle: DatabaseHandle) {}

  async notify(): Promise<void> {
    // Same process, same connection: anything waiting runs after the writer's transaction ends.
    setImmediate(() => this.waiters.wakeAll());
  }

  wait(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const waiting = this.waiters.wait(timeoutMs, signal);
    this.startChecking();
    return waiting;
  }

  private startChecking() {
    if (this.timer || !this.handle.sqlite) return;
    this.lastVersion ??= this.dataVersion();
    this.timer = setInterval(() => {
      if (this.waiters.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
        return;
      }
      const version = this.dataVersion();
      if (version !== this.lastVersion) {
        this.lastVersion = version;
        this.waiters.wakeAll();
      }
    }, SQLITE_CHANGE_CHECK_MS);
    this.timer.unref();
  }

  private dataVersion(): number {
    return this.handle.sqlite!.pragma('data_version', { simple: true }) as number;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.waiters.wakeAll();
  }
}

class PostgresWakeup implements TaskWakeup {
  private readonly waiters = new Waiters();
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly handle: DatabaseHandle) {}

  async notify(db: Kysely<Database>): Promise<void> {
    await sql`select pg_notify(${TASKS_CHANNEL}, '')`.execute(db);
  }

  async wait(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const waiting = this.waiters.wait(timeoutMs, signal);
    // Listening starts on first wait; a failure to connect degrades to waking on the timeout.
    await this.listen().catch(() => undefined);
    return waiting;
  }

  private listen(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve();
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.handle.postgresUrl });
      client.on('notification', () => this.waiters.wakeAll());
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
