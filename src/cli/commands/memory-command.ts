/**
 * @module The `autodev memory` command group's names, options and help (search, add, list, forget), added to the
 * program with one line (`program.addCommand(memoryCommand(...))`); its module (`memory.ts`, with the store) loads
 * only when a subcommand runs.
 */
import { Command } from 'commander';
import { MEMORY_LIMITS, MEMORY_SOURCES } from '../../memory/memory-limits.js';
import type { CliDeps, GlobalOptions } from '../context.js';
import type { MemoryArgs, MemoryFlags } from './memory.js';

/** The `memory` command group; `act` records the exit code and `globals` reads the program's global options. */
export function memoryCommand(
  deps: CliDeps,
  act: <A extends unknown[]>(fn: (...args: A) => Promise<number>) => (...args: A) => Promise<void>,
  globals: () => GlobalOptions,
): Command {
  const run = async (args: MemoryArgs) => (await import('./memory.js')).run(args, deps);
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
      act((words: string[], flags: MemoryFlags) => run({ action: 'search', globals: globals(), words, ...flags })),
    );
  memory
    .command('add')
    .description('add a note (source human_note)')
    .argument('<text>', `the note, at most ${MEMORY_LIMITS.textMaxChars} characters`)
    .option('--repo <name>', 'the repository it is about (default: a global note)')
    .option('--json', 'print the note as JSON')
    .action(act((text: string, flags: MemoryFlags) => run({ action: 'add', globals: globals(), text, ...flags })));
  memory
    .command('list')
    .description('the newest notes')
    .option('--repo <name>', 'a repository (its notes plus the global ones), or "global"')
    .option('--source <source>', `only this source: ${MEMORY_SOURCES.join(', ')}`)
    .option('--limit <n>', `at most this many (1-${MEMORY_LIMITS.maxResults}, default 50)`)
    .option('--json', 'print {"notes": [...]}')
    .action(act((flags: MemoryFlags) => run({ action: 'list', globals: globals(), ...flags })));
  memory
    .command('forget')
    .description('delete a note')
    .argument('<id>', 'note id')
    .option('--json', 'print the forgotten note as JSON')
    .action(act((id: string, flags: MemoryFlags) => run({ action: 'forget', globals: globals(), id, ...flags })));
  return memory;
}
