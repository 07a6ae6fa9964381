/**
 * The contract every publisher passes (Hono's pattern: one suite, many implementations). npm runs against a real
 * Verdaccio 6.8.0 registry; GitHub releases, Gumroad, Vercel and Apify against local stand-ins that speak their
 * documented APIs (test/support/publish/*-stand-in.ts), because those services cannot be reached from here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AutodevError } from '../../src/errors.js';
import { readProductDir, type Product } from '../../src/publish/product-dir.js';
import { memoryJournal, type PublishJournal } from '../../src/publish/publish-journal.js';
import { PUBLISHERS } from '../../src/publish/publisher-registry.js';
import {
  DEFAULT_ENDPOINTS,
  PUBLISH_TARGETS,
  type PlannedRequest,
  type PublishEndpoints,
  type Publisher,
  type PublishTarget,
} from '../../src/publish/publisher.js';
import { startApifyStandIn } from '../support/publish/apify-stand-in.js';
import { startGithubStandIn } from '../support/publish/github-stand-in.js';
import { startGumroadStandIn } from '../support/publish/gumroad-stand-in.js';
import { writeProductDir } from '../support/publish/product-fixture.js';
import type { LoggedRequest } from '../support/publish/stand-in-server.js';
import { startVercelStandIn } from '../support/publish/vercel-stand-in.js';
import { startVerdaccio, type Verdaccio } from '../support/publish/verdaccio.js';

/** A running counterpart of one publisher, fresh per test (the registry is shared, names never collide). */
interface Remote {
  endpoints: Partial<PublishEndpoints>;
  secrets: Record<string, string>;
  /** How many releases / versions / products / deployments / builds exist for the product. */
  published(product: Product): Promise<number>;
  /** Checks what was published is the product's content. */
  verify(product: Product, url: string): Promise<void>;
  /** Makes the next attempt fail part-way; returns the secrets that attempt should use. */
  failPartWay(): Record<string, string>;
  /** True when the failing attempt gets past at least one recorded step. */
  failsAfterASteps: boolean;
  /** Requests the remote received (undefined for the registry, whose log is not ours). */
  log: LoggedRequest[] | undefined;
  stop(): Promise<void>;
}

const TOKEN = 'canary-token-4f9d2c81a7e6';
let verdaccio: Verdaccio;
let npmToken: string;

const remotes: Record<PublishTarget, () => Promise<Remote>> = {
  npm: async () => ({
    endpoints: { npmRegistry: verdaccio.url },
    secrets: { 'npm/token': npmToken },
    async published(product) {
      const response = await fetch(`${verdaccio.url}${product.name}`, {
        headers: { authorization: `Bearer ${npmToken}` },
      });
      if (response.status === 404) return 0;
      return Object.keys(((await response.json()) as { versions: object }).versions).length;
    },
    async verify(product, url) {
      expect(url).toBe(`${verdaccio.url}${product.name}/${product.version}`);
      const doc = (await (await fetch(url, { headers: { authorization: `Bearer ${npmToken}` } })).json()) as {
        version: string;
        readme?: string;
        dist: { tarball: string };
      };
      expect(doc.version).toBe(product.version);
      const tarball = await fetch(doc.dist.tarball, { headers: { authorization: `Bearer ${npmToken}` } });
      expect(tarball.status).toBe(200);
    },
    failPartWay: () => ({ 'npm/token': 'not-the-token-0000' }),
    failsAfterASteps: false,
    log: undefined,
    stop: async () => undefined,
  }),
  github_release: async () => {
    const server = await startGithubStandIn({ token: TOKEN, repos: ['acme/text-kit'] });
    return {
      endpoints: { githubApi: server.url },
      secrets: { 'github/token': TOKEN },
      published: async () => server.releases.get('acme/text-kit')?.length ?? 0,
      async verify(product, url) {
        const [release] = server.releases.get('acme/text-kit') ?? [];
        expect(release?.draft).toBe(false);
        expect(url).toBe(`https://github.com/acme/text-kit/releases/tag/v${product.version}`);
        expect(release?.body).toBe(product.listings.github_release);
        const asset = release?.assets[0];
        expect(asset?.data).toEqual(
          fs.readFileSync(path.join(product.dir, `dist/${product.name}-${product.version}.zip`)),
        );
      },
      failPartWay() {
        server.failNext('POST', /\/assets$/, { status: 502, json: { message: 'Server Error' } });
        return { 'github/token': TOKEN };
      },
      failsAfterASteps: true,
      log: server.log,
      stop: () => server.close(),
    };
  },
  gumroad: async () => {
    const server = await startGumroadStandIn({ token: TOKEN });
    return {
      endpoints: { gumroadApi: server.url },
      secrets: { 'gumroad/access_token': TOKEN },
      published: async (product) => server.products.filter((p) => p.name === product.title).length,
      async verify(product, url) {
        const [p] = server.products;
        expect(p?.published).toBe(true);
        expect(url).toBe(`https://seller.gumroad.com/l/${p?.id}`);
        expect(p?.description).toBe(product.listings.gumroad);
        expect(p?.price).toBe(900);
        expect(p?.files.map((f) => f.name).sort()).toEqual(
          [`${product.name}-${product.version}.zip`, 'guide.pdf'].sort(),
        );
        const pdf = p?.files.find((f) => f.name === 'guide.pdf');
        expect(server.fileContent(pdf?.url ?? '')).toEqual(fs.readFileSync(path.join(product.dir, 'dist/guide.pdf')));
      },
      failPartWay() {
        server.failNext('POST', /^\/v2\/files\/complete$/, {
          status: 500,
          json: { success: false, message: 'Something broke.' },
        });
        return { 'gumroad/access_token': TOKEN };
      },
      failsAfterASteps: true,
      log: server.log,
      stop: () => server.close(),
    };
  },
  vercel: async () => {
    const server = await startVercelStandIn({ token: TOKEN });
    return {
      endpoints: { vercelApi: server.url },
      secrets: { 'vercel/token': TOKEN },
      published: async () => server.deployments.length,
      async verify(product, url) {
        const [d] = server.deployments;
        expect(url).toBe(`https://${d?.url}`);
        expect(d?.files.map((f) => f.file).sort()).toEqual(['assets/style.css', 'index.html']);
        for (const f of d?.files ?? []) {
          expect(server.blobs.get(f.sha)).toEqual(fs.readFileSync(path.join(product.dir, 'site', f.file)));
        }
      },
      failPartWay() {
        server.failNext('POST', /^\/v13\/deployments$/, {
          status: 500,
          json: { error: { code: 'internal_server_error', message: 'An unexpected error occurred' } },
        });
        return { 'vercel/token': TOKEN };
      },
      failsAfterASteps: true,
      log: server.log,
      stop: () => server.close(),
    };
  },
  apify: async () => {
    const server = await startApifyStandIn({ token: TOKEN });
    return {
      endpoints: { apifyApi: server.url },
      secrets: { 'apify/api_key': TOKEN },
      published: async () => server.builds.length,
      async verify(product, url) {
        const [build] = server.builds;
        expect(build?.status).toBe('SUCCEEDED');
        expect(url).toBe(`${server.url}/v2/actor-builds/${build?.id}`);
        const files = build?.actVersion.sourceFiles as { name: string; format: string; content: string }[];
        expect(files.map((f) => f.name)).toEqual(
          ['.actor/actor.json', 'icon.bin', 'main.js', 'README.md'].sort((a, b) => a.localeCompare(b)),
        );
        expect(files.find((f) => f.name === 'README.md')?.content).toBe(product.listings.apify);
        expect(files.find((f) => f.name === 'icon.bin')).toEqual({
          name: 'icon.bin',
          format: 'BASE64',
          content: Buffer.from([0, 1, 2, 255]).toString('base64'),
        });
      },
      failPartWay() {
        server.failNext('POST', /\/builds$/, {
          status: 503,
          json: { error: { type: 'server-overloaded', message: 'Server is overloaded' } },
        });
        return { 'apify/api_key': TOKEN };
      },
      failsAfterASteps: true,
      log: server.log,
      stop: () => server.close(),
    };
  },
};

beforeAll(async () => {
  verdaccio = await startVerdaccio();
  npmToken = await verdaccio.addUser('publisher', 'publisher-password-1');
});

afterAll(async () => {
  await verdaccio?.stop();
});

/**
 * Whether a plan request covers a request the remote received. The plan URL's query is dropped, `<placeholder>`
 * matches one path segment, `[...]` is optional, a leading `<origin>` matches any origin and path prefix, and a
 * URL that is a placeholder as a whole (a presigned URL the API hands out) covers only requests without our token.
 */
function covers(planned: PlannedRequest, sent: LoggedRequest): boolean {
  if (!planned.method.split(' or ').includes(sent.method)) return false;
  const sentPath = sent.url.split('?')[0] ?? '';
  const url = planned.url.split('?')[0] ?? '';
  if (/^<[^>]+>$/.test(url)) return sent.authorization === undefined;
  const anyPrefix = url.startsWith('<');
  const pathOnly = anyPrefix ? url.replace(/^<[^>]+>/, '') : url.replace(/^https?:\/\/[^/]+/, '');
  const pattern = pathOnly
    .split(/(<[^>]+>|\[|\])/)
    .map((part) => {
      if (part.startsWith('<')) return '[^/]+';
      if (part === '[') return '(?:';
      if (part === ']') return ')?';
      return part.replace(/[.*+?^${}()|\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${anyPrefix ? '.*' : ''}${pattern}$`).test(sentPath);
}

describe.each(PUBLISH_TARGETS)('publisher contract: %s', (target) => {
  const publisher: Publisher = PUBLISHERS[target];
  let remote: Remote | undefined;
  const cleanups: string[] = [];

  const setUp = async () => {
    remote = await remotes[target]();
    const fixture = writeProductDir();
    cleanups.push(fixture.dataDir);
    const product = await readProductDir(fixture.dir);
    const endpoints = { ...DEFAULT_ENDPOINTS, ...remote.endpoints };
    const journal = (): PublishJournal => memoryJournal({ product: product.name, version: product.version, target });
    return { remote, fixture, product, endpoints, journal };
  };

  afterEach(async () => {
    await remote?.stop();
    remote = undefined;
    for (const dir of cleanups.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is registered under its target and names its secrets', () => {
    expect(publisher.target).toBe(target);
    expect(publisher.secretNames.length).toBeGreaterThan(0);
  });

  it('plans exactly what it would send and sends nothing', async () => {
    const { remote, product, endpoints } = await setUp();
    const before = remote.log?.length;
    const plan = await publisher.plan(product, endpoints);
    expect(plan.target).toBe(target);
    expect(plan.secrets).toEqual([...publisher.secretNames]);
    expect(plan.requests.length).toBeGreaterThan(1);
    const endpoint = Object.values(remote.endpoints)[0] as string;
    expect(plan.requests.some((r) => r.url.startsWith(endpoint))).toBe(true);
    expect(plan.files.length).toBeGreaterThan(0);
    for (const file of plan.files) {
      const data = fs.readFileSync(path.join(product.dir, file.path));
      expect(file.size).toBe(data.length);
      expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    const text = JSON.stringify(plan);
    for (const secret of Object.values(remote.secrets)) expect(text).not.toContain(secret);
    expect(text).toContain(`<secret ${publisher.secretNames[0]}>`);
    expect(remote.log?.length).toBe(before);
    expect(await remote.published(product)).toBe(0);
  });

  it('publishes once and returns the URL of what it published; a retry (journal kept or lost) finds it', async () => {
    const { remote, product, endpoints, journal, fixture } = await setUp();
    const first = journal();
    const result = await publisher.publish(product, remote.secrets, { endpoints, journal: first });
    expect(result).toMatchObject({ target, status: 'published' });
    await remote.verify(product, result.url);
    expect(await remote.published(product)).toBe(1);
    // A retry with the same journal, and one after a crash lost it: nothing is published twice.
    for (const again of [first, journal()]) {
      const retry = await publisher.publish(product, remote.secrets, { endpoints, journal: again });
      expect(retry).toEqual({ target, status: 'already_published', url: result.url });
    }
    expect(await remote.published(product)).toBe(1);
    expect(fs.existsSync(fixture.scriptMarker)).toBe(false);
  });

  it('a failure part-way leaves a record of the done steps, and the retry finishes without publishing twice', async () => {
    const { remote, product, endpoints, journal } = await setUp();
    const record = journal();
    const error = await publisher.publish(product, remote.failPartWay(), { endpoints, journal: record }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AutodevError);
    expect((error as AutodevError).code).toBe('PUBLISH_FAILED');
    expect((error as AutodevError).message).toMatch(/^[a-z_]+(:\S+)?: /);
    if (remote.failsAfterASteps) expect(record.read().steps.length).toBeGreaterThan(0);
    const retry = await publisher.publish(product, remote.secrets, { endpoints, journal: record });
    expect(retry.status).toBe('published');
    await remote.verify(product, retry.url);
    expect(await remote.published(product)).toBe(1);
  });

  it('refuses without its secret and sends nothing', async () => {
    const { remote, product, endpoints, journal } = await setUp();
    const before = remote.log?.length;
    await expect(publisher.publish(product, {}, { endpoints, journal: journal() })).rejects.toMatchObject({
      code: 'PUBLISH_SECRET_MISSING',
    });
    expect(remote.log?.length).toBe(before);
  });

  it('a refused credential fails clearly without the credential in the error', async () => {
    const { remote, product, endpoints, journal } = await setUp();
    const wrong = Object.fromEntries(Object.keys(remote.secrets).map((name) => [name, 'wrong-credential-123456']));
    const error = (await publisher
      .publish(product, wrong, { endpoints, journal: journal() })
      .catch((e: unknown) => e)) as AutodevError;
    expect(error.code).toBe('PUBLISH_FAILED');
    expect(error.message).not.toContain('wrong-credential-123456');
    expect(await remote.published(product)).toBe(0);
  });

  it('sends only requests its plan lists, publishing and retrying (the dry run shows everything)', async () => {
    const { remote, product, endpoints, journal } = await setUp();
    const plan = await publisher.plan(product, endpoints);
    await publisher.publish(product, remote.secrets, { endpoints, journal: journal() });
    // And the retry that finds it (a fresh journal: every remote check runs).
    await publisher.publish(product, remote.secrets, { endpoints, journal: journal() });
    if (!remote.log) return expect(target).toBe('npm'); // npm's requests are the npm CLI's own
    for (const sent of remote.log) {
      const listed = plan.requests.some((planned) => covers(planned, sent));
      expect(listed, `${sent.method} ${sent.url} is not in the plan`).toBe(true);
    }
  });

  it('sends the credential only in the Authorization header, never in a URL', async () => {
    const { remote, product, endpoints, journal } = await setUp();
    await publisher.publish(product, remote.secrets, { endpoints, journal: journal() });
    if (!remote.log) return expect(target).toBe('npm'); // the registry's own log is checked in publish-product
    const secret = Object.values(remote.secrets)[0] ?? '';
    expect(remote.log.length).toBeGreaterThan(0);
    for (const request of remote.log) {
      expect(request.url).not.toContain(secret);
      // A presigned upload URL carries its own authorization; everything else carries ours.
      if (request.url.startsWith('/s3/')) expect(request.authorization).toBeUndefined();
      else expect(request.authorization).toMatch(new RegExp(`^(Bearer|token) ${secret}$`));
    }
  });
});
