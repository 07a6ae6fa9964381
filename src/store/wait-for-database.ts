/**
 * @module Waits for the database to answer, with a bounded backoff: how every `autodev serve` process starts when
 * PostgreSQL is not up yet (a compose stack or an ECS service starting beside its database). Each failed try is told
 * (once per distinct error, with the next delay), and after `limitMs` it gives up with DATABASE_UNAVAILABLE naming
 * the limit's setting; an abort (SIGTERM while waiting) ends it quietly.
 */
import { sql } from 'kysely';
import { AutodevError } from '../errors.js';
import { sleepUnlessAborted } from '../sleep.js';
import type { DatabaseHandle } from './open-database.js';

export interface WaitForDatabaseOptions {
  signal: AbortSignal;
  /** Give up after this long without an answer (0: one try only). */
  limitMs: number;
  /** Told when a try fails: the error's message and the delay before the next try. */
  log: (message: string) => void;
  /** The first delay between tries; each next one doubles, up to `maxDelayMs`. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** Names the limit in the error, e.g. `server.database_wait_seconds`. */
  limitSetting?: string;
  clock?: () => number;
}

/** Resolves true once `select 1` answers, false if `signal` aborts first; throws DATABASE_UNAVAILABLE at the limit. */
export async function waitForDatabase(handle: DatabaseHandle, options: WaitForDatabaseOptions): Promise<boolean> {
  const clock = options.clock ?? Date.now;
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  const giveUpAt = clock() + options.limitMs;
  let delayMs = options.firstDelayMs ?? 250;
  let told = '';
  let tries = 0;
  while (!options.signal.aborted) {
    tries++;
    let failure: string;
    try {
      await sql`select 1`.execute(handle.db);
      return true;
    } catch (error) {
      failure = (error as Error).message || String(error);
    }
    const left = giveUpAt - clock();
    if (left <= 0) {
      throw new AutodevError(
        'DATABASE_UNAVAILABLE',
        `the database ${handle.location} did not answer within ${Math.round(options.limitMs / 1000)} s ` +
          `(${tries} tries; ${options.limitSetting ?? 'the wait limit'}): ${failure}. ` +
          'Check DATABASE_URL and that the server is running.',
      );
    }
    const wait = Math.min(delayMs, left);
    if (failure !== told) {
      options.log(
        `waiting for the database ${handle.location} (${failure}); trying again every ` +
          `${(Math.min(delayMs, maxDelayMs) / 1000).toFixed(2)}-${(maxDelayMs / 1000).toFixed(0)} s ` +
          `for up to ${Math.ceil(left / 1000)} s more; not ready until then`,
      );
      told = failure;
    }
    await sleepUnlessAborted(wait, options.signal);
    delayMs = Math.min(delayMs * 2, maxDelayMs);
  }
  return false;
}
