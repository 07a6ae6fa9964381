/**
 * @module A real npm registry for the npm publisher's tests: Verdaccio 6.8.0 (`node_modules/.bin/verdaccio`) started
 * on a free 127.0.0.1 port with a temporary config and storage, no uplinks (nothing reaches npmjs.org), every package
 * readable and publishable only by an authenticated user. `addUser` registers a user through the registry's own
 * CouchDB user endpoint, which answers with the user's token.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { killGroup, spawnInGroup } from '../child-processes.js';

export interface Verdaccio {
  url: string;
  storage: string;
  addUser(name: string, password: string): Promise<string>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPing(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited ${child.exitCode}: ${output()}`);
    try {
      const response = await fetch(`${url}-/ping`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`verdaccio did not answer ${url}-/ping within 30 s: ${output()}`);
}

export async function startVerdaccio(): Promise<Verdaccio> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-verdaccio-'));
  const storage = path.join(root, 'storage');
  const port = await freePort();
  const config = path.join(root, 'config.yaml');
  fs.writeFileSync(
    config,
    [
      `storage: ${storage}`,
      'auth:',
      '  htpasswd:',
      `    file: ${path.join(root, 'htpasswd')}`,
      'uplinks: {}',
      'packages:',
      "  '**':",
      '    access: $authenticated',
      '    publish: $authenticated',
      '    unpublish: $authenticated',
      'log: { type: stdout, format: json, level: warn }',
      '',
    ].join('\n'),
  );
  const bin = path.resolve('node_modules/.bin/verdaccio');
  const child = spawnInGroup(bin, ['--config', config, '--listen', `127.0.0.1:${port}`], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: root },
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}/`;
  await waitForPing(url, child, () => output);
  return {
    url,
    storage,
    async addUser(name, password) {
      const response = await fetch(`${url}-/user/org.couchdb.user:${encodeURIComponent(name)}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, password }),
      });
      const body = (await response.json()) as { token?: string; error?: string };
      if (!response.ok || !body.token) throw new Error(`verdaccio adduser: ${response.status} ${JSON.stringify(body)}`);
      return body.token;
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (killGroup(child, 'SIGTERM') && child.exitCode === null) await exited;
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
