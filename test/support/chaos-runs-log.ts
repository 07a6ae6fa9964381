/**
 * @module The chaos test's run log: each worker process appends one JSON line per handler start, handler end,
 * settled outcome and loop error to its own file, with the time (`Date.now()`, one clock for every process on the
 * machine). Written with a synchronous append, so a line is in the file (the kernel's page cache) before the worker
 * goes on, and survives the worker's SIGKILL; unlike a table it can be written while PostgreSQL is down.
 */
import fs from 'node:fs';

export type ChaosRunEvent =
  | { event: 'start' | 'end'; taskId: number; attempt: number }
  | { event: 'settled'; taskId: number; attempt: number; outcome: 'completed' | 'failed' | 'released' | 'lease_lost' }
  | { event: 'error'; taskId: number | undefined; message: string };

export type ChaosRunLine = ChaosRunEvent & { at: number };

export interface ChaosRunsLog {
  write(event: ChaosRunEvent): void;
}

export function openChaosRunsLog(file: string): ChaosRunsLog {
  const fd = fs.openSync(file, 'a');
  return {
    write(event) {
      fs.writeSync(fd, `${JSON.stringify({ ...event, at: Date.now() })}\n`);
    },
  };
}

/** Every line of a worker's log; a last line cut short by a SIGKILL mid-write is left out. */
export function readChaosRunsLog(file: string): ChaosRunLine[] {
  if (!fs.existsSync(file)) return [];
  const lines: ChaosRunLine[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      lines.push(JSON.parse(line) as ChaosRunLine);
    } catch {
      // Only the last line can be torn, by a kill between the write's start and end.
    }
  }
  return lines;
}
