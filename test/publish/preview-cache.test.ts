/**
 * `PreviewCache`: the publishing approval's previews kept per product directory content, on a real product directory
 * (all five targets; the real `previewProduct`, whose npm plan runs the real `npm pack --dry-run`, counted by a
 * wrapper that calls it) and the real environment secret provider. Reopening an unchanged directory is answered from
 * the cache; a changed one is answered at once marked stale while one fresh preview is computed; a secret set since
 * shows at once; a change that breaks the directory surfaces its error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PublishPreviewCacheSchema } from '../../src/domain/project-schema.js';
import { PreviewCache } from '../../src/publish/preview-cache.js';
import { previewProduct, type PreviewProductInput } from '../../src/publish/preview-product.js';
import { environmentProvider } from '../../src/secrets/environment-provider.js';
import { CATALOGUED_SECRET_NAMES } from '../../src/secrets/secret-catalogue.js';
import { writeProductDir, type ProductFixture } from '../support/publish/product-fixture.js';

const PREFIX = '/auto-dev';
const made: ProductFixture[] = [];
afterEach(() => {
  for (const f of made.splice(0)) fs.rmSync(f.dataDir, { recursive: true, force: true });
});

/** The secret store over `env` (mutable: a secret set later shows). */
const store = (env: Record<string, string>) => ({
  prefix: PREFIX,
  provider: environmentProvider({
    prefix: PREFIX,
    env,
    knownNames: CATALOGUED_SECRET_NAMES.map((name) => `${PREFIX}/${name}`),
  }),
});

/** A cache over the real `previewProduct`, counting how often it ran. */
function countedCache() {
  const runs: string[] = [];
  const cache = new PreviewCache(Date.now, (input: PreviewProductInput) => {
    runs.push(input.productDir);
    return previewProduct(input);
  });
  return { cache, runs };
}

describe('PreviewCache', () => {
  it('answers an unchanged directory from the cache; a change is stale at once, then fresh', async () => {
    const f = writeProductDir();
    made.push(f);
    const { cache, runs } = countedCache();
    const secrets = store({});

    const first = await cache.preview({ productDir: f.dir, secrets });
    expect(PublishPreviewCacheSchema.parse(first.cache)).toMatchObject({ state: 'computed' });
    expect(first.cache.digest).toBe(first.cache.current_digest);
    const again = await cache.preview({ productDir: f.dir, secrets });
    expect(again.cache).toEqual({ ...first.cache, state: 'fresh' });
    expect(again.plans).toEqual(first.plans);
    expect(runs).toHaveLength(1);

    // The builder changes the package: the old preview is answered at once, marked stale with the new digest.
    fs.appendFileSync(path.join(f.dir, 'package', 'index.js'), '\n// changed\n');
    const stale = await cache.preview({ productDir: f.dir, secrets });
    expect(stale.cache).toMatchObject({ state: 'stale', digest: first.cache.digest });
    expect(stale.cache.current_digest).not.toBe(first.cache.digest);
    expect(stale.files).toEqual(first.files);
    // Asked again while it runs: still stale, one refresh only.
    expect((await cache.preview({ productDir: f.dir, secrets })).cache.state).toBe('stale');
    await cache.settled();
    expect(runs).toHaveLength(2);
    const fresh = await cache.preview({ productDir: f.dir, secrets });
    expect(fresh.cache).toMatchObject({ state: 'fresh', digest: stale.cache.current_digest });
    const changed = fresh.files.find((file) => file.path === 'package/index.js')!;
    expect(changed.size).toBeGreaterThan(first.files.find((file) => file.path === 'package/index.js')!.size);
    expect(runs).toHaveLength(2);
  });

  it('names the secrets the store lacks now, not when the preview was computed', async () => {
    const f = writeProductDir();
    made.push(f);
    const { cache } = countedCache();
    const env: Record<string, string> = {};
    const before = await cache.preview({ productDir: f.dir, secrets: store(env) });
    expect(before.plans.find((p) => p.target === 'npm')!.missing_secrets).toEqual(['npm/token']);
    env.NPM_TOKEN = 'canary-npm-cache-2f8e';
    const after = await cache.preview({ productDir: f.dir, secrets: store(env) });
    expect(after.cache.state).toBe('fresh');
    expect(after.plans.find((p) => p.target === 'npm')!.missing_secrets).toEqual([]);
    expect(JSON.stringify(after)).not.toContain('canary-npm-cache');
  });

  it('a change that breaks the directory: stale once, then its PRODUCT_INVALID', async () => {
    const f = writeProductDir();
    made.push(f);
    const { cache } = countedCache();
    const secrets = store({});
    await cache.preview({ productDir: f.dir, secrets });
    fs.writeFileSync(path.join(f.dir, 'product.json'), '{ not json');
    expect((await cache.preview({ productDir: f.dir, secrets })).cache.state).toBe('stale');
    await cache.settled();
    await expect(cache.preview({ productDir: f.dir, secrets })).rejects.toMatchObject({
      code: 'PRODUCT_INVALID',
      message: expect.stringMatching(/product\.json is not valid JSON/),
    });
  });
});
