/**
 * @module Times inside an event's `data` as the API shows them: the change log stores epoch milliseconds (`until`,
 * `slot_at`, `runAfter`, ...); the event stream sends them as ISO 8601 with a zone, like every other API time. Only
 * the top level of `data` holds times (events are flat). Pure.
 *
 * ### Examples
 * ```ts
 * isoEventTimes({ until: 0, reason: '429' }) // { until: '1970-01-01T00:00:00.000Z', reason: '429' }
 * ```
 */

/** A key that names a time: `*_at`, `*At`, `until`, `*_until`. */
export const EVENT_TIME_KEY = /(^|_)(at|until)$|[a-z]At$|^runAfter$/;

export function isoEventTimes(data: unknown): unknown {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return data;
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [
      key,
      EVENT_TIME_KEY.test(key) && typeof value === 'number' && Number.isFinite(value)
        ? new Date(value).toISOString()
        : value,
    ]),
  );
}
