/**
 * @module Vector search over memory notes, when `memory.embeddings` names an OpenAI-compatible embeddings endpoint
 * (`POST <url>` with `{model, input}`, answer `{data: [{embedding: number[]}]}`). A note's vector is made when it is
 * added and kept where the settings say:
 * - in the database (`memory_notes.embedding`, JSON text, with the model's name): on SQLite, and on PostgreSQL without
 *   the pgvector extension, the scope's notes are ranked by cosine similarity in JS; on PostgreSQL with pgvector
 *   (`create extension vector` done by the operator) the JSON text is cast to `vector` and ranked by `<=>` in SQL;
 * - or in Qdrant (`memory.qdrant`, its REST API): one point per note (id = note id, payload `repo_id`), searched with
 *   a filter on the scope; the guide's `auto-dev-qdrant` layout.
 * Nothing is downloaded at run time; a note added without vectors (endpoint down, or added before it was configured)
 * is still found by full text. `fuseRankings` merges full-text and vector results by reciprocal rank.
 */
import { sql, type Kysely } from 'kysely';
import type { Settings } from '../config/settings-schema.js';
import { AutodevError } from '../errors.js';
import type { DialectCapabilities } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import { noteToJson, type MemoryNote, type MemoryNoteRow, type MemoryScope } from './memory-notes.js';
import { scopeCondition, type FoundMemoryNote } from './search-memory.js';

type EmbeddingsSettings = NonNullable<Settings['memory']['embeddings']>;
type QdrantSettings = NonNullable<Settings['memory']['qdrant']>;

export interface VectorIndex {
  index(note: MemoryNote): Promise<void>;
  search(options: { query: string; scope: MemoryScope; limit: number }): Promise<FoundMemoryNote[]>;
  forget(noteId: number): Promise<void>;
  describe(): string;
}

export interface VectorIndexDeps {
  handle: { db: Kysely<Database>; dialect: DialectCapabilities };
  embeddings: EmbeddingsSettings;
  qdrant: QdrantSettings | null;
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
}

/** Asks the embeddings endpoint for one text's vector. */
export async function embedText(deps: Pick<VectorIndexDeps, 'embeddings' | 'env' | 'fetch'>, text: string) {
  const key = deps.embeddings.api_key_env ? deps.env[deps.embeddings.api_key_env] : undefined;
  const body = await callJson(
    deps.fetch,
    deps.embeddings.url,
    'POST',
    { model: deps.embeddings.model, input: text },
    key,
  );
  const vector = (body as { data?: Array<{ embedding?: unknown }> }).data?.[0]?.embedding;
  if (
    !Array.isArray(vector) ||
    vector.length === 0 ||
    !vector.every((x) => typeof x === 'number' && Number.isFinite(x))
  ) {
    throw new AutodevError('MEMORY_EMBEDDINGS_FAILED', `${deps.embeddings.url} answered without data[0].embedding`);
  }
  return vector as number[];
}

export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Reciprocal rank fusion (k = 60) of two best-first lists; a note in both ranks above one in either. */
export function fuseRankings(text: FoundMemoryNote[], vector: FoundMemoryNote[], limit: number): FoundMemoryNote[] {
  const scores = new Map<number, { note: FoundMemoryNote; score: number }>();
  for (const list of [text, vector]) {
    list.forEach((note, rank) => {
      const entry = scores.get(note.id) ?? { note, score: 0 };
      entry.score += 1 / (60 + rank + 1);
      scores.set(note.id, entry);
    });
  }
  return [...scores.values()]
    .sort((a, b) => b.score - a.score || b.note.id - a.note.id)
    .slice(0, limit)
    .map(({ note, score }) => ({ ...note, score }));
}

export function createVectorIndex(deps: VectorIndexDeps): VectorIndex {
  return deps.qdrant ? qdrantIndex(deps, deps.qdrant) : databaseIndex(deps);
}

/** Whether this PostgreSQL server has the pgvector extension created in the database (never on SQLite). */
export async function hasPgvector(handle: { db: Kysely<Database>; dialect: DialectCapabilities }): Promise<boolean> {
  if (handle.dialect.name !== 'postgres') return false;
  const rows = await sql<{ n: number }>`select 1 as n from pg_extension where extname = 'vector'`.execute(handle.db);
  return rows.rows.length > 0;
}

function databaseIndex(deps: VectorIndexDeps): VectorIndex {
  const { db } = deps.handle;
  let pgvector: Promise<boolean> | undefined;
  let where =
    deps.handle.dialect.name === 'postgres'
      ? 'PostgreSQL, cosine in JS (pgvector not checked yet)'
      : 'SQLite, cosine in JS';
  return {
    async index(note) {
      const vector = await embedText(deps, note.text);
      await db
        .updateTable('memory_notes')
        .set({ embedding: JSON.stringify(vector), embedding_model: deps.embeddings.model })
        .where('id', '=', note.id)
        .execute();
    },
    async search({ query, scope, limit }) {
      const vector = await embedText(deps, query);
      pgvector ??= hasPgvector(deps.handle).then((has) => {
        if (deps.handle.dialect.name === 'postgres') {
          where = has ? 'PostgreSQL, pgvector' : 'PostgreSQL without the pgvector extension, cosine in JS';
        }
        return has;
      });
      const model = deps.embeddings.model;
      if (await pgvector) {
        const rows = await sql<MemoryNoteRow & { score: number }>`
          select n.*, 1 - (n.embedding::vector <=> ${JSON.stringify(vector)}::vector) as score
          from memory_notes n
          where n.embedding_model = ${model} and ${scopeCondition(scope)}
          order by n.embedding::vector <=> ${JSON.stringify(vector)}::vector
          limit ${limit}`.execute(db);
        return rows.rows.map((row) => ({ ...noteToJson(row), score: Number(row.score) }));
      }
      const rows = await sql<MemoryNoteRow>`
        select n.* from memory_notes n
        where n.embedding_model = ${model} and ${scopeCondition(scope)}`.execute(db);
      return rows.rows
        .map((row) => ({
          ...noteToJson(row),
          score: cosineSimilarity(vector, JSON.parse(row.embedding ?? '[]') as number[]),
        }))
        .sort((a, b) => b.score - a.score)
        .slice(0, limit);
    },
    async forget() {
      // The vector is a column of the note's row: it went with it.
    },
    describe: () => where,
  };
}

function qdrantIndex(deps: VectorIndexDeps, qdrant: QdrantSettings): VectorIndex {
  const base = `${qdrant.url.replace(/\/+$/, '')}/collections/${encodeURIComponent(qdrant.collection)}`;
  let ready: Promise<void> | undefined;
  const ensureCollection = (size: number) => {
    ready ??= (async () => {
      const existing = await deps.fetch(base, { method: 'GET' }).catch((error: unknown) => {
        throw new AutodevError('MEMORY_EMBEDDINGS_FAILED', `Qdrant at ${qdrant.url}: ${(error as Error).message}`);
      });
      if (existing.ok) return;
      await callJson(deps.fetch, base, 'PUT', { vectors: { size, distance: 'Cosine' } });
    })().catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };
  return {
    async index(note) {
      const vector = await embedText(deps, note.text);
      await ensureCollection(vector.length);
      await callJson(deps.fetch, `${base}/points?wait=true`, 'PUT', {
        points: [{ id: note.id, vector, payload: { repo_id: note.repo_id, source: note.source } }],
      });
    },
    async search({ query, scope, limit }) {
      const vector = await embedText(deps, query);
      await ensureCollection(vector.length);
      const filter =
        scope.kind === 'all'
          ? undefined
          : scope.kind === 'global'
            ? { must: [{ is_null: { key: 'repo_id' } }] }
            : scope.includeGlobal
              ? { should: [{ key: 'repo_id', match: { value: scope.repoId } }, { is_null: { key: 'repo_id' } }] }
              : { must: [{ key: 'repo_id', match: { value: scope.repoId } }] };
      const body = (await callJson(deps.fetch, `${base}/points/search`, 'POST', {
        vector,
        limit,
        with_payload: false,
        ...(filter ? { filter } : {}),
      })) as { result?: Array<{ id: unknown; score: unknown }> };
      const hits = (body.result ?? []).filter(
        (hit): hit is { id: number; score: number } => typeof hit.id === 'number' && typeof hit.score === 'number',
      );
      if (hits.length === 0) return [];
      // The database is the truth: a point whose note was forgotten, or outside the scope, is dropped here.
      const rows = await sql<MemoryNoteRow>`
        select n.* from memory_notes n
        where n.id in (${sql.join(hits.map((h) => h.id))}) and ${scopeCondition(scope)}`.execute(deps.handle.db);
      const byId = new Map(rows.rows.map((row) => [Number(row.id), row]));
      return hits.flatMap((hit) => {
        const row = byId.get(hit.id);
        return row ? [{ ...noteToJson(row), score: hit.score }] : [];
      });
    },
    async forget(noteId) {
      await callJson(deps.fetch, `${base}/points/delete?wait=true`, 'POST', { points: [noteId] });
    },
    describe: () => `Qdrant collection ${qdrant.collection} at ${qdrant.url}`,
  };
}

async function callJson(fetcher: typeof fetch, url: string, method: string, body: unknown, bearer?: string) {
  let response: Response;
  try {
    response = await fetcher(url, {
      method,
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new AutodevError('MEMORY_EMBEDDINGS_FAILED', `${method} ${url}: ${(error as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) {
    throw new AutodevError(
      'MEMORY_EMBEDDINGS_FAILED',
      `${method} ${url} answered ${response.status}: ${text.slice(0, 200)}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AutodevError('MEMORY_EMBEDDINGS_FAILED', `${method} ${url} answered something that is not JSON`);
  }
}
