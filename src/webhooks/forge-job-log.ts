/**
 * @module The real failed-job log fetcher of the webhook service: the repository's forge client (GitLab's job trace,
 * GitHub's Actions job log) reads the failed job's log, so the `implement_fix` a failed pipeline starts carries it.
 * `handle-delivery.ts` bounds the wait and records a log it could not fetch as unavailable.
 */
import type { ForgeClientContext } from '../forge/forge-client.js';
import { forgeClientFor } from '../forge/forge-clients.js';
import type { FailedJobLogFetcher } from './handle-delivery.js';

export function forgeJobLogFetcher(context: ForgeClientContext): FailedJobLogFetcher {
  return async ({ repository, jobId }) => forgeClientFor(repository, context).jobLog(String(jobId));
}
