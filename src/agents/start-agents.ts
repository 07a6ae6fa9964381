/**
 * @module Starts this process's agents from the settings: checks the sandbox can run (or says loudly that it is
 * off), builds the runtime (providers from settings, the MCP server entry) and starts the supervisor for the roles.
 * `autodev up` runs every role; `autodev serve agent:ROLE` one.
 */
import type { SecretStore } from '../secrets/secret-store.js';
import type { Settings } from '../config/settings-schema.js';
import { builtCliEntry } from '../config/package-root.js';
import type { Role } from '../domain/roles.js';
import type { Logger } from '../log.js';
import type { TaskQueue } from '../queue/task-queue.js';
import { sweepOrphanCheckouts } from '../gates/checkout-command.js';
import { assertSandboxAvailable } from '../workspace/sandbox.js';
import { assertNotRootUnsandboxed } from './run-agent-task.js';
import type { ProviderName } from '../llm/session-events.js';
import { AgentSupervisor, type SupervisorOptions } from './agent-supervisor.js';
import { settingsProviderFactory } from './provider-factory.js';
import type { ProviderFactory } from './run-agent-task.js';

export interface StartAgentsOptions {
  queue: TaskQueue;
  settings: Settings;
  dataDir: string;
  configDir?: string;
  logger: Logger;
  env: Record<string, string | undefined>;
  roles: readonly Role[];
  /** The demo: its own provider factory (recorded sessions) instead of the settings' providers, used for every task. */
  createProvider?: ProviderFactory;
  forceProvider?: ProviderName;
  /** Worker count and idle wait, instead of what `agent_controls` and the defaults say. */
  workers?: Omit<SupervisorOptions, 'roles'>;
  /** Where a deploy reads its secrets (registered with the process's masker when read). */
  secrets?: SecretStore;
}

export async function startAgents(options: StartAgentsOptions): Promise<AgentSupervisor> {
  await assertSandboxAvailable(options.settings.sandbox.mode);
  if (options.settings.sandbox.mode === 'none') {
    // As root, unsandboxed sessions are refused at start rather than at every task (the replay provider runs none).
    if (options.forceProvider !== 'replay') assertNotRootUnsandboxed();
    options.logger.warn('sandbox.mode is none: agent sessions will run UNSANDBOXED with full access to this machine');
  }
  const swept = await sweepOrphanCheckouts();
  if (swept.length > 0) {
    options.logger.info({ removed: swept }, `removed ${swept.length} gate checkout(s) left by a killed process`);
  }
  const supervisor = new AgentSupervisor(
    {
      queue: options.queue,
      settings: options.settings,
      dataDir: options.dataDir,
      ...(options.configDir ? { configDir: options.configDir } : {}),
      logger: options.logger,
      env: options.env,
      createProvider: options.createProvider ?? settingsProviderFactory({ settings: options.settings }),
      cliEntry: builtCliEntry(),
      ...(options.forceProvider ? { forceProvider: options.forceProvider } : {}),
      ...(options.secrets ? { secrets: options.secrets } : {}),
    },
    { roles: options.roles, ...options.workers },
  );
  await supervisor.start();
  return supervisor;
}
