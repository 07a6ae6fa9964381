/**
 * @module Serves the built dashboard (web/dist) at `/`: files under `/assets/`, and `index.html` for the app's own
 * paths (an SPA fallback limited to the dashboard's routes, so `/api` keeps its own 401/404 answers). Never reads
 * outside the web root.
 */
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { findPackageRoot } from '../../config/package-root.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The dashboard's client-side paths; each answers index.html. */
export const APP_PATHS = [
  '/',
  '/login',
  '/tasks',
  '/tasks/*',
  '/sessions/*',
  '/instructions',
  '/approvals',
  '/repos',
  '/swarm',
  '/schedules',
  '/stories',
  '/stories/*',
  '/memory',
  '/projects',
  '/projects/*',
  '/costs',
] as const;

/** web/dist of this package, from the source tree, the module build (dist/src) or the CLI bundle (dist/cli). */
export function defaultWebRoot(): string {
  return path.join(findPackageRoot(), 'web', 'dist');
}

export interface WebOptions {
  root: string;
}

export const webPlugin: FastifyPluginAsync<WebOptions> = async (app, { root }) => {
  const webRoot = path.resolve(root);

  const sendFile = async (reply: FastifyReply, file: string, cache: string) => {
    const body = await fs.readFile(file);
    return reply
      .code(200)
      .header('content-type', CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream')
      .header('cache-control', cache)
      .header('x-content-type-options', 'nosniff')
      .send(body);
  };

  const sendIndex = async (reply: FastifyReply) => {
    const index = path.join(webRoot, 'index.html');
    if (!existsSync(index)) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The dashboard is not built: run "npm run build:web" (the API under /api works without it).\n');
    }
    reply.header(
      'content-security-policy',
      "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    );
    return sendFile(reply, index, 'no-cache');
  };

  for (const url of APP_PATHS) {
    app.get(url, { schema: { hide: true } }, async (_request, reply) => sendIndex(reply));
  }

  // Built files: hashed names under /assets, plus the few files at the root of web/dist.
  const serveStatic = async (relative: string, reply: FastifyReply, cache: string) => {
    const file = path.resolve(webRoot, relative);
    // Refuse anything that resolves outside web/dist (`..`, encoded slashes, absolute paths).
    if (!file.startsWith(webRoot + path.sep) || relative.includes('\0')) return reply.callNotFound();
    try {
      const stat = await fs.stat(file);
      if (!stat.isFile()) return reply.callNotFound();
    } catch {
      return reply.callNotFound();
    }
    return sendFile(reply, file, cache);
  };
  app.get<{ Params: { '*': string } }>('/assets/*', { schema: { hide: true } }, async (request, reply) =>
    serveStatic(path.join('assets', request.params['*']), reply, 'public, max-age=31536000, immutable'),
  );
  app.get('/favicon.svg', { schema: { hide: true } }, async (_request, reply) =>
    serveStatic('favicon.svg', reply, 'public, max-age=3600'),
  );
};
