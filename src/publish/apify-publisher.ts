/**
 * @module Publishes an Apify actor through the Apify API v2 (`Authorization: Bearer`): the actor is found among the
 * account's own actors by name (`GET /v2/acts?my=1`) or created (`POST /v2/acts`); the version `<major>.<minor>` of
 * the product's version is created or updated with the actor directory as source files (`SOURCE_FILES`, text or
 * base64, `APIFY_LISTING.md` as its README), then built (`POST /v2/acts/:id/builds?version=&tag=latest`). Idempotent:
 * a version whose source is already ours is not written again, and when the newest build of that version was built
 * from exactly this source (`GET /v2/actor-builds/:id`, its `actVersion.sourceFiles`) and did not fail, nothing is
 * built: `already_published`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { AutodevError } from '../errors.js';
import { sendRequest } from './http-client.js';
import { describeFile, listDirFiles, safeProductPath, type Product } from './product-dir.js';
import {
  joinUrl,
  secretPlaceholder,
  type PublishContext,
  type Publisher,
  type PublishEndpoints,
  type PublishPlan,
  type PublishResult,
} from './publisher.js';

export const APIFY_TOKEN = 'apify/api_key';
/** How long the build request waits for the build to finish (the API's maximum is 60 s). */
const WAIT_FOR_FINISH_S = 60;
const FAILED_BUILD = ['FAILED', 'ABORTED', 'ABORTING', 'TIMED-OUT', 'TIMING-OUT'];

interface SourceFile {
  name: string;
  format: 'TEXT' | 'BASE64';
  content: string;
}

function apifyConfig(product: Product) {
  const config = product.manifest.targets.apify;
  if (!config) throw new AutodevError('PRODUCT_INVALID', `product ${product.name} has no apify target`);
  return config;
}

/** `1.2.3` -> `1.2` (Apify versions are major.minor). */
export function actorVersion(version: string): string {
  const [major, minor] = version.split('.');
  return `${major}.${minor}`;
}

async function sourceFiles(product: Product): Promise<SourceFile[]> {
  const { dir } = apifyConfig(product);
  const root = await safeProductPath(product.dir, dir, 'dir');
  const files: SourceFile[] = [];
  for (const file of await listDirFiles(product.dir, dir)) {
    if (/^readme\.md$/i.test(file)) continue;
    const data = await fs.readFile(path.join(root, file));
    const text = data.toString('utf8');
    files.push(
      Buffer.from(text, 'utf8').equals(data) && !text.includes('\0')
        ? { name: file, format: 'TEXT', content: text }
        : { name: file, format: 'BASE64', content: data.toString('base64') },
    );
  }
  files.push({ name: 'README.md', format: 'TEXT', content: product.listings.apify ?? product.readme });
  return files.sort((a, b) => a.name.localeCompare(b.name));
}

const sameSource = (a: unknown, b: readonly SourceFile[]) =>
  Array.isArray(a) &&
  isDeepStrictEqual(
    [...(a as SourceFile[])]
      .map((f) => ({ name: f.name, format: f.format, content: f.content }))
      .sort((x, y) => x.name.localeCompare(y.name)),
    b,
  );

const api = (endpoints: PublishEndpoints, route: string) => joinUrl(endpoints.apifyApi, `v2/${route}`);
const data = <T>(json: unknown) => (json as { data: T }).data;

interface Build {
  id: string;
  status: string;
  buildNumber: string;
}

function buildUrl(endpoints: PublishEndpoints, actorId: string, build: Build): string {
  if (new URL(endpoints.apifyApi).host === 'api.apify.com') {
    return `https://console.apify.com/actors/${actorId}/builds/${build.buildNumber}`;
  }
  return api(endpoints, `actor-builds/${build.id}`);
}

export const apifyPublisher: Publisher = {
  target: 'apify',
  secretNames: [APIFY_TOKEN],

  async plan(product: Product, endpoints: PublishEndpoints): Promise<PublishPlan> {
    const { actor, dir } = apifyConfig(product);
    const version = actorVersion(product.version);
    const auth = `Bearer ${secretPlaceholder(APIFY_TOKEN)}`;
    const sources = await sourceFiles(product);
    const files = await Promise.all(
      sources.map((f) =>
        f.name === 'README.md' ? describeFile(product, 'APIFY_LISTING.md') : describeFile(product, `${dir}/${f.name}`),
      ),
    );
    return {
      target: 'apify',
      secrets: [APIFY_TOKEN],
      requests: [
        {
          method: 'GET',
          url: api(endpoints, 'acts?my=1&limit=1000'),
          body: { auth },
          note: `find the actor "${actor}"`,
        },
        {
          method: 'POST',
          url: api(endpoints, 'acts'),
          body: { name: actor, title: product.title, auth },
          note: 'only if none',
        },
        {
          method: 'GET',
          url: api(endpoints, `acts/<actor id>/versions/${version}`),
          body: { auth },
          note: 'unchanged source: not written again',
        },
        {
          method: 'GET',
          url: api(endpoints, 'acts/<actor id>/builds?desc=1&limit=100'),
          body: { auth },
          note: 'only when the version is unchanged: its newest build',
        },
        {
          method: 'GET',
          url: api(endpoints, 'actor-builds/<build id>'),
          body: { auth },
          note: 'built from exactly this source and not failed: nothing is written or built',
        },
        {
          method: 'POST or PUT',
          url: api(endpoints, `acts/<actor id>/versions[/${version}]`),
          body: {
            versionNumber: version,
            sourceType: 'SOURCE_FILES',
            buildTag: 'latest',
            sourceFiles: sources.map((f) => `${f.name} (${f.format})`),
            auth,
          },
        },
        {
          method: 'POST',
          url: api(
            endpoints,
            `acts/<actor id>/builds?version=${version}&tag=latest&waitForFinish=${WAIT_FOR_FINISH_S}`,
          ),
          body: { auth },
          note: "only if the version's newest build is not of this source",
        },
      ],
      files,
    };
  },

  async publish(product, secrets, context: PublishContext): Promise<PublishResult> {
    const token = secrets[APIFY_TOKEN];
    if (!token) throw new AutodevError('PUBLISH_SECRET_MISSING', `apify: the secret ${APIFY_TOKEN} is not set`);
    const { actor } = apifyConfig(product);
    const { endpoints, signal } = context;
    const version = actorVersion(product.version);
    const sources = await sourceFiles(product);
    const listed = await sendRequest({
      step: 'find_actor',
      method: 'GET',
      url: api(endpoints, 'acts?my=1&limit=1000'),
      token,
      signal,
    });
    const found = data<{ items: { id: string; name: string }[] }>(listed.json).items.find((a) => a.name === actor);
    const actorId =
      found?.id ??
      (
        await context.journal.step('create_actor', async () => {
          const created = await sendRequest({
            step: 'create_actor',
            method: 'POST',
            url: api(endpoints, 'acts'),
            token,
            signal,
            json: { name: actor, title: product.title, description: product.summary, isPublic: false },
          });
          return { id: data<{ id: string }>(created.json).id };
        })
      ).id;
    const actorPath = `acts/${encodeURIComponent(actorId)}`;
    const existing = await sendRequest(
      { step: 'find_version', method: 'GET', url: api(endpoints, `${actorPath}/versions/${version}`), token, signal },
      [404],
    );
    const current = existing.status === 404 ? null : data<{ sourceFiles?: unknown }>(existing.json);
    if (current && sameSource(current.sourceFiles, sources)) {
      const builds = await sendRequest({
        step: 'find_build',
        method: 'GET',
        url: api(endpoints, `${actorPath}/builds?desc=1&limit=100`),
        token,
        signal,
      });
      const newest = data<{ items: Build[] }>(builds.json).items.find((b) => b.buildNumber.startsWith(`${version}.`));
      if (newest && !FAILED_BUILD.includes(newest.status)) {
        const detail = await sendRequest({
          step: 'find_build',
          method: 'GET',
          url: api(endpoints, `actor-builds/${encodeURIComponent(newest.id)}`),
          token,
          signal,
        });
        const built = data<{ actVersion?: { sourceFiles?: unknown } }>(detail.json);
        if (sameSource(built.actVersion?.sourceFiles, sources)) {
          return { target: 'apify', status: 'already_published', url: buildUrl(endpoints, actorId, newest) };
        }
      }
    } else {
      const body = { versionNumber: version, sourceType: 'SOURCE_FILES', buildTag: 'latest', sourceFiles: sources };
      await sendRequest({
        step: 'write_version',
        method: current ? 'PUT' : 'POST',
        url: api(endpoints, current ? `${actorPath}/versions/${version}` : `${actorPath}/versions`),
        token,
        signal,
        json: body,
      });
    }
    const build = await context.journal.step(`build:${version}`, async () => {
      const started = await sendRequest({
        step: 'build',
        method: 'POST',
        url: api(endpoints, `${actorPath}/builds?version=${version}&tag=latest&waitForFinish=${WAIT_FOR_FINISH_S}`),
        token,
        signal,
      });
      const b = data<Build>(started.json);
      if (FAILED_BUILD.includes(b.status)) {
        throw new AutodevError(
          'PUBLISH_FAILED',
          `build: the Apify build ${b.id} of version ${version} ended ${b.status}`,
        );
      }
      return { id: b.id, status: b.status, buildNumber: b.buildNumber };
    });
    return { target: 'apify', status: 'published', url: buildUrl(endpoints, actorId, build) };
  },
};
