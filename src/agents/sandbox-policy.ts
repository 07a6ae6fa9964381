/**
 * @module What every sandboxed step of the agent runtime hides and how a task clone is saved: the same policy for
 * sessions, gates, deploys and the saves of agents' work (worktrees.ts `commitWip`).
 */
import { defaultHiddenPaths } from '../workspace/sandbox.js';
import type { SaveOptions } from '../workspace/worktrees.js';
import { homeDir } from './agent-cli.js';
import type { AgentRuntimeDeps } from './run-agent-task.js';

/** Paths no session, gate, deploy or save may see: the data dir, credential stores, the operator's CLI state. */
export function hiddenPathsFor(deps: Pick<AgentRuntimeDeps, 'env' | 'dataDir'>): string[] {
  return defaultHiddenPaths({ home: homeDir(deps.env), dataDir: deps.dataDir, env: deps.env });
}

/** How a task clone's work is saved: in the sandbox the session ran in (worktrees.ts `commitWip`). */
export function saveOptionsFor(
  deps: Pick<AgentRuntimeDeps, 'env' | 'dataDir' | 'settings' | 'bwrapPath'>,
): SaveOptions {
  return {
    mode: deps.settings.sandbox.mode,
    hiddenPaths: hiddenPathsFor(deps),
    ...(deps.bwrapPath ? { bwrapPath: deps.bwrapPath } : {}),
  };
}
