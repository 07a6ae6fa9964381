/**
 * @module What the GitLab and GitHub clients do with an HTTP answer that is not a success: how long a 429 (or
 * GitHub's rate-limit 403) asks to wait, from `Retry-After`, `RateLimit-Reset` / `x-ratelimit-reset`; and the
 * `AutodevError` a 401/403/404/409/other failure becomes, naming the repository, the request and the token's
 * missing scope. Pure functions; the clients own the waiting and the requests.
 */
import { AutodevError } from '../errors.js';

/** How rate-limited requests are retried: at most `maxAttempts` tries, never waiting longer than `maxWaitMs` once. */
export interface BackoffPolicy {
  maxAttempts: number;
  maxWaitMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  maxAttempts: 5,
  maxWaitMs: 60_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => Date.now(),
};

type HeaderReader = (name: string) => string | null | undefined;

/**
 * The wait a rate-limited answer asks for, in ms: `Retry-After` (seconds or an HTTP date) first, else a reset time
 * in epoch seconds (`RateLimit-Reset` on GitLab, `x-ratelimit-reset` on GitHub); 1 s when the answer names none.
 *
 * ### Example
 * ```ts
 * retryDelayMs((h) => response.headers.get(h), Date.now()); // Retry-After: 2 -> 2000
 * ```
 */
export function retryDelayMs(header: HeaderReader, now: number): number {
  const retryAfter = header('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000;
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = (header('ratelimit-reset') ?? header('x-ratelimit-reset'))?.trim();
  if (reset && /^\d+$/.test(reset)) {
    const value = Number(reset);
    // GitLab's RateLimit-Reset is an epoch time; a small number is a delta in seconds (the IETF draft's meaning).
    return value > 1_000_000_000 ? Math.max(0, value * 1000 - now) : value * 1000;
  }
  return 1000;
}

/** Whether the answer is a rate limit: 429, or GitHub's 403 with no requests remaining or a `Retry-After`. */
export function isRateLimited(status: number, header: HeaderReader): boolean {
  if (status === 429) return true;
  return status === 403 && (header('x-ratelimit-remaining') === '0' || header('retry-after') != null);
}

export interface FailedRequest {
  forge: 'GitLab' | 'GitHub';
  /** The Auto-Dev repository's name. */
  repository: string;
  /** e.g. `PUT projects/group%2Fapp/merge_requests/3/merge` */
  request: string;
  status: number;
  /** The forge's message from the body. */
  message: string;
  /** The scope (or permission) the forge says the token lacks, when it says. */
  missingScope: string | null;
  /** Where the token comes from, for the message (e.g. `GITLAB_TOKEN`). */
  tokenSource: string;
  /** The scope a token needs for everything the client does (`api` on GitLab, `repo` on GitHub). */
  neededScope: string;
}

/** The AutodevError for a failed forge request; the message says what to do. */
export function forgeRequestError(failure: FailedRequest): AutodevError {
  const where = `${failure.forge} (repository "${failure.repository}", ${failure.request})`;
  const said = failure.message ? `: ${failure.message}` : '';
  const details = { status: failure.status, request: failure.request, missingScope: failure.missingScope };
  switch (failure.status) {
    case 401:
      return new AutodevError(
        'FORGE_AUTH_FAILED',
        `${where} refused the token from ${failure.tokenSource} (401${said}); it is missing, expired or revoked: ` +
          `set ${failure.tokenSource} to a token with the ${failure.neededScope} scope`,
        details,
      );
    case 403: {
      const scope = failure.missingScope ?? failure.neededScope;
      return new AutodevError(
        'FORGE_AUTH_FAILED',
        `${where} forbade the request (403${said}); the token from ${failure.tokenSource} lacks the ${scope} ` +
          `scope or access to the project: give it ${scope}`,
        details,
      );
    }
    case 404:
      return new AutodevError(
        'FORGE_NOT_FOUND',
        `${where} answered 404${said}: the project or object does not exist or the token from ` +
          `${failure.tokenSource} cannot see it`,
        details,
      );
    case 409:
      return new AutodevError('FORGE_CONFLICT', `${where} refused the change as a conflict (409${said})`, details);
    case 429:
      return new AutodevError(
        'FORGE_RATE_LIMITED',
        `${where} is rate limiting this token (429${said}); the task retries later`,
        details,
      );
    default:
      return new AutodevError('FORGE_REQUEST_FAILED', `${where} failed with HTTP ${failure.status}${said}`, details);
  }
}

/** The forge's message from an error body (`message`, `error`, `error_description`, GitLab's message arrays). */
export function bodyMessage(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 500);
  if (!body || typeof body !== 'object') return '';
  const record = body as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of ['message', 'error', 'error_description']) {
    const value = record[key];
    if (typeof value === 'string') parts.push(value);
    else if (Array.isArray(value)) parts.push(value.map(String).join('; '));
    else if (value && typeof value === 'object') parts.push(JSON.stringify(value));
  }
  return [...new Set(parts)].join(' - ').slice(0, 500);
}
