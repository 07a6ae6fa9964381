/**
 * @module Stand-in for the Vercel REST API's deployments (vercel.com cannot be reached from here), as documented:
 * `POST /v2/files` (raw body, `x-vercel-digest` = its SHA-1, checked), `POST /v13/deployments` (files by path, sha
 * and size; 400 `missing_files` naming the shas not uploaded), `GET /v6/deployments?app=` (`{deployments,
 * pagination}`). Bearer token; anything else is 403 `forbidden` with `invalidToken`.
 */
import { createHash } from 'node:crypto';
import { credential, startStandIn, type StandInRequest, type StandInServer } from './stand-in-server.js';

interface Deployment {
  uid: string;
  name: string;
  url: string;
  state: string;
  created: number;
  meta: Record<string, string>;
  files: { file: string; sha: string; size: number }[];
}

export interface VercelStandIn extends StandInServer {
  blobs: Map<string, Buffer>;
  deployments: Deployment[];
  created: () => number;
}

export async function startVercelStandIn(options: { token: string }): Promise<VercelStandIn> {
  const blobs = new Map<string, Buffer>();
  const deployments: Deployment[] = [];
  let next = 1;
  const error = (status: number, code: string, message: string, extra: object = {}) => ({
    status,
    json: { error: { code, message, ...extra } },
  });
  const authed = (handle: (req: StandInRequest) => { status: number; json?: unknown }) => (req: StandInRequest) =>
    credential(req) === options.token ? handle(req) : error(403, 'forbidden', 'Not authorized', { invalidToken: true });
  const server = await startStandIn(() => [
    [
      'POST',
      /^\/v2\/files$/,
      authed((req) => {
        const digest = String(req.headers['x-vercel-digest'] ?? '');
        if (createHash('sha1').update(req.raw).digest('hex') !== digest) {
          return error(400, 'incorrect_file_sha', 'The file SHA1 does not match the uploaded content');
        }
        if (Number(req.headers['content-length']) !== req.raw.length)
          return error(400, 'bad_request', 'Content-Length mismatch');
        blobs.set(digest, req.raw);
        return { status: 200, json: {} };
      }),
    ],
    [
      'POST',
      /^\/v13\/deployments$/,
      authed((req) => {
        const body = (req.json ?? {}) as {
          name?: string;
          files?: { file: string; sha: string; size: number }[];
          meta?: Record<string, string>;
        };
        if (!body.name || !Array.isArray(body.files)) return error(400, 'bad_request', 'name and files are required');
        const missing = body.files.filter((f) => !blobs.has(f.sha)).map((f) => f.sha);
        if (missing.length > 0) return error(400, 'missing_files', 'Missing files', { missing });
        const id = next++;
        const deployment: Deployment = {
          uid: `dpl_${id}`,
          name: body.name,
          url: `${body.name}-${id}.vercel.app`,
          state: 'READY',
          created: Date.now(),
          meta: body.meta ?? {},
          files: body.files,
        };
        deployments.unshift(deployment);
        return {
          status: 200,
          json: {
            id: deployment.uid,
            url: deployment.url,
            name: deployment.name,
            readyState: 'READY',
            meta: deployment.meta,
          },
        };
      }),
    ],
    [
      'GET',
      /^\/v6\/deployments$/,
      authed((req) => {
        const app = req.query.get('app');
        const list = deployments.filter((d) => !app || d.name === app).slice(0, Number(req.query.get('limit') ?? 20));
        return {
          status: 200,
          json: {
            deployments: list.map(({ uid, name, url, state, created, meta }) => ({
              uid,
              name,
              url,
              state,
              created,
              meta,
            })),
            pagination: { count: list.length, next: null, prev: null },
          },
        };
      }),
    ],
  ]);
  return Object.assign(server, { blobs, deployments, created: () => deployments.length });
}
