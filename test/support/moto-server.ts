/**
 * @module moto's server mode, a real AWS emulator (Python), for the SSM secret provider's tests: started by the
 * global setup on a free loopback port from `.venv-test/` (made by `.ci/ensure-moto`, which the setup runs when the
 * venv cannot import moto yet), stopped at the end. Without it the SSM tests fail with a message saying how to get it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './postgres-cluster.js';
import { runWhenGone } from './run-when-gone.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const VENV_PYTHON = path.join(ROOT, '.venv-test', 'bin', 'python');
const START_TIMEOUT_MS = 30_000;

export interface MotoServer {
  readonly endpoint: string;
  stop(): void;
}

function motoImportable(): boolean {
  return (
    fs.existsSync(VENV_PYTHON) &&
    spawnSync(VENV_PYTHON, ['-c', 'import moto.server, flask'], { stdio: 'ignore' }).status === 0
  );
}

/** Makes sure `.venv-test/` has moto (running `.ci/ensure-moto`); an error says what failed. */
export function ensureMoto(): void {
  if (motoImportable()) return;
  const result = spawnSync('bash', [path.join(ROOT, '.ci', 'ensure-moto')], { encoding: 'utf8', cwd: ROOT });
  if (result.status !== 0 || !motoImportable()) {
    throw new Error(`.ci/ensure-moto could not make moto[server] available: ${result.stderr || result.stdout}`);
  }
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

export async function startMotoServer(): Promise<MotoServer> {
  ensureMoto();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(VENV_PYTHON, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await answers(endpoint))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not start on ${endpoint}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Stopped even when the process that started it dies without its teardown (SIGTERM, SIGKILL).
  const guard = runWhenGone([['kill', '-TERM', String(child.pid)]]);
  return {
    endpoint,
    stop: () => {
      guard.cancel();
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}
