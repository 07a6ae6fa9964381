/**
 * @module Vector search on both engines against STAND-INS (this machine has no embedding model and no Qdrant): an
 * embeddings server speaking the OpenAI `POST /v1/embeddings` format (a fixed vector per known word), and a Qdrant
 * stand-in speaking the documented REST calls the adapter uses (`GET`/`PUT /collections/{name}`,
 * `PUT .../points?wait=true`, `POST .../points/search` with `must`/`should` filters on `repo_id` and `is_null`,
 * `POST .../points/delete`). A note is found by meaning (no shared word), within its scope only; an endpoint outage
 * keeps the note and answers by full text.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import { createMemoryService } from '../../src/memory/memory-service.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { insertRepo } from './memory-fixtures.js';

/** Words that mean the same thing get the same direction: "automobile" and "car" share no letters but a vector. */
const MEANINGS: Record<string, number[]> = {
  car: [1, 0, 0],
  automobile: [1, 0, 0],
  vehicle: [0.9, 0.1, 0],
  banana: [0, 1, 0],
  fruit: [0, 0.9, 0.1],
  database: [0, 0, 1],
};

function embed(text: string): number[] {
  const v = [0.01, 0.01, 0.01];
  for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
    const m = MEANINGS[word];
    if (m) m.forEach((x, i) => (v[i]! += x));
  }
  return v;
}

interface Point {
  id: number;
  vector: number[];
  payload: { repo_id: number | null };
}

function cosine(a: number[], b: number[]) {
  const dot = a.reduce((s, x, i) => s + x * b[i]!, 0);
  return dot / Math.sqrt(a.reduce((s, x) => s + x * x, 0) * b.reduce((s, x) => s + x * x, 0));
}

type Condition = { key: string; match?: { value: unknown } } | { is_null: { key: string } };
function matches(point: Point, c: Condition) {
  if ('is_null' in c) return point.payload[c.is_null.key as 'repo_id'] === null;
  return point.payload[c.key as 'repo_id'] === c.match?.value;
}

let server: http.Server;
let base = '';
let embeddingsUp = true;
const collections = new Map<string, { size: number; points: Map<number, Point> }>();
const calls: string[] = [];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (c: Buffer) => (body += c.toString()));
    request.on('end', () => {
      const send = (status: number, value: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(value));
      };
      const url = new URL(request.url ?? '/', 'http://x');
      calls.push(`${request.method} ${url.pathname}`);
      const json = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      if (url.pathname === '/v1/embeddings' && request.method === 'POST') {
        if (!embeddingsUp) return send(503, { error: { message: 'model loading' } });
        return send(200, {
          object: 'list',
          data: [{ object: 'embedding', index: 0, embedding: embed(String(json.input)) }],
        });
      }
      const m = /^\/collections\/([^/]+)(\/points(?:\/(search|delete))?)?$/.exec(url.pathname);
      if (!m) return send(404, { status: { error: 'Not found' } });
      const name = decodeURIComponent(m[1]!);
      const collection = collections.get(name);
      if (!m[2]) {
        if (request.method === 'GET')
          return collection
            ? send(200, { result: { status: 'green' }, status: 'ok' })
            : send(404, { status: { error: `Collection ${name} doesn't exist!` } });
        if (request.method === 'PUT') {
          const vectors = json.vectors as { size: number; distance: string };
          collections.set(name, { size: vectors.size, points: new Map() });
          return send(200, { result: true, status: 'ok' });
        }
      }
      if (!collection) return send(404, { status: { error: `Collection ${name} doesn't exist!` } });
      if (m[2] === '/points' && request.method === 'PUT') {
        for (const p of json.points as Point[]) collection.points.set(p.id, p);
        return send(200, { result: { operation_id: 1, status: 'completed' }, status: 'ok' });
      }
      if (m[3] === 'delete') {
        for (const id of json.points as number[]) collection.points.delete(id);
        return send(200, { result: { operation_id: 2, status: 'completed' }, status: 'ok' });
      }
      if (m[3] === 'search') {
        const filter = json.filter as { must?: Condition[]; should?: Condition[] } | undefined;
        const hits = [...collection.points.values()]
          .filter((p) => (filter?.must ?? []).every((c) => matches(p, c)))
          .filter((p) => !filter?.should || filter.should.some((c) => matches(p, c)))
          .map((p) => ({ id: p.id, version: 0, score: cosine(p.vector, json.vector as number[]) }))
          .sort((a, b) => b.score - a.score)
          .slice(0, json.limit as number);
        return send(200, { result: hits, status: 'ok' });
      }
      return send(404, { status: { error: 'Not found' } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe.each(DIALECTS)('%s: vector search (stand-in embeddings server and Qdrant)', (dialect) => {
  const t = useTestDatabase(dialect);

  for (const store of ['database', 'qdrant'] as const) {
    it(`${store}: finds a note by meaning within its scope, forgets it, and falls back to full text when the endpoint is down`, async () => {
      embeddingsUp = true;
      const collection = `memory-${dialect}-${Date.now()}`;
      const settings = SettingsSchema.parse({
        memory: {
          embeddings: { url: `${base}/v1/embeddings`, model: 'stand-in-3d' },
          qdrant: store === 'qdrant' ? { url: base, collection } : null,
        },
      }).memory;
      const errors: unknown[] = [];
      const memory = createMemoryService({ handle: t.handle, settings, onVectorError: (e) => errors.push(e) });
      const shop = await insertRepo(t.handle.db, 'shop');
      const blog = await insertRepo(t.handle.db, 'blog');
      const add = (repoId: number | null, text: string) =>
        memory.add({ repoId, source: 'agent_note', text, createdBy: 'test', now: Date.now() });
      const car = await add(shop, 'The car page loads slowly');
      await add(shop, 'Banana is the fallback fruit');
      await add(blog, 'The automobile review is drafted');
      const scope = { kind: 'repo' as const, repoId: shop, includeGlobal: true };

      // No word in common with "car": only the vectors can find it.
      const found = await memory.search({ query: 'automobile', scope, limit: 1 });
      expect(found.map((n) => n.id)).toEqual([car.id]);
      expect(memory.describe()).toMatch(store === 'qdrant' ? /Qdrant collection memory-/ : /cosine in JS/);
      if (store === 'database') {
        const row = await t.handle.db
          .selectFrom('memory_notes')
          .select(['embedding', 'embedding_model'])
          .where('id', '=', car.id)
          .executeTakeFirstOrThrow();
        expect(row.embedding_model).toBe('stand-in-3d');
        expect(JSON.parse(row.embedding!)).toHaveLength(3);
      } else {
        expect(collections.get(collection)?.points.size).toBe(3);
      }

      await memory.forget(car.id, { actor: 'test', now: Date.now() });
      expect((await memory.search({ query: 'automobile', scope, limit: 5 })).map((n) => n.id)).not.toContain(car.id);
      if (store === 'qdrant') expect(collections.get(collection)?.points.has(car.id)).toBe(false);

      embeddingsUp = false;
      const kept = await add(shop, 'Vehicle parking rules');
      const text = await memory.search({ query: 'parking', scope, limit: 5 });
      expect(text.map((n) => n.id)).toEqual([kept.id]);
      expect(errors.length).toBeGreaterThanOrEqual(2);
      expect(String(errors[0])).toMatch(/answered 503/);
      embeddingsUp = true;
    });
  }
});
