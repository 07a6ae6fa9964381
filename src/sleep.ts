/**
 * @module Waiting that an abort cuts short: resolves after `ms`, or at once when `signal` aborts (never rejects), so
 * loops can sleep between polls and still stop promptly.
 */
import { setTimeout as delay } from 'node:timers/promises';

export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined);
}
