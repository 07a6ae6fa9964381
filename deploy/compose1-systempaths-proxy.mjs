#!/usr/bin/env node
/**
 * @module For Debian's docker-compose 1.29 only (deploy/check-local-stack.sh starts it; Compose v2 never needs it).
 * `security_opt: systempaths=unconfined` is not a daemon option: the docker CLI (and Compose v2) translate it into
 * `HostConfig.MaskedPaths: []` and `HostConfig.ReadonlyPaths: []` before creating the container, and the daemon refuses
 * the raw string ("invalid --security-opt 2"), which is what docker-compose 1.29 sends. This proxy sits between
 * docker-compose 1.29 and the Docker socket and makes exactly that translation on `POST /containers/create`, nothing
 * else: every other request, and every other option, passes through unchanged. It prints each translation to stderr.
 *
 *   node deploy/compose1-systempaths-proxy.mjs LISTEN_SOCKET [DOCKER_SOCKET (default /var/run/docker.sock)]
 *   DOCKER_HOST=unix://LISTEN_SOCKET docker-compose ... up -d
 */
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import process from 'node:process';
import { URL } from 'node:url';

const [listenPath, dockerPath = '/var/run/docker.sock'] = process.argv.slice(2);
if (!listenPath) {
  process.stderr.write('usage: compose1-systempaths-proxy.mjs LISTEN_SOCKET [DOCKER_SOCKET]\n');
  process.exit(2);
}

const CREATE = /^\/(?:v[0-9.]+\/)?containers\/create(?:\?|$)/;
const UNCONFINED = 'systempaths=unconfined';
const say = (line) => process.stderr.write(`compose-1.29 proxy: ${line}\n`);

/** The create request's body with `systempaths=unconfined` translated as the docker CLI does; null: unchanged. */
function translated(url, body) {
  let spec;
  try {
    spec = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  const options = spec?.HostConfig?.SecurityOpt;
  if (!Array.isArray(options) || !options.includes(UNCONFINED)) return null;
  spec.HostConfig.SecurityOpt = options.filter((option) => option !== UNCONFINED);
  spec.HostConfig.MaskedPaths = [];
  spec.HostConfig.ReadonlyPaths = [];
  const name = new URL(url, 'http://docker').searchParams.get('name') ?? '(unnamed)';
  say(
    `container ${name}: security_opt ${UNCONFINED} sent as HostConfig.MaskedPaths [] and ReadonlyPaths [] ` +
      `(what the docker CLI v2 sends); its other security options as written: ${JSON.stringify(spec.HostConfig.SecurityOpt)}`,
  );
  return Buffer.from(JSON.stringify(spec));
}

function forward(req, res, body) {
  const headers = { ...req.headers };
  if (body) {
    delete headers['transfer-encoding'];
    headers['content-length'] = String(body.length);
  }
  const upstream = http.request({ socketPath: dockerPath, method: req.method, path: req.url, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', (error) => {
    say(`${req.method} ${req.url}: ${error.message}`);
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`proxy: ${error.message}\n`);
  });
  if (body) upstream.end(body);
  else req.pipe(upstream);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || !CREATE.test(req.url ?? '')) return forward(req, res, null);
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    forward(req, res, translated(req.url ?? '', body) ?? body);
  });
});

// attach / exec hijack the connection (Upgrade: tcp): raw bytes both ways.
server.on('upgrade', (req, socket, head) => {
  const upstream = net.connect(dockerPath, () => {
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  const close = () => {
    upstream.destroy();
    socket.destroy();
  };
  upstream.on('error', close);
  socket.on('error', close);
});

fs.rmSync(listenPath, { force: true });
server.listen(listenPath, () => say(`listening on ${listenPath}, forwarding to ${dockerPath}`));
for (const signal of ['SIGTERM', 'SIGINT'])
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
