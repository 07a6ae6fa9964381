/**
 * Property-based fuzzing of the HTTP API, generated from `/api/openapi.json`: every route and method gets valid,
 * boundary and hostile values (NUL, lone surrogates, 2^31 and larger, negatives, deep JSON, non-canonical ids, long
 * path parameters, bad percent-encoding, wrong content types, missing and invalid tokens), on both databases.
 * Every answer: no 5xx; every 4xx in the registry's `{"error":{"code","message"}}` with the code's own status; every
 * refusal leaves the database fingerprint (row counts, max ids, a hash of every row) unchanged; a caller without a
 * valid token gets 401 before anything else. The cases the issue found are hard-coded examples. Seed:
 * AUTODEV_FUZZ_SEED (fixed by default), runs: AUTODEV_FUZZ_RUNS.
 */
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { beforeEach, describe, expect, it } from 'vitest';
import { TASK_TYPES } from '../../src/domain/roles.js';
import { ERRORS, type ErrorCode } from '../../src/errors.js';
import { databaseFingerprint } from '../support/db-fingerprint.js';
import { makeGitRepository, REPOSITORY_NAME } from '../fuzz/git-repository.js';
import { DIALECTS } from '../support/dialects.js';
import {
  assertWithSeed,
  deepJsonText,
  HOSTILE_JSON_VALUES,
  HOSTILE_PATH_SEGMENTS,
  HOSTILE_TEXTS,
  NON_CANONICAL_ID_PATHS,
  NUL_TEXTS,
  percentEncode,
  validValue,
} from '../fuzz/fuzz-values.js';
import { useTestServer, type TestServer } from './test-server.js';

type Auth = 'admin' | 'viewer' | 'none' | 'invalid' | 'query-only';

interface FuzzRequest {
  label: string;
  method: string;
  /** Already encoded as sent on the wire. */
  url: string;
  auth: Auth;
  /** Raw body text; with contentType. */
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Bad input that must be refused (4xx), e.g. a non-canonical id: a success would have addressed the wrong row. */
  mustRefuse?: boolean;
}

interface Operation {
  method: string;
  path: string;
  pathParams: string[];
  query: Record<string, { schema: Record<string, unknown>; required: boolean }>;
  bodySchema: Record<string, unknown> | undefined;
}

/** A request that opens a live event stream is cut after this long (its headers say enough). */
const STREAM_TIMEOUT_MS = 200;

function operationsOf(doc: {
  paths: Record<string, Record<string, { parameters?: unknown[]; requestBody?: unknown }>>;
}): Operation[] {
  const operations: Operation[] = [];
  for (const [apiPath, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const parameters = (operation.parameters ?? []) as Array<{
        in: string;
        name: string;
        required?: boolean;
        schema: Record<string, unknown>;
      }>;
      const body = operation.requestBody as
        { content?: Record<string, { schema?: Record<string, unknown> }> } | undefined;
      operations.push({
        method: method.toUpperCase(),
        path: apiPath,
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        query: Object.fromEntries(
          parameters.filter((p) => p.in === 'query').map((p) => [p.name, { schema: p.schema, required: !!p.required }]),
        ),
        bodySchema: body?.content?.['application/json']?.schema,
      });
    }
  }
  return operations;
}

type Schema = { $ref?: string; anyOf?: Schema[]; oneOf?: Schema[]; properties?: Record<string, unknown> };

/** The property names a body schema knows (through `$ref` and `anyOf`). */
function bodyKeys(schema: Schema | undefined, resolve: (ref: string) => Schema | undefined): string[] {
  if (!schema) return [];
  if (schema.$ref) return bodyKeys(resolve(schema.$ref), resolve);
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) return branches.flatMap((branch) => bodyKeys(branch, resolve));
  return Object.keys(schema.properties ?? {});
}

function fillPath(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => values[name] ?? '1');
}

function queryString(entries: Array<[string, string]>): string {
  if (entries.length === 0) return '';
  return '?' + entries.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
}

function jsonText(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/** The cases the issue reported, each one a hard-coded example of the property. */
function issueCases(repoPath: string): FuzzRequest[] {
  const json = (label: string, method: string, url: string, body: unknown): FuzzRequest => ({
    label,
    method,
    url,
    auth: 'admin',
    body: jsonText(body),
    contentType: 'application/json',
    mustRefuse: true,
  });
  const cases: FuzzRequest[] = [];
  for (const nul of NUL_TEXTS.slice(0, 2)) {
    cases.push(json('story title with NUL', 'POST', '/api/stories', { repo: REPOSITORY_NAME, title: nul }));
    cases.push(json('story body with NUL', 'POST', '/api/stories', { repo: REPOSITORY_NAME, title: 't', body: nul }));
    cases.push(json('story repo with NUL', 'POST', '/api/stories', { repo: nul, title: 't' }));
    cases.push(json('instruction with NUL', 'POST', '/api/agents/builder/instructions', { message: nul }));
    cases.push(json('cancel reason with NUL', 'POST', '/api/tasks/1/cancel', { reason: nul }));
    for (const field of ['test_command', 'deploy_command', 'lint_command']) {
      cases.push(
        json(`repo ${field} with NUL (POST)`, 'POST', '/api/repos', { path: repoPath, name: 'r2', [field]: nul }),
      );
      cases.push(json(`repo ${field} with NUL (PATCH)`, 'PATCH', '/api/repos/1', { [field]: nul }));
    }
  }
  cases.push({
    label: 'discussions topic NUL',
    method: 'GET',
    url: '/api/discussions?topic=%00',
    auth: 'admin',
    mustRefuse: true,
  });
  for (const maxAttempts of [2 ** 31, 2 ** 31 - 1, 2 ** 31 + 7, 2 ** 53, 1e20]) {
    cases.push(
      json(`max_attempts ${maxAttempts}`, 'POST', '/api/tasks', { type: 'deploy', max_attempts: maxAttempts }),
    );
  }
  cases.push({
    label: 'payload nested 10,000 deep',
    method: 'POST',
    url: '/api/tasks',
    auth: 'admin',
    body: `{"type":"deploy","payload":${deepJsonText(10_000)}}`,
    contentType: 'application/json',
    mustRefuse: true,
  });
  for (const id of ['1e0', '0x1', '+1', '%201', '1%0A']) {
    cases.push(json(`PATCH /api/repos/${id}`, 'PATCH', `/api/repos/${id}`, { test_command: 'echo changed' }));
  }
  for (const auth of ['none', 'admin'] as const) {
    const refused = { auth, mustRefuse: true };
    cases.push({ label: `path parameter of 101`, method: 'GET', url: `/api/tasks/${'1'.repeat(101)}`, ...refused });
    cases.push({ label: `bad percent-encoding`, method: 'GET', url: '/api/tasks/%E0%A4%A', ...refused });
    cases.push({ label: `bad percent-encoding in repos`, method: 'PATCH', url: '/api/repos/%', ...refused });
  }
  cases.push({ label: 'unknown route, no token', method: 'GET', url: '/api/no-such-route', auth: 'none' });
  cases.push({
    label: 'events with a wrong query token',
    method: 'GET',
    url: '/api/events?access_token=not-a-token',
    auth: 'query-only',
  });
  return cases;
}

describe.each(DIALECTS)('%s: the API under fuzzing (generated from /api/openapi.json)', (dialect) => {
  const s = useTestServer(dialect);
  let repoPath = '';

  beforeEach(async () => {
    repoPath = makeGitRepository(s.db.dir);
    const seed = async (options: InjectOptions) => {
      const response = await s.request(options);
      if (response.statusCode >= 300) throw new Error(`seeding failed: ${response.statusCode} ${response.body}`);
    };
    await seed({ method: 'POST', url: '/api/repos', payload: { path: repoPath, name: REPOSITORY_NAME } });
    await seed({ method: 'POST', url: '/api/stories', payload: { repo: REPOSITORY_NAME, title: 'Seed story' } });
    await seed({ method: 'POST', url: '/api/tasks', payload: { type: 'deploy', payload: { seed: true } } });
    await seed({ method: 'POST', url: '/api/agents/builder/instructions', payload: { message: 'seed' } });
  });

  it('answers every generated and hostile request without a 5xx, in the error format, changing nothing on refusal', async () => {
    const doc = (await s.request({ method: 'GET', url: '/api/openapi.json', token: null })).json();
    const operations = operationsOf(doc).filter((op) => op.path.startsWith('/api/') && op.path !== '/api/openapi.json');
    expect(operations.length).toBeGreaterThan(20);
    const resolve = (ref: string) => doc.components?.schemas?.[ref.split('/').pop() ?? ''];
    const hints: Record<string, fc.Arbitrary<unknown>> = {
      type: fc.constantFrom(...TASK_TYPES, 'make_coffee'),
      repo: fc.constantFrom(REPOSITORY_NAME, 'no-such-repo'),
      path: fc.constantFrom(repoPath, '/nonexistent', 'relative/path'),
      role: fc.constantFrom('builder', 'pm', 'nobody'),
    };

    const operationArb = fc.constantFrom(...operations);
    const requestArb: fc.Arbitrary<FuzzRequest> = operationArb.chain((op) => {
      // [value, hostile]: a hostile path value must always be refused.
      const pathValue = fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom('1', '2', '3', '999999', 'builder', 'pm').map((v) => [v, false]) },
        { weight: 2, arbitrary: fc.constantFrom(...NON_CANONICAL_ID_PATHS).map((v) => [v, true]) },
        { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_PATH_SEGMENTS).map((v) => [v, true]) },
        { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_TEXTS).map((v) => [percentEncode(v), true]) },
      );
      const pathValues = fc.record(Object.fromEntries(op.pathParams.map((name) => [name, pathValue])));
      const queryEntries = fc
        .tuple(
          ...Object.entries(op.query).map(([name, { schema }]) =>
            fc.option(
              fc.oneof(
                { weight: 3, arbitrary: validValue(schema, resolve, hints, name).map((v) => [name, String(v)]) },
                { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_TEXTS).map((v) => [name, v]) },
              ),
              { nil: undefined },
            ),
          ),
          fc.option(fc.constantFrom<[string, string]>(['unknown', '1'], ['limit', '1e1'], ['access_token', 'x']), {
            freq: 8,
            nil: undefined,
          }),
        )
        .map((entries) => entries.filter((e): e is [string, string] => e !== undefined));
      const body = op.bodySchema
        ? fc.oneof(
            { weight: 4, arbitrary: validValue(op.bodySchema, resolve, hints).map(jsonText) },
            {
              weight: 3,
              arbitrary: fc
                .tuple(
                  validValue(op.bodySchema, resolve, hints),
                  fc.constantFrom(...bodyKeys(op.bodySchema, resolve), 'payload', 'extra'),
                  fc.constantFrom(...HOSTILE_JSON_VALUES),
                )
                .map(([valid, key, hostile]) => jsonText({ ...(valid as object), [key]: hostile })),
            },
            {
              weight: 1,
              arbitrary: fc.constantFrom(
                '{',
                '[]',
                'null',
                '"text"',
                '{"__proto__":{"x":1}}',
                `{"payload":${deepJsonText(10_000)},"type":"deploy"}`,
                deepJsonText(100),
                '',
              ),
            },
          )
        : fc.option(fc.constantFrom('{}', '{"x":1}', 'not json'), { nil: undefined });
      return fc
        .record({
          pathValues,
          query: queryEntries,
          body,
          contentType: fc.constantFrom(
            'application/json',
            'application/json',
            'application/json',
            'text/plain',
            'application/x-www-form-urlencoded',
            'application/json; charset=latin1',
          ),
          auth: fc.constantFrom<Auth>('admin', 'admin', 'admin', 'admin', 'viewer', 'none', 'invalid'),
          // Mostly the documented method; sometimes another one on the same path.
          method: fc.constantFrom(
            ...Array<string>(8).fill(op.method),
            'HEAD',
            'OPTIONS',
            'DELETE',
            'PUT',
            'PATCH',
            'POST',
          ),
        })
        .map((r): FuzzRequest => {
          const values = Object.entries(r.pathValues as Record<string, [string, boolean]>);
          const url = fillPath(op.path, Object.fromEntries(values.map(([k, [v]]) => [k, v]))) + queryString(r.query);
          return {
            label: `${op.method} ${op.path}`,
            method: r.method,
            url,
            auth: r.auth,
            mustRefuse: values.some(([, [, hostile]]) => hostile) || url.includes('%00'),
            ...(r.body === undefined ? {} : { body: r.body, contentType: r.contentType }),
          };
        });
    });

    const statuses = new Map<number, number>();
    await assertWithSeed(
      fc.asyncProperty(requestArb, async (request) => {
        const status = await checkRequest(s, request);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }),
      issueCases(repoPath),
      'npx vitest run test/server/fuzz-api.test.ts',
    );
    console.log(`${dialect}: answers by status`, Object.fromEntries([...statuses].sort(([a], [b]) => a - b)));
    // The generator reaches both sides: requests that succeed and every kind of refusal.
    expect([...statuses.keys()].filter((status) => status < 300).length).toBeGreaterThan(0);
    for (const status of [400, 401, 403, 404, 414, 415]) expect(statuses.get(status) ?? 0).toBeGreaterThan(0);
  }, 300_000);
});

async function send(s: TestServer, request: FuzzRequest): Promise<LightMyRequestResponse> {
  const token =
    request.auth === 'admin'
      ? s.tokens.admin
      : request.auth === 'viewer'
        ? s.tokens.viewer
        : request.auth === 'invalid'
          ? 'not-a-valid-token'
          : null;
  const options: InjectOptions & { token?: string | null } = {
    method: request.method as InjectOptions['method'],
    url: request.url,
    token,
    headers: { ...(request.contentType ? { 'content-type': request.contentType } : {}), ...request.headers },
    ...(request.body === undefined ? {} : { payload: request.body }),
  };
  if (request.url.startsWith('/api/events')) {
    // A valid request opens a stream that never ends: take its status and headers, then hang up.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), STREAM_TIMEOUT_MS);
    try {
      return await s.request({ ...options, signal: controller.signal } as InjectOptions);
    } catch (error) {
      if (controller.signal.aborted) return { statusCode: 200, body: '', json: () => ({}) } as LightMyRequestResponse;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
  return s.request(options);
}

/** Sends `request`, checks its answer, and returns its status. */
async function checkRequest(s: TestServer, request: FuzzRequest): Promise<number> {
  const before = await databaseFingerprint(s.db.handle);
  const response = await send(s, request);
  const where = `${request.label}: ${request.method} ${request.url.slice(0, 200)} (${request.auth}) -> ${response.statusCode} ${response.body.slice(0, 300)}`;
  expect(response.statusCode, where).toBeLessThan(500);
  const anonymous = request.auth === 'none' || request.auth === 'invalid' || request.auth === 'query-only';
  if (anonymous) expect(response.statusCode, where).toBe(401);
  if (request.mustRefuse) expect(response.statusCode, where).toBeGreaterThanOrEqual(400);
  if (response.statusCode >= 400) expect(await databaseFingerprint(s.db.handle), where).toEqual(before);
  // A HEAD answer has no body to check.
  if (response.statusCode >= 400 && request.method !== 'HEAD') {
    const body = response.json() as { error?: { code?: string; message?: string } };
    expect(Object.keys(body), where).toEqual(['error']);
    expect(Object.keys(body.error ?? {}).sort(), where).toEqual(['code', 'message']);
    const code = body.error!.code as ErrorCode;
    expect(ERRORS[code], where).toBeDefined();
    expect(ERRORS[code].status, where).toBe(response.statusCode);
    expect(body.error!.message!.length, where).toBeGreaterThan(0);
    expect(body.error!.message, where).not.toContain(s.db.dir);
  }
  return response.statusCode;
}
