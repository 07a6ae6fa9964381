/**
 * @module Bearer-token authentication for the `/api` scope and the role check a route asks for with `requireRole`.
 * Roles rank viewer < approver < admin: viewers read; approvers and admins also change things.
 */
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
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
  /** Where `autodev up` wrote the admin token, for the 401 message; defaults to `<data-dir>/admin-token`. */
  adminTokenPath?: string | undefined;
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

function queryTokenFor(request: FastifyRequest): string | undefined {
  if (request.method !== 'GET' || !QUERY_TOKEN_ROUTES.has(request.routeOptions.url ?? '')) return undefined;
  const value = (request.query as Record<string, unknown> | undefined)?.access_token;
  return typeof value === 'string' && /^\S+$/.test(value) ? value : undefined;
}

/**
 * Makes every route of `scope` and its children (and its not-found handler) answer 401 without a valid token.
 * Call it on an encapsulated scope, e.g. the one registered with prefix `/api`.
 */
export function requireApiToken(scope: FastifyInstance, options: AuthOptions): void {
  const where = options.adminTokenPath ?? `<data-dir>/${ADMIN_TOKEN_FILE}`;
  scope.decorateRequest('apiToken', null);
  scope.addHook('onRequest', async (request, reply) => {
    const bearer = bearerFrom(request.headers.authorization) ?? queryTokenFor(request);
    const identity = bearer === undefined ? undefined : await authenticate(options.handle.db, bearer);
    if (identity) {
      request.apiToken = identity;
      return;
    }
    reply.header('www-authenticate', 'Bearer realm="autodev"');
    throw new AutodevError(
      'UNAUTHORIZED',
      bearer === undefined
        ? `send "Authorization: Bearer <token>"; the admin token is in ${where}`
        : `the bearer token is not valid or was revoked; the admin token is in ${where}`,
    );
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
