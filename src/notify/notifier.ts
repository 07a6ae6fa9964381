/**
 * @module The notifier (run by the scheduler: `autodev up`, `autodev serve scheduler`): follows the change log through
 * `readEvents` from its stored cursor (`event_log_cursors` row `notifier`; the first start ever begins at "now"), so a
 * restarted notifier sends what happened while none ran (but not an approval decided or a story resumed meanwhile:
 * `still-needed.ts`); turns the moments a human is needed into outbox rows (`outbox.ts`), checks the daily token
 * budget, and sends due rows to the `notify.webhooks` with a 10 s timeout each.
 * Several notifiers (scheduler replicas) share the cursor: each reads from the later of its own and the stored one
 * and moves the stored one forward only, after queueing a batch; a batch two of them read is queued once (the
 * outbox's `(webhook, dedupe_key)`), and the sender's lease sends each row once. It only reads what the workflow
 * wrote and writes its own tables, on its own timer, so a slow or failing webhook never holds up an agent or a
 * decision. Errors are logged with the webhook URL masked and retried on the next tick.
 */
import type { Logger } from 'pino';
import type { Settings } from '../config/settings-schema.js';
import { readEvents, type EventCursor } from '../events/read-events.js';
import {
  advanceStoredCursor,
  laterCursor,
  loadStoredCursor,
  startStoredCursor,
} from '../events/stored-event-cursor.js';
import { activeProviderLimits } from '../agents/provider-limits.js';
import { startOfUtcDay, usageSince } from '../agents/session-store.js';
import type { DatabaseHandle } from '../store/open-database.js';
import { budgetSpentMessage, messageForEvent, webhookBody, type NotifyMessage } from './messages.js';
import { markAttemptFailed, markDelivered, queueNotification, takeDueNotifications } from './outbox.js';
import { stillNeeded } from './still-needed.js';
import { maskWebhookUrl, webhookKey } from './webhook-url.js';

export interface NotifierOptions {
  handle: DatabaseHandle;
  settings: Settings;
  logger?: Logger | undefined;
  clock?: () => number;
  /** Between passes over the log and the outbox. */
  intervalMs?: number;
  /** Per delivery. */
  timeoutMs?: number;
}

/** The notifier's row in `event_log_cursors`. */
export const NOTIFIER_CURSOR = 'notifier';

export class Notifier {
  private cursor: EventCursor | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly clock: () => number;

  constructor(private readonly options: NotifierOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** Starts following the log from the stored cursor (the first start ever: from now); a no-op without webhooks. */
  async start(): Promise<void> {
    if (this.options.settings.notify.webhooks.length === 0) return;
    this.cursor = await startStoredCursor(this.options.handle, NOTIFIER_CURSOR, this.clock());
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: read new events, check the budget, send what is due. Exposed for tests and `start`'s loop. */
  async tick(): Promise<void> {
    const { handle, settings } = this.options;
    const now = this.clock();
    const stored = await loadStoredCursor(handle.db, NOTIFIER_CURSOR);
    // Another notifier may be ahead (it queued those rows already); this one may be ahead of a failed write.
    if (stored) this.cursor = this.cursor ? laterCursor(this.cursor, stored) : stored;
    if (this.cursor) {
      const limits = await activeProviderLimits(handle.db, now);
      const hasFallback = (provider: string) => {
        const fallback = settings.llm.fallback_provider;
        return settings.llm.auto_fallback_on_rate_limit && !!fallback && fallback !== provider && !limits.has(fallback);
      };
      for (;;) {
        const batch = await readEvents(handle, this.cursor, 200);
        for (const row of batch.rows) {
          const item = messageForEvent(row, hasFallback);
          if (item && (await stillNeeded(handle.db, item, limits))) {
            await queueNotification(handle.db, settings.notify, item, now);
          }
        }
        // Queued first, then moved: a notifier that dies in between reads the batch again (queued once).
        if (batch.rows.length > 0) await advanceStoredCursor(handle.db, NOTIFIER_CURSOR, batch.cursor, now);
        this.cursor = batch.cursor;
        if (batch.rows.length < 200) break;
      }
    }
    const budget = settings.tokens.daily_budget;
    if (budget > 0) {
      const dayStart = startOfUtcDay(now);
      const used = await usageSince(handle.db, dayStart);
      if (used.tokens >= budget) {
        const day = new Date(dayStart).toISOString().slice(0, 10);
        await queueNotification(handle.db, settings.notify, budgetSpentMessage(day, used.tokens, budget, now), now);
      }
    }
    for (const row of await takeDueNotifications(handle.db, now)) {
      const hook = settings.notify.webhooks.find((candidate) => webhookKey(candidate.url) === row.webhook);
      if (!hook) {
        await markAttemptFailed(
          handle.db,
          { ...settings.notify, max_attempts: 1 },
          row,
          'webhook no longer configured',
          now,
        );
        continue;
      }
      const error = await this.send(hook.url, webhookBody(hook.format, JSON.parse(row.message) as NotifyMessage));
      if (error === null) await markDelivered(handle.db, row.id, this.clock());
      else {
        const outcome = await markAttemptFailed(handle.db, settings.notify, row, error, this.clock());
        this.options.logger?.warn(
          { webhook: row.target, notification: row.id, attempts: row.attempts + 1 },
          `notification not delivered (${outcome === 'retry' ? 'will retry' : 'gave up'}): ${error}`,
        );
      }
    }
  }

  /** Null when delivered (2xx), else why not, with the URL masked. */
  private async send(url: string, body: unknown): Promise<string | null> {
    try {
      // fetch refuses a URL with user info: it becomes Basic authentication.
      const target = new URL(url);
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'auto-dev-notifier' };
      if (target.username || target.password) {
        const user = decodeURIComponent(target.username);
        const password = decodeURIComponent(target.password);
        headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
        target.username = '';
        target.password = '';
      }
      const response = await fetch(target, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        redirect: 'error',
      });
      await response.body?.cancel();
      return response.ok ? null : `HTTP ${response.status} from ${maskWebhookUrl(url)}`;
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message;
      const reason = `${(error as Error).message}${cause ? ` (${cause})` : ''}`.split(url).join(maskWebhookUrl(url));
      return `${reason} (${maskWebhookUrl(url)})`;
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((error: unknown) => this.options.logger?.warn({ err: error }, 'notifier pass failed; trying again'))
        .finally(() => this.schedule(this.options.intervalMs ?? 1000));
    }, delayMs);
  }
}
