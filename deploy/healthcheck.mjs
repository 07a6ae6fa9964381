#!/usr/bin/env node
/**
 * @module The container health check of every Auto-Dev service (Dockerfile HEALTHCHECK, deploy/compose.yaml, the ECS
 * task definitions). What it checks comes from AUTODEV_HEALTHCHECK:
 * - an http(s) URL (default `http://127.0.0.1:8080/health`): healthy when it answers 2xx within 5 s (dashboard,
 *   webhook, and any process that serves a health endpoint);
 * - `agents`: healthy when `autodev agents status --json` lists an agent of this host (os.hostname(), unique per
 *   container) that is not `crashed` (a silent heartbeat shows as crashed), so an agent process that hangs turns
 *   unhealthy; a role scaled to 0 shows `stopped`, which is healthy;
 * - `database`: healthy when `autodev schedules list --json` exits 0, i.e. the database answers (the scheduler).
 * Exits 0 when healthy, 1 with one line on stderr saying why not. Plain ESM JavaScript with no dependencies, so it
 * runs in the image as it is.
 */
/* global fetch, AbortSignal -- Node's own, as in every Node 20 script */
import { execFile } from 'node:child_process';
import os from 'node:os';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const DEFAULT_CHECK = 'http://127.0.0.1:8080/health';
const HTTP_TIMEOUT_MS = 5_000;
const CLI_TIMEOUT_MS = 20_000;
const AUTODEV_ENTRY = fileURLToPath(new URL('../dist/src/cli/bin/autodev.js', import.meta.url));

/** @param {string} url */
async function checkHttp(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
}

/**
 * Runs the built autodev CLI with this process's environment (DATABASE_URL, AUTODEV_DATA_DIR, ...).
 * @param {string[]} args
 * @returns {Promise<string>} its stdout
 */
function runAutodev(args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [AUTODEV_ENTRY, ...args], { timeout: CLI_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error) reject(new Error(`autodev ${args.join(' ')} failed: ${(stderr || error.message).trim()}`));
      else resolve(stdout);
    });
  });
}

async function checkAgents() {
  const host = os.hostname();
  /** @type {{ agents: { host: string; status: string; role: string }[] }} */
  const status = JSON.parse(await runAutodev(['agents', 'status', '--json']));
  const mine = status.agents.filter((agent) => agent.host === host);
  if (mine.length === 0) throw new Error(`no agent of this host (${host}) is registered`);
  if (!mine.some((agent) => agent.status !== 'crashed')) {
    throw new Error(`every agent of this host (${host}) is crashed (no heartbeat)`);
  }
}

async function checkDatabase() {
  await runAutodev(['schedules', 'list', '--json']);
}

const check = process.env.AUTODEV_HEALTHCHECK || DEFAULT_CHECK;
try {
  if (check === 'agents') await checkAgents();
  else if (check === 'database') await checkDatabase();
  else if (/^https?:\/\//.test(check)) await checkHttp(check);
  else throw new Error(`AUTODEV_HEALTHCHECK must be an http(s) URL, "agents" or "database" (got "${check}")`);
  process.exit(0);
} catch (error) {
  process.stderr.write(`unhealthy: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
