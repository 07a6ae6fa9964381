/**
 * @module The limits every provider enforces the same way while a session runs: the caller's abort signal, the token
 * budget, and a sink that throws. Providers send their events through the guard and kill the CLI when it stops.
 */
import type { SessionRequest, SessionSink } from './provider.js';
import {
  ABORTED_ERROR,
  budgetTokens,
  TOKEN_BUDGET_ERROR,
  ZERO_USAGE,
  type SessionEvent,
  type TokenUsage,
} from './session-events.js';

const STOPPED: unique symbol = Symbol('stopped');

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export type StopReason = typeof ABORTED_ERROR | typeof TOKEN_BUDGET_ERROR | 'sink failed';

export class SessionGuard {
  readonly startedAt: number;
  /** Aborts when the session must stop: the caller aborted, the budget ran out, or the sink threw. */
  readonly controller = new AbortController();
  readonly signal: AbortSignal;
  /** Settles when `signal` aborts, to race against a CLI that does not answer. */
  readonly stopped: Promise<void>;
  private reason: StopReason | null = null;
  private latestUsage: TokenUsage = { ...ZERO_USAGE };
  private latestCost: number | null = null;
  private failure: { error: unknown } | null = null;
  private readonly onCallerAbort = () => this.stop(ABORTED_ERROR);

  constructor(
    private readonly request: SessionRequest,
    private readonly sink: SessionSink,
    private readonly clock: () => number,
  ) {
    this.startedAt = clock();
    this.signal = this.controller.signal;
    this.stopped = new Promise((resolve) =>
      this.controller.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    if (request.signal.aborted) this.stop(ABORTED_ERROR);
    else request.signal.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  /** Why the session was stopped, or null while it may run. */
  get stopReason(): StopReason | null {
    return this.reason;
  }

  /** Token totals from the latest usage event. */
  get usage(): TokenUsage {
    return { ...this.latestUsage };
  }

  get costUsd(): number | null {
    return this.latestCost;
  }

  /** The error the sink threw, if it threw. */
  get sinkFailure(): { error: unknown } | null {
    return this.failure;
  }

  elapsedMs(): number {
    return Math.max(0, this.clock() - this.startedAt);
  }

  stop(reason: StopReason): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller.abort(new Error(reason));
  }

  private forward(event: SessionEvent): void {
    if (this.failure) return;
    try {
      this.sink(event);
    } catch (error) {
      this.failure = { error };
      this.stop('sink failed');
    }
  }

  /** Forwards events to the sink, keeps the usage totals, and stops the session once the token budget is passed. */
  emit(events: readonly SessionEvent[]): void {
    for (const event of events) {
      if (event.type === 'usage') {
        this.latestUsage = {
          input_tokens: event.input_tokens,
          output_tokens: event.output_tokens,
          cache_read_tokens: event.cache_read_tokens,
          cache_creation_tokens: event.cache_creation_tokens,
        };
        if (event.cost_usd !== undefined) this.latestCost = event.cost_usd;
      }
      this.forward(event);
      const budget = this.request.tokenBudget;
      if (event.type === 'usage' && budget !== undefined && !this.reason && budgetTokens(this.latestUsage) > budget) {
        const message = `token budget exceeded: ${budgetTokens(this.latestUsage)} tokens used, budget ${budget}`;
        this.forward({ type: 'error', fatal: true, message });
        this.stop(TOKEN_BUDGET_ERROR);
      }
    }
  }

  /**
   * Iterates `source` until it ends or the session is stopped. After a stop it gives the SDK `settleMs` to wind down
   * (it is killing the CLI), then walks away, so a CLI that ignores signals cannot hang the caller.
   */
  async *untilStopped<T>(source: AsyncIterable<T>, settleMs: number): AsyncGenerator<T> {
    const iterator = source[Symbol.asyncIterator]();
    const stopped: Promise<typeof STOPPED> = this.stopped.then(() => STOPPED);
    try {
      for (;;) {
        const next = iterator.next();
        next.catch(() => undefined); // a rejection after the stop is expected and has no one to report to
        const first = await Promise.race([next, stopped]);
        if (first === STOPPED) {
          await Promise.race([
            next.then(
              () => undefined,
              () => undefined,
            ),
            delay(settleMs),
          ]);
          return;
        }
        if (first.done) return;
        yield first.value;
      }
    } finally {
      void Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => undefined);
    }
  }

  /** Detaches from the caller's signal; call once the session is over. */
  dispose(): void {
    this.request.signal.removeEventListener('abort', this.onCallerAbort);
  }
}

/** Error text for a session the guard stopped. */
export function stopError(reason: StopReason): string {
  return reason === 'sink failed' ? 'aborted: the event sink failed' : reason;
}

/** One readable line from anything thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
