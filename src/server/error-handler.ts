/**
 * @module The server's one error handler and not-found handler: every failure leaves as `{"error":{"code","message"}}`
 * with the status the registry (`src/errors.ts`) gives its code. Client mistakes are 4xx; only bugs are 500.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AutodevError, ERRORS, type ErrorCode } from '../errors.js';
import { isDatabaseUnavailableError } from '../store/open-database.js';

export const ErrorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().describe('A stable code from the error registry, e.g. TASK_NOT_FOUND.'),
      message: z.string().describe('What went wrong and what to do about it.'),
    }),
  })
  .meta({ id: 'Error' });

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export interface RenderedError {
  status: number;
  body: ErrorBody;
  /** A bug or an outage rather than the client's mistake: log it with its stack. */
  internal: boolean;
}

export interface ErrorRenderingOptions {
  bodyLimit: number;
}

/** Fastify's own errors that the registry has a code for. */
const FASTIFY_CODES: Partial<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
};

const CODE_BY_CLIENT_STATUS: Partial<Record<number, ErrorCode>> = {
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

function rendered(code: ErrorCode, message: string, internal = false): RenderedError {
  return { status: ERRORS[code].status, body: { error: { code, message } }, internal };
}

interface ValidationIssue {
  instancePath?: string;
  message?: string;
}

/** `body.priority: Invalid input: expected number, received string`, naming where each problem is. */
function validationMessage(context: string | undefined, issues: readonly ValidationIssue[]): string {
  const where = context === 'querystring' ? 'query' : (context ?? 'request');
  const parts = issues.slice(0, 3).map((issue) => {
    const field = (issue.instancePath ?? '').split('/').filter(Boolean).join('.');
    return `${field ? `${where}.${field}` : where}: ${issue.message ?? 'is invalid'}`;
  });
  if (issues.length > 3) parts.push(`and ${issues.length - 3} more`);
  return parts.join('; ');
}

function fastifyMessage(code: ErrorCode, error: FastifyError, request: FastifyRequest, options: ErrorRenderingOptions) {
  switch (code) {
    case 'PAYLOAD_TOO_LARGE':
      return `the request body is larger than the ${options.bodyLimit} bytes this server accepts`;
    case 'UNSUPPORTED_MEDIA_TYPE': {
      const sent = (request.headers['content-type'] ?? 'none').slice(0, 100);
      return `send the body as application/json (got content-type "${sent}")`;
    }
    case 'INVALID_JSON':
      return error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
        ? 'the body is empty but content-type says JSON; send a JSON object'
        : 'the request body is not valid JSON';
    default:
      return error.message;
  }
}

/** Maps anything thrown while handling a request to the response the client gets. */
export function renderError(error: unknown, request: FastifyRequest, options: ErrorRenderingOptions): RenderedError {
  if (error instanceof AutodevError) return rendered(error.code, error.message, error.status >= 500);
  const fastifyError = error as Partial<FastifyError> | null;
  if (fastifyError && Array.isArray(fastifyError.validation)) {
    return rendered('VALIDATION_FAILED', validationMessage(fastifyError.validationContext, fastifyError.validation));
  }
  // Only Fastify's own errors are trusted to say their status; anything else that throws is a bug.
  const status = fastifyError?.statusCode;
  if (fastifyError?.code?.startsWith('FST_') && status !== undefined && status >= 400 && status < 500) {
    const code = FASTIFY_CODES[fastifyError.code] ?? CODE_BY_CLIENT_STATUS[status] ?? 'VALIDATION_FAILED';
    return rendered(code, fastifyMessage(code, fastifyError as FastifyError, request, options));
  }
  if (isDatabaseUnavailableError(error)) {
    return rendered('DATABASE_UNAVAILABLE', 'the database cannot be reached; try again shortly', true);
  }
  return rendered('INTERNAL', 'internal error; the server log has the details', true);
}

/** Installs the error and not-found handlers on `app`; plugins registered afterwards inherit them. */
export function installErrorHandlers(app: FastifyInstance, options: ErrorRenderingOptions): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body, internal } = renderError(error, request, options);
    if (internal) request.log.error({ err: error }, `${request.method} ${request.url} failed`);
    else request.log.debug({ code: body.error.code }, body.error.message);
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler(notFoundHandler);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  const path = request.url.split('?')[0];
  const body: ErrorBody = {
    error: { code: 'NOT_FOUND', message: `no route for ${request.method} ${path}; GET /api/openapi.json lists them` },
  };
  return reply.code(404).type('application/json; charset=utf-8').send(body);
}
