#!/usr/bin/env node
/**
 * @module The container health check of every Auto-Dev service (Dockerfile HEALTHCHECK, deploy/compose.yaml, the ECS
 * task definitions): healthy when the http(s) URL in AUTODEV_HEALTHCHECK (default `http://127.0.0.1:8080/health`)
 * answers 2xx within 5 s. Every process serves `/health` (live) and `/ready` (ready): the dashboard and webhook on
 * their port, the scheduler and agent processes on `--health-port`, so no check needs the database or the CLI.
 * Exits 0 when healthy, 1 with one line on stderr saying why not. Plain ESM JavaScript with no dependencies, so it
 * runs in the image as it is.
 */
/* global fetch, AbortSignal -- Node's own, as in every Node 20 script */
import process from 'node:process';

const DEFAULT_CHECK = 'http://127.0.0.1:8080/health';
const HTTP_TIMEOUT_MS = 5_000;

/** @param {string} url */
async function checkHttp(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
}

const check = process.env.AUTODEV_HEALTHCHECK || DEFAULT_CHECK;
try {
  if (!/^https?:\/\//.test(check)) throw new Error(`AUTODEV_HEALTHCHECK must be an http(s) URL (got "${check}")`);
  await checkHttp(check);
  process.exit(0);
} catch (error) {
  process.stderr.write(`unhealthy: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
