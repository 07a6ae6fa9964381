/**
 * @module Where a session's "CLI start to first model request" goes, for the session-overhead benchmark: one short
 * session through Auto-Dev's own provider (`settingsProviderFactory`, the SDKs) per variant (the CLI plain or in the
 * session's bubblewrap wrapper, with or without the `autodev mcp` server) against a stand-in that answers "Done." at
 * once. The executable is a one-line shim that stamps the moment the SDK spawned it, so each start splits into the
 * SDK's work before the spawn and the process's start to its first model request. Read-only sessions (no
 * `--dangerously-skip-permissions`), so the plain CLI may run as root.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundledCliPath, writeSandboxedCli, type CliProvider } from '../src/agents/agent-cli.js';
import { settingsProviderFactory } from '../src/agents/provider-factory.js';
import { hiddenPathsFor } from '../src/agents/sandbox-policy.js';
import { findPackageRoot } from '../src/config/package-root.js';
import { mcpServerSpec } from '../src/mcp/run-mcp-stdio.js';
import { autodevCliEntry } from '../test/support/agent-fixtures.js';
import { startScriptedModelServer } from '../src/demo/scripted-model-server.js';
import { assistantMessage, startMockResponsesServer } from '../test/support/mock-responses-server.js';
import { realCliSettings, type ModelStandIns } from '../test/support/real-cli-sessions.js';
import type { BareCost } from './session-bare-costs.js';
import { preciseNow, progress } from './bench-report.js';

interface Variant {
  sandboxed: boolean;
  mcp: boolean;
}

const VARIANTS: readonly Variant[] = [
  { sandboxed: false, mcp: false },
  { sandboxed: true, mcp: false },
  { sandboxed: false, mcp: true },
  { sandboxed: true, mcp: true },
];

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Stand-ins that answer every request at once and stamp the first one after `reset()`. */
async function doneStandIns() {
  let firstAt = Number.NaN;
  const seen = () => {
    if (Number.isNaN(firstAt)) firstAt = preciseNow();
  };
  const messages = await startScriptedModelServer(() => {
    seen();
    return { kind: 'text', text: 'Done.' };
  });
  const responses = await startMockResponsesServer(() => {
    seen();
    return assistantMessage('Done.');
  });
  const standIns: ModelStandIns = {
    messages,
    responses,
    close: async () => {
      await messages.close();
      await responses.close();
    },
  };
  return {
    standIns,
    reset: () => (firstAt = Number.NaN),
    firstRequestAt: () => firstAt,
  };
}

/**
 * Times `runs` sessions per provider and variant; rows: SDK to spawn, spawn to first request, and the whole start.
 * `sessionDir` must hold a valid `context.json` (the MCP server reads it); `root` is a scratch directory.
 */
export async function measureCliStartSplit(
  providers: readonly CliProvider[],
  runs: number,
  root: string,
  sessionDir: string,
  deps: { env: Record<string, string>; dataDir: string },
): Promise<BareCost[]> {
  const stand = await doneStandIns();
  const costs: BareCost[] = [];
  const marks = path.join(root, 'spawn-marks');
  let homes = 0;
  try {
    for (const provider of providers) {
      const settings = realCliSettings(stand.standIns, provider);
      const cli = bundledCliPath(provider);
      const isScript = /\.(?:c|m)?js$/.test(cli);
      const cwd = path.join(root, `${provider}-cwd`);
      fs.mkdirSync(cwd, { recursive: true });
      const variants = [];
      for (const [index, variant] of VARIANTS.entries()) {
        const label = `${provider} via SDK, ${variant.sandboxed ? 'sandboxed' : 'plain'}, ${variant.mcp ? 'with' : 'no'} MCP`;
        const target = variant.sandboxed
          ? await writeSandboxedCli({
              wrapperPath: path.join(sessionDir, `${provider}-split-sandboxed.sh`),
              cliPath: cli,
              cwd,
              writablePaths: [cwd, sessionDir],
              readOnlyPaths: [findPackageRoot(), path.dirname(cli)],
              hiddenPaths: hiddenPathsFor(deps),
            })
          : cli;
        const exec = !variant.sandboxed && isScript ? [process.execPath, target] : [target];
        const shim = path.join(root, `${provider}-shim-${index}.sh`);
        fs.writeFileSync(
          shim,
          `#!/bin/sh\ndate +%s%N >> ${shellQuote(marks)}\nexec ${exec.map(shellQuote).join(' ')} "$@"\n`,
          { mode: 0o700 },
        );
        const llm = settingsProviderFactory({ settings })(provider, { executable: shim });
        variants.push({
          label,
          mcp: variant.mcp,
          llm,
          toSpawn: [] as number[],
          toFirst: [] as number[],
          whole: [] as number[],
        });
      }
      // Interleaved (every variant once per round), so load drifting on a shared machine falls on all of them.
      progress(`cli start split: ${provider}, ${VARIANTS.length} variants, ${runs} rounds after a warm-up`);
      for (let round = 0; round <= runs; round++) {
        for (const variant of variants) {
          // A fresh home per session, in the session dir (writable in the sandbox), like a session's own home.
          const home = path.join(sessionDir, `${provider}-home-${++homes}`);
          fs.mkdirSync(path.join(home, '.codex'), { recursive: true });
          fs.rmSync(marks, { force: true });
          stand.reset();
          const start = preciseNow();
          const outcome = await variant.llm.run(
            {
              prompt: 'Say done.',
              cwd,
              env: {
                PATH: process.env.PATH ?? '/usr/bin:/bin',
                HOME: home,
                ...(provider === 'codex' ? { CODEX_HOME: path.join(home, '.codex') } : {}),
                ...settings.llm.providers[provider].env,
              },
              signal: new AbortController().signal,
              readOnly: true,
              ...(variant.mcp
                ? {
                    mcpServers: {
                      autodev: mcpServerSpec({ nodePath: process.execPath, cliEntry: autodevCliEntry(), sessionDir }),
                    },
                  }
                : {}),
            },
            () => {},
          );
          if (outcome.status !== 'succeeded') {
            throw new Error(`${variant.label}: ${outcome.status}: ${outcome.error ?? ''}`);
          }
          const spawnedAt = Number(fs.readFileSync(marks, 'utf8').trim().split('\n')[0]) / 1e6;
          const firstAt = stand.firstRequestAt();
          if (round === 0) continue; // warm-up
          variant.toSpawn.push(spawnedAt - start);
          variant.toFirst.push(firstAt - spawnedAt);
          variant.whole.push(firstAt - start);
        }
      }
      for (const { label, toSpawn, toFirst, whole } of variants) {
        costs.push({ name: `${label}: run() to spawn`, command: 'SDK work before the CLI starts', samples: toSpawn });
        costs.push({ name: `${label}: spawn to first request`, command: 'shim stamp to stand-in', samples: toFirst });
        costs.push({ name: `${label}: run() to first request`, command: 'the whole CLI start', samples: whole });
      }
    }
    return costs;
  } finally {
    await stand.standIns.close();
  }
}
