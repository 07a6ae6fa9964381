/**
 * `previewProduct`: the publishing approval's preview of a real product directory in a temp dir (all five targets),
 * with the real environment secret provider: files with sizes and hashes, the listings as Markdown, each
 * publisher's plan, and the secrets the store lacks named (never a value).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PublishPreviewSchema } from '../../src/domain/project-schema.js';
import { AutodevError } from '../../src/errors.js';
import { previewProduct, README_LISTING_TARGET } from '../../src/publish/preview-product.js';
import { environmentProvider } from '../../src/secrets/environment-provider.js';
import { CATALOGUED_SECRET_NAMES } from '../../src/secrets/secret-catalogue.js';
import { writeProductDir, type ProductFixture } from '../support/publish/product-fixture.js';

const PREFIX = '/auto-dev';
const NPM_CANARY = 'canary-npm-preview-5e1c9a7b';
const GITHUB_CANARY = 'canary-github-preview-0d4f2b8e';

const made: ProductFixture[] = [];
const fixture = () => {
  const f = writeProductDir();
  made.push(f);
  return f;
};

afterEach(() => {
  for (const f of made.splice(0)) fs.rmSync(f.dataDir, { recursive: true, force: true });
});

const store = (env: Record<string, string>) => ({
  prefix: PREFIX,
  provider: environmentProvider({
    prefix: PREFIX,
    env,
    knownNames: CATALOGUED_SECRET_NAMES.map((name) => `${PREFIX}/${name}`),
  }),
});

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('previewProduct', () => {
  it('lists every file, renders README and each listing, plans every target and names the missing secrets', async () => {
    const f = fixture();
    const preview = await previewProduct({
      productDir: f.dir,
      secrets: store({ NPM_TOKEN: NPM_CANARY, GITHUB_TOKEN: GITHUB_CANARY }),
      endpoints: { npmRegistry: 'http://127.0.0.1:4873/' },
    });
    // The shape the API answers (plus the ids the route adds).
    expect(
      PublishPreviewSchema.omit({ cache: true }).parse({ ...preview, approval_id: 1, project_id: 1 }),
    ).toBeTruthy();
    expect(preview).toMatchObject({ name: f.name, version: '1.0.0', product_dir: f.dir });

    const paths = preview.files.map((file) => file.path);
    expect(paths).toEqual([...paths].sort());
    expect(paths).toContain('product.json');
    expect(paths).toContain('package/index.js');
    expect(paths).toContain('site/assets/style.css');
    expect(paths).toContain('actor/.actor/actor.json');
    const index = preview.files.find((file) => file.path === 'package/index.js')!;
    expect(index.size).toBe(fs.statSync(path.join(f.dir, 'package/index.js')).size);
    expect(index.sha256).toBe(sha256(path.join(f.dir, 'package/index.js')));

    expect(preview.listings.map((l) => [l.target, l.file])).toEqual([
      [README_LISTING_TARGET, 'README.md'],
      ['npm', 'NPM_README.md'],
      ['github_release', 'GITHUB_RELEASE.md'],
      ['gumroad', 'GUMROAD_LISTING.md'],
      ['vercel', 'VERCEL_LISTING.md'],
      ['apify', 'APIFY_LISTING.md'],
    ]);
    expect(preview.listings[0]!.markdown).toContain(`# ${f.title}`);
    expect(preview.listings.find((l) => l.target === 'gumroad')!.markdown).toContain('count words');

    expect(preview.plans.map((p) => p.target)).toEqual(['npm', 'github_release', 'gumroad', 'vercel', 'apify']);
    const npm = preview.plans.find((p) => p.target === 'npm')!;
    expect(npm.secrets).toEqual(['npm/token']);
    expect(npm.missing_secrets).toEqual([]);
    expect(npm.requests[0]!.url).toContain('http://127.0.0.1:4873/');
    expect(npm.files.map((file) => file.path)).toContain('package/index.js');
    expect(preview.plans.find((p) => p.target === 'github_release')!.missing_secrets).toEqual([]);
    expect(preview.plans.find((p) => p.target === 'gumroad')!.missing_secrets).toEqual(['gumroad/access_token']);
    expect(preview.plans.find((p) => p.target === 'vercel')!.missing_secrets).toEqual(['vercel/token']);
    expect(preview.plans.find((p) => p.target === 'apify')!.missing_secrets).toEqual(['apify/api_key']);

    const text = JSON.stringify(preview);
    expect(text).not.toContain(NPM_CANARY);
    expect(text).not.toContain(GITHUB_CANARY);
  });

  it('leaves out .git, node_modules and symbolic links (a link to a host file is never read)', async () => {
    const f = fixture();
    fs.mkdirSync(path.join(f.dir, '.git'));
    fs.writeFileSync(path.join(f.dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    fs.mkdirSync(path.join(f.dir, 'node_modules', 'x'), { recursive: true });
    fs.writeFileSync(path.join(f.dir, 'node_modules', 'x', 'index.js'), '');
    fs.symlinkSync('/etc/hostname', path.join(f.dir, 'notes.txt'));
    fs.symlinkSync('/etc', path.join(f.dir, 'etc-link'));
    const preview = await previewProduct({ productDir: f.dir, secrets: store({}) });
    const paths = preview.files.map((file) => file.path);
    expect(paths.some((p) => p.startsWith('.git/') || p.startsWith('node_modules/'))).toBe(false);
    expect(paths.some((p) => p === 'notes.txt' || p.startsWith('etc-link'))).toBe(false);
    expect(paths).toContain('README.md');
    expect(preview.plans.every((p) => p.missing_secrets.length === 1)).toBe(true);
  });

  it('refuses a missing or broken product directory with PRODUCT_INVALID naming the problem', async () => {
    const f = fixture();
    const missing = await previewProduct({
      productDir: path.join(f.dataDir, 'projects', 'gone'),
      secrets: store({}),
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(missing).toBeInstanceOf(AutodevError);
    expect((missing as AutodevError).code).toBe('PRODUCT_INVALID');
    expect((missing as AutodevError).message).toMatch(/is not a directory/);

    fs.rmSync(path.join(f.dir, 'GUMROAD_LISTING.md'));
    const broken = await previewProduct({ productDir: f.dir, secrets: store({}) }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((broken as AutodevError).code).toBe('PRODUCT_INVALID');
    expect((broken as AutodevError).message).toMatch(/GUMROAD_LISTING\.md" does not exist/);
  });
});
