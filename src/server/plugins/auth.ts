/**
 * @module Bearer-token authentication for the `/api` scope and the role check a route asks for with `requireRole`.
 * Roles rank viewer < approver < admin: viewers read; approvers and admins also change things.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { AutodevError } from '../../errors.js';
import type { DatabaseHandle } from '../../store/open-database.js';
import type { TokenRole } from '../../store/schema.js';
import { ADMIN_TOKEN_FILE, authenticate, type TokenIdentity } from '../api-tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The token that authenticated this request; set on every `/api` route before its handler runs. */
    apiToken: TokenIdentity | null;
  }
}

const ROLE_RANK: Record<TokenRole, number> = { viewer: 1, approver: 2, admin: 3 };

export interface AuthOptions {
  handle: DatabaseHandle;
}

function bearerFrom(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * The browser's EventSource cannot send headers, so the event stream (and only it) also takes the token as
 * `?access_token=`. Other routes ignore the parameter.
 */
export const QUERY_TOKEN_ROUTES: ReadonlySet<string> = new Set(['/api/events']);

/** `/api` routes that answer without a token. */
export const PUBLIC_API_PATHS: ReadonlySet<string> = new Set(['/api/openapi.json']);

/**
 * The token a request carries: `Authorization: Bearer`, or `?access_token=` on a GET of a query-token route. Read from
 * the raw URL, so it also works for requests the router refused (bad encoding, a too long parameter).
 */
function bearerOf(request: FastifyRequest): string | undefined {
  const header = bearerFrom(request.headers.authorization);
  if (header !== undefined || request.method !== 'GET') return header;
  const url = request.raw.url ?? '';
  const mark = url.indexOf('?');
  if (mark < 0 || !QUERY_TOKEN_ROUTES.has(url.slice(0, mark))) return undefined;
  const search = url.slice(mark + 1);
  let values: string[];
  try {
    values = new URLSearchParams(search).getAll('access_token');
  } catch {
    return undefined;
  }
  return values.length === 1 && /^\S+$/.test(values[0]!) ? values[0] : undefined;
}

/** Does `url` (raw, with its query) ask for an `/api` route that needs a token? */
export function needsApiToken(url: string): boolean {
  const pathname = url.split('?', 1)[0] ?? '';
  return (pathname === '/api' || pathname.startsWith('/api/')) && !PUBLIC_API_PATHS.has(pathname);
}

/** The 401 a caller without a valid token gets. It names no file system path (the caller may be anyone). */
export function unauthorized(hadToken: boolean): AutodevError {
  return new AutodevError(
    'UNAUTHORIZED',
    hadToken
      ? 'the bearer token is not valid or was revoked; "autodev tokens create" makes a new one'
      : `send "Authorization: Bearer <token>"; "autodev up" writes the admin token to ${ADMIN_TOKEN_FILE} in its data directory`,
  );
}

/** Sets `request.apiToken` from a valid token, or throws 401 UNAUTHORIZED (with the `www-authenticate` header). */
export async function authenticateRequest(
  handle: DatabaseHandle,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<TokenIdentity> {
  const bearer = bearerOf(request);
  const identity = bearer === undefined ? undefined : await authenticate(handle.db, bearer);
  if (identity) {
    request.apiToken = identity;
    return identity;
  }
  reply.header('www-authenticate', 'Bearer realm="autodev"');
  throw unauthorized(bearer !== undefined);
}

/**
 * Makes every route of `scope` and its children (and its not-found handler) answer 401 without a valid token.
 * Call it on an encapsulated scope, e.g. the one registered with prefix `/api`.
 */
export function requireApiToken(scope: FastifyInstance, options: AuthOptions): void {
  scope.decorateRequest('apiToken', null);
  scope.addHook('onRequest', async (request, reply) => {
    await authenticateRequest(options.handle, request, reply);
  });
}

/** A route hook refusing tokens whose role ranks below `minimum` with 403, before the body is read. */
export function requireRole(minimum: TokenRole): onRequestAsyncHookHandler {
  return async (request: FastifyRequest) => {
    const token = request.apiToken;
    if (!token) throw new AutodevError('UNAUTHORIZED', 'this route needs a bearer token');
    if (ROLE_RANK[token.role] < ROLE_RANK[minimum]) {
      throw new AutodevError(
        'FORBIDDEN',
        `token "${token.name}" has role ${token.role}; this needs ${minimum}${minimum === 'admin' ? '' : ' or admin'}`,
      );
    }
  };
}
