/**
 * @module The memory as the rest of Auto-Dev uses it: add a note, search notes. Full-text search always; when
 * `memory.embeddings` is configured, notes are embedded when added and a search also ranks by vector similarity, the
 * two result lists merged by reciprocal rank fusion (`vector-search.ts`). Callers (the session channel, the CLI, the
 * API, the prompt) go through this one object.
 */
import type { Kysely } from 'kysely';
import type { Settings } from '../config/settings-schema.js';
import type { DialectCapabilities } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import { addMemoryNote, forgetMemoryNote, type MemoryNote, type NewMemoryNote } from './memory-notes.js';
import { checkMemoryQuery, searchMemoryText, type FoundMemoryNote, type SearchMemoryOptions } from './search-memory.js';
import { createVectorIndex, fuseRankings, type VectorIndex } from './vector-search.js';

export interface MemoryService {
  add(note: NewMemoryNote): Promise<MemoryNote>;
  search(options: SearchMemoryOptions): Promise<FoundMemoryNote[]>;
  forget(id: number, options: { actor: string; now: number }): Promise<MemoryNote>;
  /** What search uses, for status lines: `full-text` or `full-text + vectors (<where>)`. */
  describe(): string;
}

export interface MemoryServiceDeps {
  handle: { db: Kysely<Database>; dialect: DialectCapabilities };
  settings: Settings['memory'];
  env?: Record<string, string | undefined>;
  fetch?: typeof fetch;
  /**
   * An embeddings or Qdrant failure: the note is kept (found by full text) and a search answers full-text results, so
   * an endpoint outage never loses a learning or fails a session. Defaults to ignoring it.
   */
  onVectorError?: (error: unknown) => void;
}

export function createMemoryService(deps: MemoryServiceDeps): MemoryService {
  const vectors: VectorIndex | undefined = deps.settings.embeddings
    ? createVectorIndex({
        handle: deps.handle,
        embeddings: deps.settings.embeddings,
        qdrant: deps.settings.qdrant,
        env: deps.env ?? {},
        fetch: deps.fetch ?? fetch,
      })
    : undefined;
  return {
    async add(note) {
      const added = await addMemoryNote(deps.handle.db, note);
      if (vectors) await vectors.index(added).catch((error: unknown) => deps.onVectorError?.(error));
      return added;
    },
    async search(options) {
      const query = checkMemoryQuery(options.query);
      const text = await searchMemoryText(deps.handle, { ...options, query });
      if (!vectors) return text;
      const limit = options.limit ?? 5;
      try {
        const similar = await vectors.search({ query, scope: options.scope, limit });
        return fuseRankings(text, similar, limit);
      } catch (error) {
        deps.onVectorError?.(error);
        return text;
      }
    },
    async forget(id, options) {
      const forgotten = await forgetMemoryNote(deps.handle.db, id, options);
      if (vectors) await vectors.forget(id).catch((error: unknown) => deps.onVectorError?.(error));
      return forgotten;
    },
    describe() {
      return vectors ? `full-text + vectors (${vectors.describe()})` : 'full-text';
    },
  };
}
