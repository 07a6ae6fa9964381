/**
 * @module What a memory note may be: its sources and the limits on a note, a query and a page. Imports nothing that
 * runs, so the CLI's help and the session MCP server name them without loading the store.
 */
import { MEMORY_SOURCE_NAMES } from '../domain/memory-sources.js';
import type { MemorySource } from '../store/schema.js';

export const MEMORY_SOURCES = MEMORY_SOURCE_NAMES satisfies readonly MemorySource[];

export const MEMORY_LIMITS = {
  /** A note's text; longer learnings are cut to this by the hooks, refused from people and agents. */
  textMaxChars: 4000,
  /** A search query. */
  queryMaxChars: 500,
  /** Notes one search or list returns at most. */
  maxResults: 100,
} as const;

export function isMemorySource(value: string): value is MemorySource {
  return (MEMORY_SOURCES as readonly string[]).includes(value);
}
