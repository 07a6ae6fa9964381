import { beforeEach, describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import { DIALECTS } from '../support/dialects.js';
import { errorOf, useTestServer } from './test-server.js';

interface BadRequest {
  name: string;
  /** `:id` is replaced by the id of an existing pending task. */
  request: InjectOptions;
  status: number;
  code: string;
  /** Text the message must contain, e.g. the field at fault. */
  mentions?: string;
}

const json = (payload: unknown): Pick<InjectOptions, 'payload' | 'headers'> => ({
  payload: JSON.stringify(payload),
  headers: { 'content-type': 'application/json' },
});
const createTask = (payload: unknown): InjectOptions => ({ method: 'POST', url: '/api/tasks', ...json(payload) });

const HUGE = `{"type":"deploy","payload":{"text":"${'a'.repeat(1024 * 1024 + 10)}"}}`;

const CASES: BadRequest[] = [
  // The queue's own checks, with the queue's codes.
  {
    name: 'unknown task type',
    request: createTask({ type: 'make_coffee' }),
    status: 400,
    code: 'UNKNOWN_TASK_TYPE',
    mentions: 'make_coffee',
  },
  { name: 'priority 0', request: createTask({ type: 'deploy', priority: 0 }), status: 400, code: 'INVALID_PRIORITY' },
  { name: 'priority 11', request: createTask({ type: 'deploy', priority: 11 }), status: 400, code: 'INVALID_PRIORITY' },
  {
    name: 'priority 2.5',
    request: createTask({ type: 'deploy', priority: 2.5 }),
    status: 400,
    code: 'INVALID_PRIORITY',
  },
  {
    name: 'payload array',
    request: createTask({ type: 'deploy', payload: [1, 2] }),
    status: 400,
    code: 'INVALID_PAYLOAD',
  },
  {
    name: 'payload string',
    request: createTask({ type: 'deploy', payload: 'text' }),
    status: 400,
    code: 'INVALID_PAYLOAD',
  },
  {
    name: 'payload null',
    request: createTask({ type: 'deploy', payload: null }),
    status: 400,
    code: 'INVALID_PAYLOAD',
  },
  // The request's shape.
  {
    name: 'priority as text',
    request: createTask({ type: 'deploy', priority: '5' }),
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'body.priority',
  },
  {
    name: 'missing type',
    request: createTask({ priority: 5 }),
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'body.type',
  },
  {
    name: 'misspelled field',
    request: createTask({ type: 'deploy', prioirty: 5 }),
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'prioirty',
  },
  {
    name: 'run_after not a time',
    request: createTask({ type: 'deploy', run_after: 'tomorrow' }),
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'body.run_after',
  },
  {
    name: 'run_after without a zone',
    request: createTask({ type: 'deploy', run_after: '2030-01-01T00:00:00' }),
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'body.run_after',
  },
  {
    name: 'max_attempts 0',
    request: createTask({ type: 'deploy', max_attempts: 0 }),
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'body.max_attempts',
  },
  {
    name: 'body is an array',
    request: createTask([{ type: 'deploy' }]),
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'body',
  },
  {
    name: 'no body',
    request: { method: 'POST', url: '/api/tasks' },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'body',
  },
  {
    name: 'malformed JSON',
    request: {
      method: 'POST',
      url: '/api/tasks',
      payload: '{"type": "deploy",',
      headers: { 'content-type': 'application/json' },
    },
    status: 400,
    code: 'INVALID_JSON',
  },
  {
    name: 'prototype poisoning',
    request: {
      method: 'POST',
      url: '/api/tasks',
      payload: '{"type":"deploy","__proto__":{"admin":true}}',
      headers: { 'content-type': 'application/json' },
    },
    status: 400,
    code: 'INVALID_JSON',
  },
  {
    name: 'text/plain body',
    request: {
      method: 'POST',
      url: '/api/tasks',
      payload: '{"type":"deploy"}',
      headers: { 'content-type': 'text/plain' },
    },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    mentions: 'text/plain',
  },
  {
    name: 'form body',
    request: {
      method: 'POST',
      url: '/api/tasks',
      payload: 'type=deploy',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'body over 1 MiB',
    request: { method: 'POST', url: '/api/tasks', payload: HUGE, headers: { 'content-type': 'application/json' } },
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  // Ids.
  {
    name: 'non-numeric id',
    request: { method: 'GET', url: '/api/tasks/abc' },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'params.id',
  },
  {
    name: 'id 0',
    request: { method: 'GET', url: '/api/tasks/0' },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'params.id',
  },
  {
    name: 'negative id',
    request: { method: 'GET', url: '/api/tasks/-1' },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'params.id',
  },
  {
    name: 'fractional id',
    request: { method: 'GET', url: '/api/tasks/1.5' },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'params.id',
  },
  {
    name: 'id beyond any integer column',
    request: { method: 'GET', url: '/api/tasks/99999999999999999999' },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'params.id',
  },
  {
    name: 'cancel a non-numeric id',
    request: { method: 'POST', url: '/api/tasks/abc/cancel' },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'params.id',
  },
  {
    name: 'retry a non-numeric id',
    request: { method: 'POST', url: '/api/tasks/abc/retry' },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'params.id',
  },
  // Cancel bodies.
  {
    name: 'cancel reason not text',
    request: { method: 'POST', url: '/api/tasks/:id/cancel', ...json({ reason: 5 }) },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'body.reason',
  },
  {
    name: 'cancel with an unknown field',
    request: { method: 'POST', url: '/api/tasks/:id/cancel', ...json({ why: 'x' }) },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'why',
  },
  {
    name: 'cancel with malformed JSON',
    request: {
      method: 'POST',
      url: '/api/tasks/:id/cancel',
      payload: '{',
      headers: { 'content-type': 'application/json' },
    },
    status: 400,
    code: 'INVALID_JSON',
  },
  {
    name: 'cancel with a text/plain body',
    request: {
      method: 'POST',
      url: '/api/tasks/:id/cancel',
      payload: 'because',
      headers: { 'content-type': 'text/plain' },
    },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'retry with a text/plain body',
    request: {
      method: 'POST',
      url: '/api/tasks/:id/retry',
      payload: 'again',
      headers: { 'content-type': 'text/plain' },
    },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  // List queries.
  {
    name: 'cursor not from this server',
    request: { method: 'GET', url: '/api/tasks?cursor=garbage' },
    status: 400,
    code: 'INVALID_CURSOR',
  },
  {
    name: 'limit 0',
    request: { method: 'GET', url: '/api/tasks?limit=0' },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'query.limit',
  },
  {
    name: 'limit 501',
    request: { method: 'GET', url: '/api/tasks?limit=501' },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'query.limit',
  },
  {
    name: 'limit not a number',
    request: { method: 'GET', url: '/api/tasks?limit=ten' },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'query.limit',
  },
  {
    name: 'limit 2.5',
    request: { method: 'GET', url: '/api/tasks?limit=2.5' },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'query.limit',
  },
  {
    name: 'unknown status',
    request: { method: 'GET', url: '/api/tasks?status=done' },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'query.status',
  },
  {
    name: 'unknown type filter',
    request: { method: 'GET', url: '/api/tasks?type=make_coffee' },
    status: 400,
    code: 'UNKNOWN_TASK_TYPE',
  },
  {
    name: 'unknown query parameter',
    request: { method: 'GET', url: '/api/tasks?statsu=failed' },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'statsu',
  },
  // Events.
  {
    name: 'events after a non-number',
    request: { method: 'GET', url: '/api/events?after=abc' },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'query.after',
  },
  {
    name: 'events Last-Event-ID not a number',
    request: { method: 'GET', url: '/api/events', headers: { 'last-event-id': 'abc' } },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'headers.last-event-id',
  },
  {
    name: 'events kinds with odd characters',
    request: { method: 'GET', url: '/api/events?kinds=task.*' },
    status: 400,
    code: 'VALIDATION_FAILED',
    mentions: 'query.kinds',
  },
  // Routes.
  {
    name: 'unknown /api route',
    request: { method: 'GET', url: '/api/nope' },
    status: 404,
    code: 'NOT_FOUND',
    mentions: '/api/nope',
  },
  { name: 'unknown route outside /api', request: { method: 'GET', url: '/nope' }, status: 404, code: 'NOT_FOUND' },
  { name: 'unsupported method', request: { method: 'DELETE', url: '/api/tasks/1' }, status: 404, code: 'NOT_FOUND' },
];

describe.each(DIALECTS)('%s: bad input', (dialect) => {
  const s = useTestServer(dialect);
  let existingId: number;

  beforeEach(async () => {
    existingId = (await s.queue.enqueue({ type: 'deploy', createdBy: 'test' })).id;
  });

  it.each(CASES)('$name: $status $code, nothing written', async ({ request, status, code, mentions }) => {
    const before = await s.rowCounts();
    const response = await s.request({ ...request, url: request.url!.toString().replace(':id', String(existingId)) });
    expect(response.statusCode, response.body).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const error = errorOf(response);
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(0);
    if (mentions) expect(error.message).toContain(mentions);
    expect(await s.rowCounts()).toEqual(before);
    expect((await s.queue.get(existingId)).status).toBe('pending');
  });
});
