/**
 * @module The outbox as people see it (`GET /api/notifications`): the newest notifications, optionally of one state,
 * and how many are in each state. A pending row that failed before is `retrying`. Reads only; the URL is never
 * stored (only its masked form, `target`), and the error text was masked when it was recorded.
 */
import { sql, type Kysely } from 'kysely';
import type { Notification, Notifications, NotificationState } from '../domain/notification-schema.js';
import type { Database } from '../store/schema.js';
import type { NotificationRow } from './outbox.js';
import { maskWebhookUrl } from './webhook-url.js';

const iso = (ms: number | string) => new Date(Number(ms)).toISOString();

function stateOf(row: Pick<NotificationRow, 'status' | 'attempts'>): NotificationState {
  if (row.status === 'pending') return Number(row.attempts) > 0 ? 'retrying' : 'pending';
  return row.status;
}

function messageFields(message: string): { title: string; path: string } {
  try {
    const parsed = JSON.parse(message) as { title?: unknown; path?: unknown };
    return {
      title: typeof parsed.title === 'string' ? parsed.title : '',
      path: typeof parsed.path === 'string' ? parsed.path : '/',
    };
  } catch {
    return { title: '', path: '/' };
  }
}

function toView(row: NotificationRow): Notification {
  const state = stateOf(row);
  const { title, path } = messageFields(row.message);
  return {
    id: Number(row.id),
    event: row.event,
    title: title || row.event,
    path,
    // Masked when queued; masked again in case a row predates that or a setting put a secret in the host part.
    target: row.target.includes('***') ? row.target : maskWebhookUrl(row.target),
    state,
    attempts: Number(row.attempts),
    next_attempt_at: state === 'pending' || state === 'retrying' ? iso(row.next_attempt_at) : null,
    last_error: row.last_error,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    delivered_at: row.delivered_at === null ? null : iso(row.delivered_at),
  };
}

export async function listNotifications(
  db: Kysely<Database>,
  options: { state?: NotificationState; limit: number },
): Promise<Notifications> {
  let query = db.selectFrom('notifications').selectAll();
  if (options.state === 'pending') query = query.where('status', '=', 'pending').where('attempts', '=', 0);
  else if (options.state === 'retrying') query = query.where('status', '=', 'pending').where('attempts', '>', 0);
  else if (options.state) query = query.where('status', '=', options.state);
  const rows = await query.orderBy('id', 'desc').limit(options.limit).execute();

  const grouped = await db
    .selectFrom('notifications')
    .select((eb) => [
      'status',
      sql<number>`case when attempts > 0 then 1 else 0 end`.as('tried'),
      eb.fn.countAll<number>().as('n'),
    ])
    .groupBy(['status', 'tried'])
    .execute();
  const counts = { pending: 0, retrying: 0, delivered: 0, failed: 0 };
  for (const group of grouped)
    counts[stateOf({ status: group.status, attempts: Number(group.tried) })] += Number(group.n);
  return { counts, notifications: rows.map(toView) };
}
