/**
 * @module Deploys a product's site directory through the Vercel REST API: each file is uploaded by its SHA-1
 * (`POST /v2/files`, `x-vercel-digest`, raw body), then one deployment names them by path, sha and size
 * (`POST /v13/deployments`, target `production`, `VERCEL_LISTING.md` not sent: it is the human's summary). The
 * deployment carries `meta.autodevDigest`, a hash of every file's path, sha and size; the retry lists the project's
 * deployments (`GET /v6/deployments?app=`) and a live one with the same digest is `already_published`. Uploading a
 * file Vercel already has is harmless (it answers 200), so a retry may upload again but never deploys twice.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AutodevError } from '../errors.js';
import { sendRequest } from './http-client.js';
import { describeFile, listDirFiles, safeProductPath, type Product } from './product-dir.js';
import {
  joinUrl,
  secretPlaceholder,
  type PlannedFile,
  type PublishContext,
  type Publisher,
  type PublishEndpoints,
  type PublishPlan,
  type PublishResult,
} from './publisher.js';

export const VERCEL_TOKEN = 'vercel/token';

interface SiteFile {
  /** Path inside the site (what Vercel serves). */
  file: string;
  /** Path relative to the product directory. */
  source: string;
  sha: string;
  size: number;
}

function vercelConfig(product: Product) {
  const config = product.manifest.targets.vercel;
  if (!config) throw new AutodevError('PRODUCT_INVALID', `product ${product.name} has no vercel target`);
  return config;
}

async function siteFiles(product: Product): Promise<SiteFile[]> {
  const { dir } = vercelConfig(product);
  const root = await safeProductPath(product.dir, dir, 'dir');
  const files: SiteFile[] = [];
  for (const file of await listDirFiles(product.dir, dir)) {
    const data = await fs.readFile(path.join(root, file));
    files.push({
      file,
      source: `${dir}/${file}`,
      sha: createHash('sha1').update(data).digest('hex'),
      size: data.length,
    });
  }
  if (files.length === 0) throw new AutodevError('PRODUCT_INVALID', `product ${product.name}: ${dir} has no files`);
  return files;
}

/** One hash of the whole deployment's content: the same files give the same digest. */
export function deploymentDigest(files: readonly SiteFile[]): string {
  const lines = files.map((f) => `${f.file}\t${f.sha}\t${f.size}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

const api = (endpoints: PublishEndpoints, route: string) => joinUrl(endpoints.vercelApi, route);

interface Deployment {
  uid?: string;
  id?: string;
  url: string;
  state?: string;
  readyState?: string;
  meta?: Record<string, string>;
}

export const vercelPublisher: Publisher = {
  target: 'vercel',
  secretNames: [VERCEL_TOKEN],

  async plan(product: Product, endpoints: PublishEndpoints): Promise<PublishPlan> {
    const { project } = vercelConfig(product);
    const files = await siteFiles(product);
    const auth = `Bearer ${secretPlaceholder(VERCEL_TOKEN)}`;
    const planned: PlannedFile[] = await Promise.all(files.map((f) => describeFile(product, f.source)));
    return {
      target: 'vercel',
      secrets: [VERCEL_TOKEN],
      requests: [
        {
          method: 'GET',
          url: api(endpoints, `v6/deployments?app=${encodeURIComponent(project)}&limit=100`),
          body: { auth },
          note: `a live deployment with meta.autodevDigest ${deploymentDigest(files)} means nothing is sent`,
        },
        ...files.map((f) => ({
          method: 'POST',
          url: api(endpoints, 'v2/files'),
          body: { 'x-vercel-digest': f.sha, 'content-length': f.size, file: f.source, auth },
        })),
        {
          method: 'POST',
          url: api(endpoints, 'v13/deployments'),
          body: {
            name: project,
            project,
            target: 'production',
            files: files.map((f) => ({ file: f.file, sha: f.sha, size: f.size })),
            meta: {
              autodevProduct: product.name,
              autodevVersion: product.version,
              autodevDigest: deploymentDigest(files),
            },
            auth,
          },
        },
      ],
      files: planned,
    };
  },

  async publish(product, secrets, context: PublishContext): Promise<PublishResult> {
    const token = secrets[VERCEL_TOKEN];
    if (!token) throw new AutodevError('PUBLISH_SECRET_MISSING', `vercel: the secret ${VERCEL_TOKEN} is not set`);
    const { project } = vercelConfig(product);
    const { endpoints, signal } = context;
    const files = await siteFiles(product);
    const digest = deploymentDigest(files);
    const listed = await sendRequest({
      step: 'find_deployment',
      method: 'GET',
      url: api(endpoints, `v6/deployments?app=${encodeURIComponent(project)}&limit=100`),
      token,
      signal,
    });
    const deployments = ((listed.json as { deployments?: Deployment[] } | null)?.deployments ?? []) as Deployment[];
    const live = deployments.find(
      (d) => d.meta?.autodevDigest === digest && !['ERROR', 'CANCELED'].includes(d.state ?? d.readyState ?? ''),
    );
    if (live) return { target: 'vercel', status: 'already_published', url: `https://${live.url}` };
    const root = await safeProductPath(product.dir, vercelConfig(product).dir, 'dir');
    for (const f of files) {
      await context.journal.step(`upload_file:${f.sha}`, async () => {
        const data = await fs.readFile(path.join(root, f.file));
        if (createHash('sha1').update(data).digest('hex') !== f.sha) {
          throw new AutodevError('PUBLISH_FAILED', `upload_file: ${f.source} changed while it was being published`);
        }
        await sendRequest({
          step: `upload_file:${f.file}`,
          method: 'POST',
          url: api(endpoints, 'v2/files'),
          token,
          signal,
          body: data,
          headers: {
            'content-type': 'application/octet-stream',
            'x-vercel-digest': f.sha,
            'content-length': String(f.size),
          },
        });
        return { file: f.file, sha: f.sha };
      });
    }
    const deployment = await context.journal.step('create_deployment', async () => {
      const created = await sendRequest({
        step: 'create_deployment',
        method: 'POST',
        url: api(endpoints, 'v13/deployments'),
        token,
        signal,
        json: {
          name: project,
          project,
          target: 'production',
          files: files.map((f) => ({ file: f.file, sha: f.sha, size: f.size })),
          meta: { autodevProduct: product.name, autodevVersion: product.version, autodevDigest: digest },
        },
      });
      const d = created.json as Deployment;
      return { id: d.id ?? d.uid ?? '', url: `https://${d.url}` };
    });
    return { target: 'vercel', status: 'published', url: deployment.url };
  },
};
