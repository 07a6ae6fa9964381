import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { AutodevError, ERRORS, type ErrorCode } from '../../src/errors.js';
import { renderError } from '../../src/server/error-handler.js';

const request = { headers: {} } as FastifyRequest;
const options = { bodyLimit: 1024 };

describe('error registry', () => {
  const codes = Object.keys(ERRORS) as ErrorCode[];

  it.each(codes)('%s has a doc string, an HTTP status and an exit code', (code) => {
    const entry = ERRORS[code];
    expect(code).toMatch(/^[A-Z][A-Z_]*[A-Z]$/);
    expect(entry.doc.length).toBeGreaterThan(10);
    expect(entry.doc.trim().endsWith('.')).toBe(true);
    expect(Number.isInteger(entry.status) && entry.status >= 400 && entry.status <= 599).toBe(true);
    expect([1, 2]).toContain(entry.exitCode);
  });

  it.each(codes)('%s renders with its own status and code', (code) => {
    const rendered = renderError(new AutodevError(code, 'what to do'), request, options);
    expect(rendered.status).toBe(ERRORS[code].status);
    expect(rendered.body).toEqual({ error: { code, message: 'what to do' } });
  });
});

describe('renderError', () => {
  it('turns an unexpected error into 500 INTERNAL without its details', () => {
    const rendered = renderError(new Error('connection string postgres://secret'), request, options);
    expect(rendered).toEqual({
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'internal error; the server log has the details' } },
      internal: true,
    });
  });

  it("does not trust a statusCode on errors that are not Fastify's", () => {
    const error = Object.assign(new Error('nope'), { statusCode: 400, code: 'ERR_ASSERTION' });
    expect(renderError(error, request, options).status).toBe(500);
  });

  it('maps a Fastify client error it has no code for to 400 VALIDATION_FAILED', () => {
    const error = Object.assign(new Error('Request body size did not match Content-Length'), {
      statusCode: 400,
      code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH',
    });
    expect(renderError(error, request, options)).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED', message: 'Request body size did not match Content-Length' } },
      internal: false,
    });
  });

  it('names each field of a validation error', () => {
    const error = Object.assign(new Error('bad'), {
      validationContext: 'querystring',
      validation: [
        { instancePath: '/limit', message: 'too big' },
        { instancePath: '', message: 'Unrecognized key: "x"' },
      ],
    });
    expect(renderError(error, request, options).body.error).toEqual({
      code: 'VALIDATION_FAILED',
      message: 'query.limit: too big; query: Unrecognized key: "x"',
    });
  });
});
