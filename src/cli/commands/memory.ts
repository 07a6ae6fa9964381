/**
 * @module `autodev memory search WORDS [--repo NAME|global] [--limit N]`, `memory add TEXT [--repo NAME]`,
 * `memory list [--repo NAME|global] [--source S] [--limit N]`, `memory forget ID`: the swarm's memory from the shell.
 * Notes added here are `human_note`s by `cli:<user>`. The commander definitions are `memory-command.ts`.
 */
import { AutodevError } from '../../errors.js';
import { assertStorableText, parseIdText, parseWholeNumberText, TEXT_LIMITS } from '../../domain/input-policy.js';
import { findRepository } from '../../forge/repositories.js';
import { isMemorySource, MEMORY_LIMITS, MEMORY_SOURCES } from '../../memory/memory-limits.js';
import { listMemoryNotes, type MemoryNote, type MemoryScope } from '../../memory/memory-notes.js';
import { createMemoryService } from '../../memory/memory-service.js';
import { withContext, type CliDeps, type CommandContext, type GlobalOptions } from '../context.js';
import { formatTable, writeJson, writeLine } from '../format.js';
import { cliActor } from './approvals.js';

/** The options of the memory subcommands (each takes the ones it declares). */
export interface MemoryFlags {
  repo?: string;
  limit?: string;
  source?: string;
  json?: boolean;
}

export type MemoryArgs = MemoryFlags & { globals: GlobalOptions } & (
    | { action: 'search'; words: string[] }
    | { action: 'add'; text: string }
    | { action: 'list' }
    | { action: 'forget'; id: string }
  );

async function scopeOf(ctx: CommandContext, repo: string | undefined): Promise<MemoryScope> {
  if (repo === undefined) return { kind: 'all' };
  if (repo === 'global') return { kind: 'global' };
  const row = await findRepository(ctx.handle.db, repo);
  return { kind: 'repo', repoId: Number(row.id), includeGlobal: true };
}

function serviceFor(ctx: CommandContext, deps: CliDeps) {
  return createMemoryService({
    handle: ctx.handle,
    settings: ctx.settings.memory,
    env: { ...deps.env },
    onVectorError: (error) => writeLine(deps.stderr, `memory: vectors unavailable: ${(error as Error).message}`),
  });
}

function limitOf(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : parseWholeNumberText('--limit', text, 1, MEMORY_LIMITS.maxResults);
}

function printNotes(deps: CliDeps, notes: readonly (MemoryNote & { score?: number })[]): void {
  if (notes.length === 0) {
    writeLine(deps.stdout, 'no notes');
    return;
  }
  const rows = notes.map((n) => [
    String(n.id),
    n.repo_id === null ? 'global' : `repo ${n.repo_id}`,
    n.source,
    n.created_at.slice(0, 10),
    n.text.replace(/\s+/g, ' ').slice(0, 100),
  ]);
  writeLine(deps.stdout, formatTable(['ID', 'SCOPE', 'SOURCE', 'DATE', 'TEXT'], rows).trimEnd());
}

export async function run(args: MemoryArgs, deps: CliDeps): Promise<number> {
  if (args.action === 'search') {
    const query = args.words.join(' ');
    assertStorableText('<words>', query, MEMORY_LIMITS.queryMaxChars);
    const limit = limitOf(args.limit, 10);
    const notes = await withContext(args.globals, deps, async (ctx) =>
      serviceFor(ctx, deps).search({ query, scope: await scopeOf(ctx, args.repo), limit }),
    );
    if (args.json) writeJson(deps.stdout, { notes });
    else printNotes(deps, notes);
    return 0;
  }
  if (args.action === 'add') {
    if (args.repo !== undefined) assertStorableText('--repo', args.repo, TEXT_LIMITS.name);
    const note = await withContext(args.globals, deps, async (ctx) => {
      const repoId = args.repo ? Number((await findRepository(ctx.handle.db, args.repo)).id) : null;
      return serviceFor(ctx, deps).add({
        repoId,
        source: 'human_note',
        text: args.text,
        createdBy: cliActor(deps),
        now: deps.now(),
      });
    });
    if (args.json) writeJson(deps.stdout, note);
    else writeLine(deps.stdout, `note ${note.id} saved${note.repo_id === null ? ' (global)' : ''}`);
    return 0;
  }
  if (args.action === 'list') {
    if (args.source !== undefined && !isMemorySource(args.source)) {
      throw new AutodevError('VALIDATION_FAILED', `--source must be one of ${MEMORY_SOURCES.join(', ')}`);
    }
    const source = args.source as MemoryNote['source'] | undefined;
    const limit = limitOf(args.limit, 50);
    const notes = await withContext(args.globals, deps, async (ctx) =>
      listMemoryNotes(ctx.handle.db, { scope: await scopeOf(ctx, args.repo), source, limit }),
    );
    if (args.json) writeJson(deps.stdout, { notes });
    else printNotes(deps, notes);
    return 0;
  }
  const id = parseIdText('<id>', args.id);
  const note = await withContext(args.globals, deps, (ctx) =>
    serviceFor(ctx, deps).forget(id, { actor: cliActor(deps), now: deps.now() }),
  );
  if (args.json) writeJson(deps.stdout, note);
  else writeLine(deps.stdout, `note ${note.id} forgotten`);
  return 0;
}
