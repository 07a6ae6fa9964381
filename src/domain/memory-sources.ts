/**
 * @module Where a memory note was learned: the one list of sources, imported by the memory limits (CLI, MCP tools,
 * store) and by the routes' zod schema (server, dashboard). Imports nothing.
 */
export const MEMORY_SOURCE_NAMES = [
  'analyze_repo',
  'spec_decision',
  'review_lesson',
  'failed_round',
  'human_rejection',
  'agent_note',
  'human_note',
] as const;
