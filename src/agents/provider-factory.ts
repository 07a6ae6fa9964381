/**
 * @module Builds the provider a session runs on from the settings (`llm.providers.<name>`), with the executable the
 * runner chose (the sandbox wrapper, or the CLI itself). `replay` plays recorded sessions: tests and the demo only.
 */
import type { Settings } from '../config/settings-schema.js';
import { createClaudeProvider } from '../llm/claude-provider.js';
import { createCodexProvider } from '../llm/codex-provider.js';
import type { LlmProvider, SessionRequest } from '../llm/provider.js';
import { createReplayProvider } from '../llm/replay-provider.js';
import type { ProviderFactory } from './run-agent-task.js';

export interface ProviderFactoryOptions {
  settings: Settings;
  /** For `replay`: the recorded session to play for a request. Without it, replay is refused. */
  replaySession?: (request: SessionRequest) => string;
  replayDelayMs?: number;
}

export function settingsProviderFactory(options: ProviderFactoryOptions): ProviderFactory {
  const { settings } = options;
  return (name, session): LlmProvider => {
    if (name === 'replay') {
      if (!options.replaySession) throw new Error('the replay provider is only for tests and the demo');
      return createReplayProvider({
        sessionFile: options.replaySession,
        ...(options.replayDelayMs !== undefined ? { delayMs: options.replayDelayMs } : {}),
      });
    }
    const configured = settings.llm.providers[name];
    const common = {
      ...(session.executable ? { executable: session.executable } : {}),
      ...(configured.model ? { model: configured.model } : {}),
      env: configured.env,
    };
    if (name === 'claude') return createClaudeProvider(common);
    return createCodexProvider({
      ...common,
      config: settings.llm.providers.codex.config as NonNullable<Parameters<typeof createCodexProvider>[0]>['config'],
      // Auto-Dev's bubblewrap is the boundary; Codex's own sandbox cannot nest inside it.
      ...(settings.sandbox.mode === 'bubblewrap' ? { writerSandbox: 'danger-full-access' as const } : {}),
    });
  };
}
