/**
 * deploy/compose1-systempaths-proxy.mjs, the translation docker-compose 1.29 lacks, run as check-local-stack.sh runs
 * it (node, a unix socket) in front of a stand-in for the Docker engine's socket (this machine's test runs have no
 * dockerd): an HTTP server on a unix socket that answers the Engine API's routes used here and records what reached
 * it. The real engine behind it is exercised by deploy/check-local-stack.sh (docs/OPERATIONS.md).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnInGroup } from '../support/child-processes.js';

const PROXY = fileURLToPath(new URL('../../deploy/compose1-systempaths-proxy.mjs', import.meta.url));

interface Received {
  method: string;
  url: string;
  body: string;
  headers: http.IncomingHttpHeaders;
}

let dir: string;
let engine: http.Server;
let proxy: ChildProcess;
let proxyLog = '';
const received: Received[] = [];

/** A request to the proxy's socket, as docker-py sends one. */
function request(method: string, url: string, body?: unknown) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const outgoing = http.request(
      {
        socketPath: path.join(dir, 'proxy.sock'),
        method,
        path: url,
        headers:
          text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      },
      (response) => {
        let answer = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (answer += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: answer }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(text);
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-compose1-proxy-'));
  engine = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers });
      if (req.method === 'POST' && req.url?.includes('/containers/create')) {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ Id: 'c0ffee', Warnings: [] }));
      } else {
        // A streamed answer, as the engine streams logs: several chunks, no content-length.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write('line one\n');
        setTimeout(() => res.end('line two\n'), 20);
      }
    });
  });
  await new Promise<void>((resolve) => engine.listen(path.join(dir, 'engine.sock'), resolve));
  proxy = spawnInGroup(process.execPath, [PROXY, path.join(dir, 'proxy.sock'), path.join(dir, 'engine.sock')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    proxy.stderr?.setEncoding('utf8');
    proxy.stderr?.on('data', (chunk: string) => {
      proxyLog += chunk;
      if (proxyLog.includes('listening on')) resolve();
    });
    proxy.once('exit', (code) => reject(new Error(`the proxy exited ${code}: ${proxyLog}`)));
  });
});

afterAll(async () => {
  proxy?.kill('SIGTERM');
  await new Promise((resolve) => engine.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('deploy/compose1-systempaths-proxy.mjs (a Docker engine stand-in on a unix socket)', () => {
  it('sends systempaths=unconfined as MaskedPaths [] and ReadonlyPaths [], as the docker CLI does, and says so', async () => {
    const spec = {
      Image: 'auto-dev:local',
      Cmd: ['serve', 'agent:pm'],
      HostConfig: { SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined', 'systempaths=unconfined'], Init: true },
    };
    const answer = await request('POST', '/v1.41/containers/create?name=autodev-check_pm_1', spec);
    expect(answer).toEqual({ status: 201, body: JSON.stringify({ Id: 'c0ffee', Warnings: [] }) });
    const create = received.at(-1) as Received;
    expect(create.url).toBe('/v1.41/containers/create?name=autodev-check_pm_1');
    expect(JSON.parse(create.body)).toEqual({
      ...spec,
      HostConfig: {
        SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
        Init: true,
        MaskedPaths: [],
        ReadonlyPaths: [],
      },
    });
    expect(create.headers['content-length']).toBe(String(Buffer.byteLength(create.body)));
    expect(proxyLog).toContain(
      'container autodev-check_pm_1: security_opt systempaths=unconfined sent as HostConfig.MaskedPaths [] and ReadonlyPaths []',
    );
  });

  it('passes a container without it through unchanged: Docker keeps its masked paths there', async () => {
    const body = {
      Image: 'auto-dev:local',
      HostConfig: { SecurityOpt: ['no-new-privileges'] },
    };
    await request('POST', '/containers/create?name=autodev-check_dashboard_1', body);
    const create = received.at(-1) as Received;
    expect(create.body).toBe(JSON.stringify(body));
    expect(proxyLog).not.toContain('autodev-check_dashboard_1');
  });

  it('passes every other request through, streamed answers too', async () => {
    const logs = await request('GET', '/v1.41/containers/c0ffee/logs?stdout=1&stderr=1');
    expect(logs).toEqual({ status: 200, body: 'line one\nline two\n' });
    expect(received.at(-1)).toMatchObject({ method: 'GET', url: '/v1.41/containers/c0ffee/logs?stdout=1&stderr=1' });
  });
});
