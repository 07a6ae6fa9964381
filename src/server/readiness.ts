/**
 * @module What `GET /ready` answers for one process: the database answers, its schema is the one this build expects
 * (set once `waitForSchema` or `up`'s own migration is done), and each of the process's own loops (HTTP server,
 * agents, scheduler) is running. A `serve` process that starts before its database says so: "waiting for the
 * database" until it answers. Live (`/health`) and ready are apart: a process waiting for `autodev db migrate` is
 * alive and not ready, so an orchestrator keeps it and sends it no traffic.
 */
import { sql } from 'kysely';
import type { DatabaseHandle } from '../store/open-database.js';

export interface ReadyReport {
  ready: boolean;
  database: boolean;
  schema: boolean;
  /** Each loop of this process by name (`server`, `agents`, `scheduler`): running or not. */
  loops: Record<string, boolean>;
  /** Why not ready, one sentence per failed check; empty when ready. */
  reasons: string[];
}

export class Readiness {
  private schemaCurrent = false;
  private databaseWait: string | undefined;
  private readonly loops = new Map<string, () => boolean>();
  private reachedSchema: () => void = () => undefined;
  /** Resolves when `markSchemaCurrent` is called. */
  readonly whenSchemaCurrent = new Promise<void>((resolve) => (this.reachedSchema = resolve));

  /** The schema is at this build's version from now on. */
  markSchemaCurrent(): void {
    this.schemaCurrent = true;
    this.reachedSchema();
  }

  /** Whether the schema was found current (routes other than `/health` and `/ready` wait for it). */
  get schemaIsCurrent(): boolean {
    return this.schemaCurrent;
  }

  /**
   * The process is waiting for the database to answer at its start (`store/wait-for-database.ts`): `detail` says how
   * long it keeps trying; undefined once it answered.
   */
  waitingForDatabase(detail: string | undefined): void {
    this.databaseWait = detail;
  }

  /** A loop this process runs; `running` is asked at every check. */
  addLoop(name: string, running: () => boolean): void {
    this.loops.set(name, running);
  }

  async check(handle: DatabaseHandle): Promise<ReadyReport> {
    const reasons: string[] = [];
    let database = true;
    try {
      await sql`select 1`.execute(handle.db);
    } catch {
      database = false;
      reasons.push('the database does not answer');
    }
    if (this.databaseWait !== undefined) reasons.push(`waiting for the database: ${this.databaseWait}`);
    if (!this.schemaCurrent)
      reasons.push("the schema is not at this build's version yet (waiting for `autodev db migrate`)");
    const loops: Record<string, boolean> = {};
    for (const [name, running] of this.loops) {
      loops[name] = running();
      if (!loops[name]) reasons.push(`the ${name} loop is not running`);
    }
    if (this.loops.size === 0) reasons.push('nothing runs in this process yet');
    return { ready: reasons.length === 0, database, schema: this.schemaCurrent, loops, reasons };
  }
}
