/**
 * @module Publishes a GitHub release with assets through `@octokit/rest` (`baseUrl` from the endpoints, so GitHub
 * Enterprise or a stand-in work alike): the release is created as a draft with the `GITHUB_RELEASE.md` listing as
 * its notes, each asset is uploaded to the release's own `upload_url`, then the draft is published. Idempotent: the
 * release is found by its tag among the repository's releases (drafts included), an asset already attached is not
 * uploaded again, and a published release with every asset is `already_published`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Octokit } from '@octokit/rest';
import { AutodevError } from '../errors.js';
import { describeFile, safeProductPath, type Product } from './product-dir.js';
import {
  joinUrl,
  secretPlaceholder,
  type PublishContext,
  type Publisher,
  type PublishEndpoints,
  type PublishPlan,
  type PublishResult,
} from './publisher.js';

export const GITHUB_TOKEN = 'github/token';

interface ReleaseConfig {
  owner: string;
  repo: string;
  tag: string;
  assets: string[];
}

function releaseConfig(product: Product): ReleaseConfig {
  const config = product.manifest.targets.github_release;
  if (!config) throw new AutodevError('PRODUCT_INVALID', `product ${product.name} has no github_release target`);
  const names = config.assets.map((asset) => path.basename(asset));
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate) {
    throw new AutodevError('PRODUCT_INVALID', `product ${product.name}: two release assets are named "${duplicate}"`);
  }
  return { owner: config.owner, repo: config.repo, tag: config.tag ?? `v${product.version}`, assets: config.assets };
}

interface ReleaseState {
  id: number;
  draft: boolean;
  html_url: string;
  upload_url: string;
  assets: string[];
}

function octokitFor(token: string, endpoints: PublishEndpoints, signal?: AbortSignal): Octokit {
  const silent = () => undefined;
  return new Octokit({
    auth: token,
    baseUrl: endpoints.githubApi.replace(/\/+$/, ''),
    userAgent: 'auto-dev-publisher',
    log: { debug: silent, info: silent, warn: silent, error: silent },
    request: signal ? { signal } : {},
  });
}

/** Octokit's errors carry the request (with its authorization header): only the status and message go on. */
async function github<T>(step: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    const message = (error as Error).message.split('\n')[0] ?? 'failed';
    throw new AutodevError('PUBLISH_FAILED', `${step}: GitHub answered ${String(status ?? 'no status')}: ${message}`);
  }
}

async function findRelease(octokit: Octokit, config: ReleaseConfig): Promise<ReleaseState | undefined> {
  const releases = await github('find_release', () =>
    octokit.paginate(octokit.rest.repos.listReleases, { owner: config.owner, repo: config.repo, per_page: 100 }),
  );
  const release = releases.find((r) => r.tag_name === config.tag);
  if (!release) return undefined;
  return {
    id: release.id,
    draft: release.draft,
    html_url: release.html_url,
    upload_url: release.upload_url,
    assets: release.assets.map((asset) => asset.name),
  };
}

export const githubReleasePublisher: Publisher = {
  target: 'github_release',
  secretNames: [GITHUB_TOKEN],

  async plan(product: Product, endpoints: PublishEndpoints): Promise<PublishPlan> {
    const config = releaseConfig(product);
    const repoUrl = joinUrl(endpoints.githubApi, `repos/${config.owner}/${config.repo}`);
    const auth = `token ${secretPlaceholder(GITHUB_TOKEN)}`;
    return {
      target: 'github_release',
      secrets: [GITHUB_TOKEN],
      requests: [
        { method: 'GET', url: `${repoUrl}/releases?per_page=100`, note: `find the release tagged ${config.tag}` },
        {
          method: 'POST',
          url: `${repoUrl}/releases`,
          body: {
            tag_name: config.tag,
            name: `${product.title} ${product.version}`,
            body: 'GITHUB_RELEASE.md',
            draft: true,
            auth,
          },
          note: 'only if no release has the tag',
        },
        ...config.assets.map((asset) => ({
          method: 'POST',
          url: `<upload_url origin>/repos/${config.owner}/${config.repo}/releases/<id>/assets?name=${encodeURIComponent(path.basename(asset))}`,
          body: { file: asset, auth },
          note: 'only if the release has no asset of that name',
        })),
        {
          method: 'PATCH',
          url: `${repoUrl}/releases/<id>`,
          body: { draft: false, auth },
          note: 'only if still a draft',
        },
      ],
      files: await Promise.all(config.assets.map((asset) => describeFile(product, asset))),
    };
  },

  async publish(product, secrets, context: PublishContext): Promise<PublishResult> {
    const token = secrets[GITHUB_TOKEN];
    if (!token)
      throw new AutodevError('PUBLISH_SECRET_MISSING', `github_release: the secret ${GITHUB_TOKEN} is not set`);
    const config = releaseConfig(product);
    const octokit = octokitFor(token, context.endpoints, context.signal);
    const { owner, repo } = config;
    const found = await findRelease(octokit, config);
    const complete = (r: ReleaseState) => config.assets.every((asset) => r.assets.includes(path.basename(asset)));
    if (found && !found.draft && complete(found)) {
      return { target: 'github_release', status: 'already_published', url: found.html_url };
    }
    const release =
      found ??
      (await context.journal.step('create_release', async () => {
        const created = await github('create_release', () =>
          octokit.rest.repos.createRelease({
            owner,
            repo,
            tag_name: config.tag,
            name: `${product.title} ${product.version}`,
            body: product.listings.github_release ?? product.readme,
            draft: true,
          }),
        );
        const r = created.data;
        return { id: r.id, draft: r.draft, html_url: r.html_url, upload_url: r.upload_url, assets: [] } as ReleaseState;
      }));
    for (const asset of config.assets) {
      const name = path.basename(asset);
      if (release.assets.includes(name)) continue;
      await context.journal.step(`upload_asset:${name}`, async () => {
        const data = await fs.readFile(await safeProductPath(product.dir, asset));
        const uploaded = await github(`upload_asset:${name}`, () =>
          octokit.request({
            method: 'POST',
            url: release.upload_url,
            name,
            data,
            headers: { 'content-type': 'application/octet-stream', 'content-length': data.length },
          }),
        );
        return { id: (uploaded.data as { id: number }).id, name };
      });
    }
    if (!found || found.draft) {
      const published = await context.journal.step('publish_release', async () => {
        const updated = await github('publish_release', () =>
          octokit.rest.repos.updateRelease({ owner, repo, release_id: release.id, draft: false }),
        );
        return { html_url: updated.data.html_url };
      });
      return { target: 'github_release', status: 'published', url: published.html_url };
    }
    return { target: 'github_release', status: 'published', url: release.html_url };
  },
};
