/**
 * @module Bare git repositories served over real smart HTTP: a node http server hands each request to
 * `git http-backend` (the CGI git ships), so clone, fetch and push in tests are the real protocol. Basic auth with a
 * token as the password (any user name, as GitLab and GitHub accept); the forge stand-ins mount the same handler
 * under their own paths.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface GitHttpOptions {
  /** The directory holding the bare repositories (`<root>/<group>/<name>.git`). */
  root: string;
  /** Tokens that may read and push; a request without one of them gets 401. */
  tokens: ReadonlySet<string> | (() => ReadonlySet<string>);
  /** Tokens that may read but not push (403 on `git-receive-pack`). */
  readOnlyTokens?: ReadonlySet<string>;
}

/** The token of a request's `Authorization: Basic user:token` (or `Bearer token`), if any. */
export function requestToken(req: http.IncomingMessage): string | undefined {
  const header = req.headers.authorization ?? '';
  const basic = /^Basic\s+(.+)$/i.exec(header);
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  const bearer = /^Bearer\s+(.+)$/i.exec(header);
  return bearer?.[1];
}

/** Whether the request is for git's smart HTTP (`/<path>.git/info/refs`, `git-upload-pack`, `git-receive-pack`). */
export function isGitRequest(url: string): boolean {
  const pathname = url.split('?')[0] ?? '';
  return /\.git\/(info\/refs|git-upload-pack|git-receive-pack|HEAD|objects\/)/.test(pathname);
}

/** Answers one smart-HTTP request through `git http-backend`. */
export function handleGitRequest(req: http.IncomingMessage, res: http.ServerResponse, options: GitHttpOptions): void {
  const url = new URL(req.url ?? '/', 'http://git.invalid');
  const token = requestToken(req);
  const tokens = typeof options.tokens === 'function' ? options.tokens() : options.tokens;
  const readOnly = token !== undefined && (options.readOnlyTokens?.has(token) ?? false);
  if (token === undefined || (!tokens.has(token) && !readOnly)) {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="git"', 'content-type': 'text/plain' });
    res.end('HTTP Basic: Access denied\n');
    return;
  }
  const pushing = url.pathname.endsWith('/git-receive-pack') || url.searchParams.get('service') === 'git-receive-pack';
  if (pushing && readOnly) {
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('You are not allowed to push code to this project.\n');
    return;
  }
  const repoPath = url.pathname.slice(0, url.pathname.indexOf('.git/') + 4);
  if (repoPath.includes('..') || !fs.existsSync(path.join(options.root, repoPath))) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('Repository not found.\n');
    return;
  }
  const backend = spawn('git', ['http-backend'], {
    env: {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: options.root,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(url.pathname),
      REQUEST_METHOD: req.method ?? 'GET',
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
      ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
      ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      REMOTE_USER: 'token-user',
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: options.root,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  req.pipe(backend.stdin);
  backend.stdin.on('error', () => undefined);
  let head = Buffer.alloc(0);
  let headersDone = false;
  backend.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    headersDone = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'status') status = Number.parseInt(value, 10);
      else headers[name] = value;
    }
    res.writeHead(status, headers);
    res.write(head.subarray(end + 4));
  });
  let stderr = '';
  backend.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  backend.on('close', (code) => {
    if (!headersDone) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`git http-backend failed (${code}): ${stderr}`);
      return;
    }
    res.end();
  });
}

export interface GitHttpServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  root: string;
  close(): Promise<void>;
}

/** A standalone git server over `root` (the stand-ins serve git from their own port instead). */
export async function startGitHttpServer(options: GitHttpOptions): Promise<GitHttpServer> {
  const server = http.createServer((req, res) => {
    if (isGitRequest(req.url ?? '')) handleGitRequest(req, res, options);
    else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    root: options.root,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
