/**
 * @module The notes a session's prompt gets: a full-text (and vector, when configured) search of the task's
 * repository plus the global notes, with a query made of the task's own words (its payload's title, description,
 * summary, findings ... and its type). Best effort: memory never fails a task.
 */
import type { MemoryScope } from './memory-notes.js';
import type { MemoryService } from './memory-service.js';
import type { FoundMemoryNote } from './search-memory.js';
import { MEMORY_LIMITS } from './memory-limits.js';

/** The words of a payload's strings (breadth-first, keys named like prose first), at most `queryMaxChars`. */
export function memoryQueryForTask(task: { type: string; payload: unknown }): string {
  const texts: string[] = [task.type.replaceAll('_', ' ')];
  const queue: unknown[] = [task.payload];
  while (queue.length > 0 && texts.join(' ').length < MEMORY_LIMITS.queryMaxChars) {
    const value = queue.shift();
    if (typeof value === 'string') texts.push(value);
    else if (Array.isArray(value)) queue.push(...value.slice(0, 20));
    else if (value && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>);
      const prose = /title|name|summary|description|body|details|message|reason|story|spec/i;
      entries.sort(([a], [b]) => Number(prose.test(b)) - Number(prose.test(a)));
      queue.push(...entries.slice(0, 30).map(([, v]) => v));
    }
  }
  const words = texts.join(' ').match(/[\p{L}\p{N}]{3,}/gu) ?? [];
  let query = '';
  for (const word of words) {
    if (query.length + word.length + 1 > MEMORY_LIMITS.queryMaxChars) break;
    query = query ? `${query} ${word}` : word;
  }
  return query;
}

export async function notesForTask(
  memory: MemoryService,
  task: { type: string; payload: unknown; repoId: number | null },
  limit: number,
): Promise<FoundMemoryNote[]> {
  if (limit <= 0) return [];
  const query = memoryQueryForTask(task);
  if (query === '') return [];
  const scope: MemoryScope =
    task.repoId === null ? { kind: 'global' } : { kind: 'repo', repoId: task.repoId, includeGlobal: true };
  return memory.search({ query, scope, limit });
}
