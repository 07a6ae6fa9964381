/**
 * @module The notification outbox (`notifications`, migration 0015): queue a message for every webhook that wants
 * its event (once per `(webhook, dedupe_key)`, whoever queues it), take the due ones under a short lease (so two
 * processes never send one row together), and settle a delivery: delivered, retried with back-off, or failed for
 * good after `notify.max_attempts`.
 */
import type { Kysely } from 'kysely';
import type { Settings } from '../config/settings-schema.js';
import { retryDelayMs } from '../queue/backoff.js';
import type { Database, NotificationsTable } from '../store/schema.js';
import type { Selectable } from 'kysely';
import type { NotifyItem } from './messages.js';
import { maskWebhookUrl, webhookKey } from './webhook-url.js';

export type NotificationRow = Selectable<NotificationsTable>;
export type NotifySettings = Settings['notify'];

/** How long a taken row is held before another sender may try it (a sender that died mid-request). */
export const SEND_LEASE_MS = 60_000;

/** Queues `item` for each webhook subscribed to its event; returns how many rows were new. */
export async function queueNotification(
  db: Kysely<Database>,
  settings: NotifySettings,
  item: NotifyItem,
  now: number,
): Promise<number> {
  const rows = settings.webhooks
    .filter((hook) => hook.events.includes(item.message.event))
    .map((hook) => ({
      webhook: webhookKey(hook.url),
      target: maskWebhookUrl(hook.url),
      dedupe_key: item.dedupeKey,
      event: item.message.event,
      message: JSON.stringify(item.message),
      status: 'pending' as const,
      next_attempt_at: now,
      created_at: now,
      updated_at: now,
    }));
  if (rows.length === 0) return 0;
  const inserted = await db
    .insertInto('notifications')
    .values(rows)
    .onConflict((oc) => oc.columns(['webhook', 'dedupe_key']).doNothing())
    .returning('id')
    .execute();
  return inserted.length;
}

/** Up to `limit` due rows, each taken under a lease (its `next_attempt_at` moved forward) by this caller. */
export async function takeDueNotifications(db: Kysely<Database>, now: number, limit = 20): Promise<NotificationRow[]> {
  const due = await db
    .selectFrom('notifications')
    .selectAll()
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .orderBy('next_attempt_at')
    .orderBy('id')
    .limit(limit)
    .execute();
  const taken: NotificationRow[] = [];
  for (const row of due) {
    const result = await db
      .updateTable('notifications')
      .set({ next_attempt_at: now + SEND_LEASE_MS, updated_at: now })
      .where('id', '=', row.id)
      .where('status', '=', 'pending')
      .where('next_attempt_at', '=', row.next_attempt_at)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 1) taken.push(row);
  }
  return taken;
}

export async function markDelivered(db: Kysely<Database>, id: number, now: number): Promise<void> {
  await db
    .updateTable('notifications')
    .set((eb) => ({
      status: 'delivered',
      attempts: eb('attempts', '+', 1),
      delivered_at: now,
      last_error: null,
      updated_at: now,
    }))
    .where('id', '=', id)
    .execute();
}

/** A failed delivery: retried after the back-off, or `failed` once the attempts are spent. */
export async function markAttemptFailed(
  db: Kysely<Database>,
  settings: NotifySettings,
  row: NotificationRow,
  error: string,
  now: number,
): Promise<'retry' | 'failed'> {
  const attempts = row.attempts + 1;
  const giveUp = attempts >= settings.max_attempts;
  const delay = retryDelayMs(attempts, {
    baseMs: settings.retry_base_seconds * 1000,
    maxMs: settings.retry_max_seconds * 1000,
  });
  await db
    .updateTable('notifications')
    .set({
      status: giveUp ? 'failed' : 'pending',
      attempts,
      last_error: error.slice(0, 1000),
      next_attempt_at: giveUp ? now : now + delay,
      updated_at: now,
    })
    .where('id', '=', row.id)
    .execute();
  return giveUp ? 'failed' : 'retry';
}
