/**
 * @module The `replay` provider: plays a recorded session file instead of running a model, for the runtime's tests.
 * It runs nothing and writes nothing: it only emits the recorded events (`autodev demo` instead plays its recordings
 * to the real Claude Code CLI through a stand-in model, src/demo/). Every outcome says `provider: 'replay'` and every
 * transcript opens with "[replayed session: <file>]". `parseRecordedSession` is also the demo's reader.
 *
 * Recorded session format: JSONL, one JSON object per line; blank lines and lines starting with `#` are ignored.
 * - Any `SessionEvent` (session-events.ts), played in order.
 * - A `file_change` may carry `content`: `{"type":"file_change","path":"src/x.ts","kind":"add","content":"..."}`
 *   (the demo's stand-in writes it through the CLI's Write tool). Replayed, it is only the event, without the content.
 *   Paths must be relative and stay inside the working directory.
 * - `{"type":"delay","ms":250}` pauses the replay (on top of the provider's per-event delay).
 * - One `{"type":"outcome", "status": "succeeded"|"failed"|"rate_limited"|"aborted", ...}` line ends the file; optional
 *   fields: resultText, error, model, providerSessionId, usage {input_tokens, output_tokens, cache_read_tokens,
 *   cache_creation_tokens}, costUsd, numTurns, rateLimitResetsAt (ms epoch) or rateLimitResetsInMs (from now).
 *   Usage and cost default to the last `usage` event. The token budget and the abort signal apply as for live runs.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { LlmProvider, SessionRequest, SessionSink } from './provider.js';
import { errorMessage, SessionGuard, stopError } from './session-guard.js';
import {
  SESSION_STATUSES,
  sessionEventSchema,
  tokenUsageSchema,
  type FileChangeKind,
  type SessionEvent,
  type SessionOutcome,
} from './session-events.js';

export interface ReplayProviderOptions {
  /** The recorded session to play: a file, or a choice per request (e.g. by role or prompt). */
  sessionFile: string | ((request: SessionRequest) => string);
  /** Pause before each event, to look like a live session. */
  delayMs?: number;
  now?: () => number;
}

const fileChangeLine = z.object({
  type: z.literal('file_change'),
  path: z.string().min(1),
  kind: z.enum(['add', 'update', 'delete']),
  content: z.string().optional(),
});
const delayLine = z.object({ type: z.literal('delay'), ms: z.number().int().nonnegative() });
const outcomeLine = z.object({
  type: z.literal('outcome'),
  status: z.enum(SESSION_STATUSES),
  resultText: z.string().optional(),
  error: z.string().optional(),
  model: z.string().optional(),
  providerSessionId: z.string().optional(),
  usage: tokenUsageSchema.optional(),
  costUsd: z.number().nonnegative().optional(),
  numTurns: z.number().int().nonnegative().optional(),
  rateLimitResetsAt: z.number().nullable().optional(),
  rateLimitResetsInMs: z.number().nonnegative().optional(),
});

export type RecordedLine =
  | { kind: 'event'; event: SessionEvent }
  | { kind: 'file'; path: string; change: FileChangeKind; content?: string }
  | { kind: 'delay'; ms: number }
  | { kind: 'outcome'; outcome: z.infer<typeof outcomeLine> };

/** Parses a recorded session's text (pure). Throws an error naming the file and line that is wrong. */
export function parseRecordedSession(text: string, fileName: string): RecordedLine[] {
  const lines: RecordedLine[] = [];
  let outcomes = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const where = `${fileName} line ${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new Error(`${where}: not JSON`);
    }
    const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
    const invalid = (error: z.ZodError) =>
      new Error(`${where}: ${error.issues.map((i) => `${i.path.join('.') || 'line'}: ${i.message}`).join('; ')}`);
    if (type === 'file_change') {
      const parsed = fileChangeLine.safeParse(value);
      if (!parsed.success) throw invalid(parsed.error);
      const { path: file, kind, content } = parsed.data;
      lines.push({ kind: 'file', path: file, change: kind, ...(content !== undefined ? { content } : {}) });
    } else if (type === 'delay') {
      const parsed = delayLine.safeParse(value);
      if (!parsed.success) throw invalid(parsed.error);
      lines.push({ kind: 'delay', ms: parsed.data.ms });
    } else if (type === 'outcome') {
      const parsed = outcomeLine.safeParse(value);
      if (!parsed.success) throw invalid(parsed.error);
      outcomes += 1;
      lines.push({ kind: 'outcome', outcome: parsed.data });
    } else {
      const parsed = sessionEventSchema.safeParse(value);
      if (!parsed.success) throw invalid(parsed.error);
      lines.push({ kind: 'event', event: parsed.data });
    }
  });
  if (outcomes !== 1 || lines.at(-1)?.kind !== 'outcome') {
    throw new Error(`${fileName}: a recorded session ends with exactly one {"type":"outcome",...} line`);
  }
  return lines;
}

/** The absolute path of `relative` inside `cwd`, or null if it is absolute or climbs out. */
export function pathInside(cwd: string, relative: string): string | null {
  if (path.isAbsolute(relative)) return null;
  const root = path.resolve(cwd);
  const target = path.resolve(root, relative);
  return target.startsWith(root + path.sep) ? target : null;
}

function sleep(ms: number, stopped: Promise<void>): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return Promise.race([new Promise<void>((resolve) => setTimeout(resolve, ms).unref()), stopped]);
}

export function createReplayProvider(options: ReplayProviderOptions): LlmProvider {
  const clock = options.now ?? Date.now;

  async function run(request: SessionRequest, sink: SessionSink): Promise<SessionOutcome> {
    const guard = new SessionGuard(request, sink, clock);
    let outcome: SessionOutcome;
    try {
      outcome = await play(request, guard);
    } finally {
      guard.dispose();
    }
    if (guard.sinkFailure) throw guard.sinkFailure.error;
    return outcome;
  }

  async function play(request: SessionRequest, guard: SessionGuard): Promise<SessionOutcome> {
    const file = typeof options.sessionFile === 'string' ? options.sessionFile : options.sessionFile(request);
    const label = path.basename(file);
    let providerSessionId: string | null = null;

    const outcomeOf = (
      fields: Pick<SessionOutcome, 'status' | 'resultText'> & Partial<SessionOutcome>,
    ): SessionOutcome => ({
      provider: 'replay',
      providerSessionId,
      model: null,
      usage: guard.usage,
      costUsd: guard.costUsd,
      durationMs: guard.elapsedMs(),
      ...fields,
    });
    const failed = (error: string): SessionOutcome => {
      guard.emit([{ type: 'error', fatal: true, message: error }]);
      return outcomeOf({ status: 'failed', resultText: '', error });
    };

    try {
      if (guard.stopReason) return outcomeOf({ status: 'aborted', resultText: '', error: stopError(guard.stopReason) });
      guard.emit([{ type: 'text', text: `[replayed session: ${label}]` }]);
      let lines: RecordedLine[];
      try {
        lines = parseRecordedSession(await readFile(file, 'utf8'), label);
      } catch (error) {
        return failed(`cannot replay ${label}: ${errorMessage(error)}`);
      }
      for (const line of lines) {
        if (line.kind !== 'outcome')
          await sleep(line.kind === 'delay' ? line.ms : (options.delayMs ?? 0), guard.stopped);
        if (guard.stopReason) {
          return outcomeOf({ status: 'aborted', resultText: '', error: stopError(guard.stopReason) });
        }
        switch (line.kind) {
          case 'event':
            if (line.event.type === 'session_started') providerSessionId = line.event.provider_session_id;
            guard.emit([line.event]);
            break;
          case 'file': {
            if (!pathInside(request.cwd, line.path)) {
              return failed(`${label}: file change outside the working directory: ${line.path}`);
            }
            guard.emit([{ type: 'file_change', path: line.path, kind: line.change }]);
            break;
          }
          case 'delay':
            break;
          case 'outcome': {
            // The budget may have been passed by the last usage event.
            if (guard.stopReason)
              return outcomeOf({ status: 'aborted', resultText: '', error: stopError(guard.stopReason) });
            const recorded = line.outcome;
            if (recorded.providerSessionId) providerSessionId = recorded.providerSessionId;
            const outcome = outcomeOf({
              status: recorded.status,
              resultText: recorded.resultText ?? '',
              model: recorded.model ?? null,
              usage: recorded.usage ?? guard.usage,
              costUsd: recorded.costUsd ?? guard.costUsd,
            });
            if (recorded.error) outcome.error = recorded.error;
            if (recorded.numTurns !== undefined) outcome.numTurns = recorded.numTurns;
            if (recorded.status === 'rate_limited') {
              outcome.rateLimitResetsAt =
                recorded.rateLimitResetsInMs !== undefined
                  ? clock() + recorded.rateLimitResetsInMs
                  : (recorded.rateLimitResetsAt ?? null);
            }
            return outcome;
          }
        }
      }
      return failed(`${label}: no outcome`); // unreachable: parseRecordedSession requires the outcome line
    } catch (error) {
      return failed(`replay of ${label} failed: ${errorMessage(error)}`);
    }
  }

  return { name: 'replay', run };
}
