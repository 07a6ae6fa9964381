/**
 * @module The demo's model: a local stand-in of the Anthropic Messages API (scripted-model-server.ts) on 127.0.0.1,
 * playing the recorded sessions (recorded-scripts.ts) as scripted model turns, and the settings that point the REAL
 * Claude Code CLI (the one bundled with the Agent SDK) at it. Every session of the demo then runs through Auto-Dev's
 * normal agent runtime: the sandbox, the session home, `autodev mcp`, the agent committing in its own clone. No model
 * is called and nothing leaves the machine; the stand-in never improvises (a session it has no recording for is told
 * so and fails).
 */
import type { Settings } from '../config/settings-schema.js';
import { PROVIDER_ENV_ALLOWLIST } from '../agents/sandbox-policy.js';
import { demoScriptChooser, loadDemoScripts } from './recorded-scripts.js';
import { ScriptedAgents, type StepFailure } from './scripted-agent.js';
import { scriptedClaude } from './scripted-claude.js';
import { startScriptedModelServer } from './scripted-model-server.js';

/** The model the recordings were made with: what Claude Code is told it talks to (and prices the tokens as). */
export const RECORDED_MODEL = 'claude-sonnet-4-5';
/** The API key Claude Code sends the stand-in: not a key, and said so. */
const STAND_IN_API_KEY = 'stand-in-no-key';

export interface DemoModel {
  /** `http://127.0.0.1:<port>`: the Messages API base URL Claude Code is pointed at. */
  baseUrl: string;
  /** Where a real result disagreed with the recorded one (a recorded call failing now, or the reverse). */
  mismatches(): StepFailure[];
  close(): Promise<void>;
}

export interface StartDemoModelOptions {
  recordingsDir: string;
  /** Pause before each model turn's answer. */
  delayMs: number;
}

/** Reads every recording (a bad one fails here, before anything runs) and starts the stand-in. */
export async function startDemoModel(options: StartDemoModelOptions): Promise<DemoModel> {
  const scripts = await loadDemoScripts(options.recordingsDir);
  const agents = new ScriptedAgents(demoScriptChooser(scripts, options.recordingsDir));
  const zero = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
  // Requests that are not the agent's turns (Claude Code's own, e.g. a title) report no tokens: the sessions' totals
  // are the recorded ones.
  const server = await startScriptedModelServer(scriptedClaude(agents), { usage: zero, delayMs: options.delayMs });
  return { baseUrl: server.baseUrl, mismatches: () => [...agents.failures], close: () => server.close() };
}

/**
 * The settings the demo's agents run on: the user's, with every session on Claude Code (the bundled binary) pointed
 * at the stand-in. The user's own Claude configuration (executable, model, environment) is not used.
 */
export function demoSettings(settings: Settings, model: Pick<DemoModel, 'baseUrl'>): Settings {
  return {
    ...settings,
    llm: {
      ...settings.llm,
      default_provider: 'claude',
      fallback_provider: 'claude',
      providers: {
        ...settings.llm.providers,
        claude: {
          executable: null,
          model: RECORDED_MODEL,
          env: {
            ANTHROPIC_BASE_URL: model.baseUrl,
            ANTHROPIC_API_KEY: STAND_IN_API_KEY,
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
          },
        },
      },
    },
  };
}

/**
 * The environment the demo's agents get: the user's without any model credential or endpoint (none is needed, and
 * none should reach the stand-in), and with Claude's login looked for in `emptyConfigDir` (inside the data dir, hidden
 * from sessions) so the user's own login is not copied into the sessions' homes.
 */
export function demoEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  emptyConfigDir: string,
): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = { ...env };
  for (const name of [...PROVIDER_ENV_ALLOWLIST.claude, ...PROVIDER_ENV_ALLOWLIST.codex]) delete result[name];
  result.CLAUDE_CONFIG_DIR = emptyConfigDir;
  return result;
}
