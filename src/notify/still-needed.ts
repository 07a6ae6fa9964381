/**
 * @module Whether a nudge read from the change log still asks for something when it is queued: an approval decided
 * meanwhile, or a story no longer waiting for a human, needs nobody. It matters when a notifier catches up on the
 * log after none ran (its stored cursor): what was settled during the outage is not sent. A subject the database
 * does not hold (any more) is sent as before; a rate limit only while it lasts (`limits`: the providers limited now);
 * the daily budget as read.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { NotifyItem } from './messages.js';

export async function stillNeeded(
  db: Kysely<Database>,
  item: NotifyItem,
  limits: ReadonlyMap<string, number>,
): Promise<boolean> {
  const { event, subject } = item.message;
  if (event === 'rate_limited') return limits.has(subject.id);
  const id = Number(subject.id);
  if (!Number.isSafeInteger(id)) return true;
  if (event === 'approval_opened') {
    const row = await db.selectFrom('approvals').select('status').where('id', '=', id).executeTakeFirst();
    return !row || row.status === 'pending';
  }
  if (event === 'waiting_for_human') {
    const row = await db.selectFrom('workflows').select('status').where('id', '=', id).executeTakeFirst();
    return !row || row.status === 'waiting_for_human';
  }
  return true;
}
