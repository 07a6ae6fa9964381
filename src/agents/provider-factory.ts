/**
 * @module Builds the provider a session runs on from the settings (`llm.providers.<name>`), with the executable the
 * runner chose (the sandbox wrapper, or the CLI itself). `replay` plays recorded sessions: tests and the demo only.
 * The SDKs are loaded on a provider's first session, not at start-up.
 */
import type { Settings } from '../config/settings-schema.js';
import type { CodexProviderOptions } from '../llm/codex-provider.js';
import type { LlmProvider, SessionRequest } from '../llm/provider.js';
import type { ProviderName } from '../llm/session-events.js';
import type { ProviderFactory } from './run-agent-task.js';

export interface ProviderFactoryOptions {
  settings: Settings;
  /** For `replay`: the recorded session to play for a request. Without it, replay is refused. */
  replaySession?: (request: SessionRequest) => string;
  replayDelayMs?: number;
}

/** A provider whose implementation module is imported when it first runs a session. */
function lazyProvider(name: ProviderName, load: () => Promise<LlmProvider>): LlmProvider {
  let loaded: Promise<LlmProvider> | undefined;
  return {
    name,
    run: async (request, sink) => (await (loaded ??= load())).run(request, sink),
  };
}

export function settingsProviderFactory(options: ProviderFactoryOptions): ProviderFactory {
  const { settings } = options;
  return (name, session): LlmProvider => {
    if (name === 'replay') {
      const replaySession = options.replaySession;
      if (!replaySession) throw new Error('the replay provider is only for tests and the demo');
      return lazyProvider(name, async () =>
        (await import('../llm/replay-provider.js')).createReplayProvider({
          sessionFile: replaySession,
          ...(options.replayDelayMs !== undefined ? { delayMs: options.replayDelayMs } : {}),
        }),
      );
    }
    const configured = settings.llm.providers[name];
    const common = {
      ...(session.executable ? { executable: session.executable } : {}),
      ...(configured.model ? { model: configured.model } : {}),
      env: configured.env,
    };
    if (name === 'claude') {
      return lazyProvider(name, async () => (await import('../llm/claude-provider.js')).createClaudeProvider(common));
    }
    return lazyProvider(name, async () =>
      (await import('../llm/codex-provider.js')).createCodexProvider({
        ...common,
        config: settings.llm.providers.codex.config as CodexProviderOptions['config'],
        // Auto-Dev's bubblewrap is the boundary (read-only roles get a read-only checkout in it); Codex's own sandbox
        // cannot nest inside it.
        ...(settings.sandbox.mode === 'bubblewrap'
          ? { writerSandbox: 'danger-full-access' as const, readerSandbox: 'danger-full-access' as const }
          : {}),
      }),
    );
  };
}
