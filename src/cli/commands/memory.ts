/**
 * @module `autodev memory search WORDS [--repo NAME|global] [--limit N]`, `memory add TEXT [--repo NAME]`,
 * `memory list [--repo NAME|global] [--source S] [--limit N]`, `memory forget ID`: the swarm's memory from the shell.
 * Notes added here are `human_note`s by `cli:<user>`. The command group is built here and added to the program with
 * one line (`program.addCommand(memoryCommand(...))`).
 */
import { Command } from 'commander';
import { AutodevError } from '../../errors.js';
import { assertStorableText, parseIdText, parseWholeNumberText, TEXT_LIMITS } from '../../domain/input-policy.js';
import { findRepository } from '../../forge/repositories.js';
import {
  isMemorySource,
  listMemoryNotes,
  MEMORY_LIMITS,
  MEMORY_SOURCES,
  type MemoryNote,
  type MemoryScope,
} from '../../memory/memory-notes.js';
import { createMemoryService } from '../../memory/memory-service.js';
import { withContext, type CliDeps, type CommandContext, type GlobalOptions } from '../context.js';
import { formatTable, writeJson, writeLine } from '../format.js';
import { cliActor } from './approvals.js';

interface Flags {
  repo?: string;
  limit?: string;
  source?: string;
  json?: boolean;
}

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

/** The `memory` command group; `act` records the exit code and `globals` reads the program's global options. */
export function memoryCommand(
  deps: CliDeps,
  act: <A extends unknown[]>(fn: (...args: A) => Promise<number>) => (...args: A) => Promise<void>,
  globals: () => GlobalOptions,
): Command {
  const memory = new Command('memory').description(
    "the swarm's memory: what agents and people learned, per repository",
  );
  memory
    .command('search')
    .description('full-text (and vector, when configured) search, best first')
    .argument('<words...>', 'what to look for')
    .option('--repo <name>', 'a repository (its notes plus the global ones), or "global"')
    .option('--limit <n>', `at most this many notes (1-${MEMORY_LIMITS.maxResults}, default 10)`)
    .option('--json', 'print {"notes": [...]}')
    .action(
      act(async (words: string[], flags: Flags) => {
        const query = words.join(' ');
        assertStorableText('<words>', query, MEMORY_LIMITS.queryMaxChars);
        const limit = limitOf(flags.limit, 10);
        const notes = await withContext(globals(), deps, async (ctx) =>
          serviceFor(ctx, deps).search({ query, scope: await scopeOf(ctx, flags.repo), limit }),
        );
        if (flags.json) writeJson(deps.stdout, { notes });
        else printNotes(deps, notes);
        return 0;
      }),
    );
  memory
    .command('add')
    .description('add a note (source human_note)')
    .argument('<text>', `the note, at most ${MEMORY_LIMITS.textMaxChars} characters`)
    .option('--repo <name>', 'the repository it is about (default: a global note)')
    .option('--json', 'print the note as JSON')
    .action(
      act(async (text: string, flags: Flags) => {
        if (flags.repo !== undefined) assertStorableText('--repo', flags.repo, TEXT_LIMITS.name);
        const note = await withContext(globals(), deps, async (ctx) => {
          const repoId = flags.repo ? Number((await findRepository(ctx.handle.db, flags.repo)).id) : null;
          return serviceFor(ctx, deps).add({
            repoId,
            source: 'human_note',
            text,
            createdBy: cliActor(deps),
            now: deps.now(),
          });
        });
        if (flags.json) writeJson(deps.stdout, note);
        else writeLine(deps.stdout, `note ${note.id} saved${note.repo_id === null ? ' (global)' : ''}`);
        return 0;
      }),
    );
  memory
    .command('list')
    .description('the newest notes')
    .option('--repo <name>', 'a repository (its notes plus the global ones), or "global"')
    .option('--source <source>', `only this source: ${MEMORY_SOURCES.join(', ')}`)
    .option('--limit <n>', `at most this many (1-${MEMORY_LIMITS.maxResults}, default 50)`)
    .option('--json', 'print {"notes": [...]}')
    .action(
      act(async (flags: Flags) => {
        if (flags.source !== undefined && !isMemorySource(flags.source)) {
          throw new AutodevError('VALIDATION_FAILED', `--source must be one of ${MEMORY_SOURCES.join(', ')}`);
        }
        const source = flags.source as MemoryNote['source'] | undefined;
        const limit = limitOf(flags.limit, 50);
        const notes = await withContext(globals(), deps, async (ctx) =>
          listMemoryNotes(ctx.handle.db, { scope: await scopeOf(ctx, flags.repo), source, limit }),
        );
        if (flags.json) writeJson(deps.stdout, { notes });
        else printNotes(deps, notes);
        return 0;
      }),
    );
  memory
    .command('forget')
    .description('delete a note')
    .argument('<id>', 'note id')
    .option('--json', 'print the forgotten note as JSON')
    .action(
      act(async (idText: string, flags: Flags) => {
        const id = parseIdText('<id>', idText);
        const note = await withContext(globals(), deps, (ctx) =>
          serviceFor(ctx, deps).forget(id, { actor: cliActor(deps), now: deps.now() }),
        );
        if (flags.json) writeJson(deps.stdout, note);
        else writeLine(deps.stdout, `note ${note.id} forgotten`);
        return 0;
      }),
    );
  return memory;
}
