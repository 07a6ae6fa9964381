import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.js';
import { TEST_VERSION, useTestServer } from './test-server.js';

interface OpenApiDocument {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, { security?: unknown[]; requestBody?: { required: boolean } }>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
  security: unknown[];
}

describe.each(DIALECTS)('%s: GET /api/openapi.json', (dialect) => {
  const s = useTestServer(dialect);

  const fetchDocument = async () => {
    const response = await s.request({ method: 'GET', url: '/api/openapi.json', token: null });
    expect(response.statusCode).toBe(200);
    return response.json() as OpenApiDocument;
  };

  it('lists the task, event, health and metrics routes', async () => {
    const doc = await fetchDocument();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe(TEST_VERSION);
    const operations = Object.entries(doc.paths).flatMap(([p, methods]) =>
      Object.keys(methods).map((m) => `${m} ${p}`),
    );
    // Contains rather than equals: each plugin's own test names its routes; this one checks the core is documented.
    expect(operations.sort()).toEqual(
      expect.arrayContaining([
        'get /api/approvals',
        'post /api/approvals/{id}/approve',
        'post /api/approvals/{id}/reject',
        'get /api/events',
        'get /api/tasks',
        'get /api/tasks/counts',
        'get /api/tasks/{id}',
        'get /health',
        'get /metrics',
        'post /api/tasks',
        'post /api/tasks/{id}/cancel',
        'post /api/tasks/{id}/retry',
      ]),
    );
  });

  it('describes bearer authentication, and marks the public routes', async () => {
    const doc = await fetchDocument();
    expect(doc.components.securitySchemes).toEqual({ bearerAuth: { type: 'http', scheme: 'bearer' } });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/health']!.get!.security).toEqual([]);
    expect(doc.paths['/metrics']!.get!.security).toEqual([]);
  });

  it('names the Task and Error schemas and documents the optional cancel body', async () => {
    const doc = await fetchDocument();
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Task', 'Error', 'Health']));
    expect(doc.paths['/api/tasks/{id}/cancel']!.post!.requestBody!.required).toBe(false);
    expect(doc.paths['/api/tasks']!.post!.requestBody!.required).toBe(true);
  });
});
