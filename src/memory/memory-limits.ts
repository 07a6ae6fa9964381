/**
 * @module What a memory note may be: its sources and the limits on a note, a query and a page. Imports nothing that
 * runs, so the CLI's help and the session MCP server name them without loading the store.
 */
import type { MemorySource } from '../store/schema.js';

export const MEMORY_SOURCES = [
  'analyze_repo',
  'spec_decision',
  'review_lesson',
  'failed_round',
  'human_rejection',
  'agent_note',
  'human_note',
] as const satisfies readonly MemorySource[];

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
