/**
 * `publishProduct`, the deterministic publish step, on all five targets at once: npm to a real Verdaccio 6.8.0,
 * the others to stand-ins of their documented APIs (GitHub, Gumroad, Vercel and Apify cannot be reached from here).
 * Canary secrets are read through `readSecret` and must never appear in the result, the journals or the registry's
 * storage; a part-way failure and a missing secret leave a partial result a retry completes without publishing twice.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishProduct } from '../../src/publish/publish-product.js';
import { SecretMasker } from '../../src/secrets/secret-masker.js';
import { startApifyStandIn, type ApifyStandIn } from '../support/publish/apify-stand-in.js';
import { startGithubStandIn, type GithubStandIn } from '../support/publish/github-stand-in.js';
import { startGumroadStandIn, type GumroadStandIn } from '../support/publish/gumroad-stand-in.js';
import { writeProductDir } from '../support/publish/product-fixture.js';
import { startVercelStandIn, type VercelStandIn } from '../support/publish/vercel-stand-in.js';
import { startVerdaccio, type Verdaccio } from '../support/publish/verdaccio.js';

const CANARIES = {
  'github/token': 'canary-github-7d1e9a2b4c',
  'gumroad/access_token': 'canary-gumroad-3f8b6e0d2a',
  'vercel/token': 'canary-vercel-9c4a1f7e5b',
  'apify/api_key': 'canary-apify-2e6d8b0c4f',
};

let verdaccio: Verdaccio;
let github: GithubStandIn;
let gumroad: GumroadStandIn;
let vercel: VercelStandIn;
let apify: ApifyStandIn;
let secrets: Record<string, string>;
let root: string;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-publish-'));
  verdaccio = await startVerdaccio();
  secrets = { ...CANARIES, 'npm/token': await verdaccio.addUser('devops', 'devops-password-1') };
  github = await startGithubStandIn({ token: CANARIES['github/token'], repos: ['acme/text-kit'] });
  gumroad = await startGumroadStandIn({ token: CANARIES['gumroad/access_token'] });
  vercel = await startVercelStandIn({ token: CANARIES['vercel/token'] });
  apify = await startApifyStandIn({ token: CANARIES['apify/api_key'] });
});

afterAll(async () => {
  await Promise.all([verdaccio?.stop(), github?.close(), gumroad?.close(), vercel?.close(), apify?.close()]);
  fs.rmSync(root, { recursive: true, force: true });
});

const endpoints = () => ({
  npmRegistry: verdaccio.url,
  githubApi: github.url,
  gumroadApi: gumroad.url,
  vercelApi: vercel.url,
  apifyApi: apify.url,
});

/** Every file under `dir` (contents), for the canary grep. */
function allText(dir: string): string {
  if (!fs.existsSync(dir)) return '';
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), 'latin1'))
    .join('\n');
}

function fileList(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

describe('publishProduct (npm on Verdaccio; GitHub, Gumroad, Vercel, Apify on stand-ins)', () => {
  it('publishes every target, records each outcome and URL, and leaks no secret', async () => {
    const product = writeProductDir({ dataDir: path.join(root, 'a'), githubTag: 'a-v1.0.0' });
    const stateDir = path.join(product.dataDir, 'publish-state');
    const before = fileList(product.dir);
    const masker = new SecretMasker();
    const read: string[] = [];
    const result = await publishProduct({
      productDir: product.dir,
      stateDir,
      endpoints: endpoints(),
      readSecret: (name) => {
        read.push(name);
        return secrets[name];
      },
      masker,
    });
    expect(result.status).toBe('published');
    expect(result.outcomes.map((o) => [o.target, o.status])).toEqual([
      ['npm', 'published'],
      ['github_release', 'published'],
      ['gumroad', 'published'],
      ['vercel', 'published'],
      ['apify', 'published'],
    ]);
    for (const outcome of result.outcomes) {
      expect(outcome.url).toMatch(/^https?:\/\//);
      const journal = JSON.parse(fs.readFileSync(outcome.journal, 'utf8')) as { last: { status: string; url: string } };
      expect(journal.last).toMatchObject({ status: 'published', url: outcome.url });
    }
    expect(read.sort()).toEqual(Object.keys(secrets).sort());
    // Each value read was registered with the masker before anything could print it.
    for (const value of Object.values(secrets)) expect(masker.maskText(`x ${value} y`)).toBe('x [masked] y');
    const recorded = JSON.stringify(result) + allText(stateDir) + allText(verdaccio.storage);
    for (const value of Object.values(secrets)) expect(recorded).not.toContain(value);
    // Nothing was written into the product directory (no npmrc, no staging), and no lifecycle script ran.
    expect(fileList(product.dir)).toEqual(before);
    expect(fs.existsSync(product.scriptMarker)).toBe(false);
  });

  it('a part-way failure and a missing secret end partial; the retry finishes them and publishes nothing twice', async () => {
    const product = writeProductDir({ dataDir: path.join(root, 'b'), githubTag: 'b-v1.0.0' });
    const stateDir = path.join(product.dataDir, 'publish-state');
    const masker = new SecretMasker();
    const counts = () => ({
      releases: github.releases.get('acme/text-kit')?.filter((r) => r.name.startsWith(product.title)).length,
      gumroad: gumroad.products.filter((p) => p.name === product.title).length,
      deployments: vercel.deployments.filter((d) => d.name === product.name).length,
      builds: apify.builds.filter((b) => apify.actors.find((a) => a.id === b.actId)?.name === product.name).length,
    });
    // Gumroad fails after the draft and the first upload; its error echoes the token (masked on the way out).
    gumroad.failNext('POST', /^\/v2\/files\/complete$/, {
      status: 500,
      json: { success: false, message: `internal error for token ${CANARIES['gumroad/access_token']}` },
    });
    const first = await publishProduct({
      productDir: product.dir,
      stateDir,
      endpoints: endpoints(),
      readSecret: (name) => (name === 'apify/api_key' ? undefined : secrets[name]),
      masker,
    });
    expect(first.status).toBe('partial');
    const byTarget = Object.fromEntries(first.outcomes.map((o) => [o.target, o]));
    expect(byTarget.gumroad).toMatchObject({ status: 'failed', url: null });
    expect(byTarget.gumroad?.error).toMatch(
      /^upload_file:.*: POST .*\/v2\/files\/complete answered 500: internal error for token \[masked\]$/,
    );
    expect(byTarget.gumroad?.steps_done).toEqual(['create_product']);
    expect(byTarget.apify).toMatchObject({ status: 'missing_secrets', missing_secrets: ['apify/api_key'], url: null });
    expect(byTarget.npm?.status).toBe('published');
    expect(allText(stateDir)).not.toContain(CANARIES['gumroad/access_token']);
    expect(counts()).toEqual({ releases: 1, gumroad: 1, deployments: 1, builds: 0 });

    const retry = await publishProduct({
      productDir: product.dir,
      stateDir,
      endpoints: endpoints(),
      readSecret: (name) => secrets[name],
      masker,
    });
    expect(retry.status).toBe('published');
    expect(retry.outcomes.map((o) => [o.target, o.status])).toEqual([
      ['npm', 'already_published'],
      ['github_release', 'already_published'],
      ['gumroad', 'published'],
      ['vercel', 'already_published'],
      ['apify', 'published'],
    ]);
    for (const target of ['npm', 'github_release', 'vercel'] as const) {
      expect(retry.outcomes.find((o) => o.target === target)?.url).toBe(byTarget[target]?.url);
    }
    expect(counts()).toEqual({ releases: 1, gumroad: 1, deployments: 1, builds: 1 });
    expect(gumroad.products.find((p) => p.name === product.title)?.published).toBe(true);
    const versions = (await (
      await fetch(`${verdaccio.url}${product.name}`, { headers: { authorization: `Bearer ${secrets['npm/token']}` } })
    ).json()) as { versions: object };
    expect(Object.keys(versions.versions)).toEqual(['1.0.0']);
  });

  it('refuses a state directory inside the product directory (an agent could forge the journal there)', async () => {
    const product = writeProductDir({ dataDir: path.join(root, 'd') });
    await expect(
      publishProduct({
        productDir: product.dir,
        stateDir: path.join(product.dir, '.publish'),
        readSecret: (name) => secrets[name],
        masker: new SecretMasker(),
      }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(fs.existsSync(path.join(product.dir, '.publish'))).toBe(false);
  });

  it('refuses a target the product does not name, before reading any secret', async () => {
    const product = writeProductDir({ dataDir: path.join(root, 'c') });
    const read: string[] = [];
    await expect(
      publishProduct({
        productDir: product.dir,
        stateDir: path.join(product.dataDir, 'publish-state'),
        targets: ['pypi'],
        readSecret: (name) => {
          read.push(name);
          return undefined;
        },
        masker: new SecretMasker(),
      }),
    ).rejects.toMatchObject({ code: 'PUBLISH_TARGET_UNKNOWN' });
    expect(read).toEqual([]);
    expect(fs.existsSync(path.join(product.dataDir, 'publish-state'))).toBe(false);
  });
});
