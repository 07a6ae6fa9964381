/**
 * @module The server's one error handler and not-found handler: every failure leaves as `{"error":{"code","message"}}`
 * with the status the registry (`src/errors.ts`) gives its code. Client mistakes are 4xx; only bugs are 500.
 * That includes what Fastify and Node answer before a route runs: the router's refusals (`frameworkErrors`: bad
 * percent-encoding, a too long path parameter; under `/api` only after the token is checked) and Node's HTTP parser
 * errors (`clientErrorHandler`: headers too large, a malformed request, a timeout).
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AutodevError, ERRORS, type ErrorCode } from '../errors.js';
import { redactUrl } from '../log.js';
import { isDatabaseUnavailableError, type DatabaseHandle } from '../store/open-database.js';
import { authenticateRequest, needsApiToken } from './plugins/auth.js';

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
  /** The router's longest path parameter (Fastify's maxParamLength). */
  maxParamLength?: number;
}

/** Fastify's own errors that the registry has a code for. */
const FASTIFY_CODES: Partial<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
  FST_ERR_BAD_URL: 'INVALID_URL',
  FST_ERR_MAX_PARAM_LENGTH: 'URL_TOO_LONG',
};

const CODE_BY_CLIENT_STATUS: Partial<Record<number, ErrorCode>> = {
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URL_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_STREAMS',
  431: 'HEADERS_TOO_LARGE',
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
    case 'INVALID_URL':
      return 'the URL has bad percent-encoding (e.g. "%" not followed by two hex digits, or not UTF-8)';
    case 'URL_TOO_LONG':
      return `a path parameter is longer than the ${options.maxParamLength ?? 100} characters this server accepts`;
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
    if (internal) request.log.error({ err: error }, `${request.method} ${redactUrl(request.url)} failed`);
    else request.log.debug({ code: body.error.code }, body.error.message);
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler(notFoundHandler);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  const path = JSON.stringify((request.url.split('?')[0] ?? '').slice(0, 200)).slice(1, -1);
  const body: ErrorBody = {
    error: { code: 'NOT_FOUND', message: `no route for ${request.method} ${path}; GET /api/openapi.json lists them` },
  };
  return reply.code(404).type('application/json; charset=utf-8').send(body);
}

function sendRendered(request: FastifyRequest, reply: FastifyReply, error: unknown, options: ErrorRenderingOptions) {
  const { status, body, internal } = renderError(error, request, options);
  if (internal) request.log.error({ err: error }, `${request.method} ${redactUrl(request.url)} failed`);
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/**
 * Fastify's `frameworkErrors`: the router refused the URL before any route or hook ran. Under `/api` the caller's
 * token is checked first, so an anonymous client learns nothing about which routes exist.
 */
export function frameworkErrorHandler(handle: DatabaseHandle, options: ErrorRenderingOptions) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    void (async () => {
      if (needsApiToken(request.raw.url ?? '')) {
        try {
          await authenticateRequest(handle, request, reply);
        } catch (refusal) {
          return sendRendered(request, reply, refusal, options);
        }
      }
      return sendRendered(request, reply, error, options);
    })().catch((failure: unknown) => {
      request.log.error({ err: failure }, 'rendering a router error failed');
      if (!reply.sent) reply.raw.destroy();
    });
  };
}

/** Node's HTTP parser errors, answered on the raw socket in the registry's format (Fastify's `clientErrorHandler`). */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy(error);
    return;
  }
  const [code, message]: [ErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ['HEADERS_TOO_LARGE', 'the request headers (or the URL) are larger than this server accepts']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['REQUEST_TIMEOUT', 'the request was not received in time']
        : ['INVALID_URL', 'the request is not valid HTTP'];
  const body = JSON.stringify({ error: { code, message } });
  const status = ERRORS[code].status;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nconnection: close\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};
