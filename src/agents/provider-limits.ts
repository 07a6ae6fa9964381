/**
 * @module The shared rate-limit state: when a session reports a limit, the provider is marked limited until its
 * reset time in the database, so every process on every machine skips it (or waits) until then.
 */
import type { Kysely } from 'kysely';
import { recordEvent } from '../events/record-event.js';
import type { Database } from '../store/schema.js';
import type { ProviderLimits } from './choose-provider.js';

/** When a provider says "limited" without a reset time, assume this long before trying it again. */
export const UNKNOWN_RESET_COOLDOWN_MS = 15 * 60_000;
/**
 * When a provider refuses work with a reset time that has already passed (clock skew, a stale reset), it is limited
 * now all the same: assume this long, so the task moves to the fallback instead of retrying the same provider.
 */
export const STALE_RESET_COOLDOWN_MS = 60_000;

/** Marks the provider limited (shared through the database) and returns until when (ms since the epoch). */
export async function markProviderLimited(
  db: Kysely<Database>,
  limit: { provider: string; until: number | null; reason: string; now: number },
): Promise<number> {
  const until =
    limit.until === null
      ? limit.now + UNKNOWN_RESET_COOLDOWN_MS
      : limit.until > limit.now
        ? limit.until
        : limit.now + STALE_RESET_COOLDOWN_MS;
  await db
    .insertInto('provider_limits')
    .values({ provider: limit.provider, limited_until: until, reason: limit.reason, updated_at: limit.now })
    .onConflict((oc) =>
      oc.column('provider').doUpdateSet({ limited_until: until, reason: limit.reason, updated_at: limit.now }),
    )
    .execute();
  await recordEvent(db, {
    kind: 'provider.rate_limited',
    subjectType: 'provider',
    subjectId: limit.provider,
    actor: 'system',
    data: { until, reason: limit.reason },
    now: limit.now,
  });
  return until;
}

export async function activeProviderLimits(db: Kysely<Database>, now: number): Promise<ProviderLimits> {
  const rows = await db
    .selectFrom('provider_limits')
    .select(['provider', 'limited_until'])
    .where('limited_until', '>', now)
    .execute();
  return new Map(rows.map((r) => [r.provider, r.limited_until]));
}
