import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AutodevError } from '../../src/errors.js';
import { chooseTargets, formatPlans, planProduct } from '../../src/publish/plan-product.js';
import { productDirPath, readProductDir } from '../../src/publish/product-dir.js';
import { writeProductDir, type ProductFixture } from '../support/publish/product-fixture.js';

const made: ProductFixture[] = [];
const fixture = () => {
  const f = writeProductDir();
  made.push(f);
  return f;
};

afterEach(() => {
  for (const f of made.splice(0)) fs.rmSync(f.dataDir, { recursive: true, force: true });
});

const errorOf = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AutodevError);
  return error as AutodevError;
};

interface ManifestJson {
  name: string;
  version: string;
  registry?: string;
  targets: { gumroad: { files: string[] }; vercel: { dir: string }; apify?: unknown };
}

const editManifest = (f: ProductFixture, edit: (m: ManifestJson) => void) => {
  const file = path.join(f.dir, 'product.json');
  const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as ManifestJson;
  edit(manifest);
  fs.writeFileSync(file, JSON.stringify(manifest));
};

describe('readProductDir', () => {
  it('reads the guide layout: manifest, README and one listing per target', async () => {
    const f = fixture();
    expect(productDirPath(f.dataDir, f.name)).toBe(f.dir);
    const product = await readProductDir(f.dir);
    expect(product).toMatchObject({ name: f.name, version: '1.0.0', title: f.title, dir: f.dir });
    expect(product.targets).toEqual(['npm', 'github_release', 'gumroad', 'vercel', 'apify']);
    expect(product.readme).toContain(f.title);
    expect(product.listings.gumroad).toContain('count words');
    expect(Object.keys(product.listings).sort()).toEqual([...product.targets].sort());
  });

  it.each([
    [
      'no product.json',
      (f: ProductFixture) => fs.rmSync(path.join(f.dir, 'product.json')),
      /product\.json" does not exist/,
    ],
    [
      'product.json not JSON',
      (f: ProductFixture) => fs.writeFileSync(path.join(f.dir, 'product.json'), '{'),
      /not valid JSON/,
    ],
    [
      'a missing listing',
      (f: ProductFixture) => fs.rmSync(path.join(f.dir, 'GUMROAD_LISTING.md')),
      /GUMROAD_LISTING\.md" does not exist/,
    ],
    [
      'an empty README',
      (f: ProductFixture) => fs.writeFileSync(path.join(f.dir, 'README.md'), '  \n'),
      /README\.md is empty/,
    ],
    [
      'a name that is not the directory',
      (f: ProductFixture) => editManifest(f, (m) => (m.name = 'other')),
      /names "other"/,
    ],
    [
      'a bad version',
      (f: ProductFixture) => editManifest(f, (m) => (m.version = 'one')),
      /version: a semantic version/,
    ],
    [
      'no target',
      (f: ProductFixture) => editManifest(f, (m) => (m.targets = {} as ManifestJson['targets'])),
      /at least one target/,
    ],
    [
      'an unknown key',
      (f: ProductFixture) => editManifest(f, (m) => (m.registry = 'http://evil')),
      /registry|Unrecognized/,
    ],
    [
      'a path out of the directory',
      (f: ProductFixture) => editManifest(f, (m) => (m.targets.gumroad.files = ['../../etc/passwd'])),
      /relative path inside/,
    ],
    [
      'an absolute path',
      (f: ProductFixture) => editManifest(f, (m) => (m.targets.vercel.dir = '/etc')),
      /relative path inside/,
    ],
    [
      'an asset that is a link to a host file',
      (f: ProductFixture) => {
        fs.rmSync(path.join(f.dir, 'dist/guide.pdf'));
        fs.symlinkSync('/etc/passwd', path.join(f.dir, 'dist/guide.pdf'));
      },
      /symbolic link/,
    ],
    [
      'a directory reached through a link',
      (f: ProductFixture) => {
        fs.renameSync(path.join(f.dir, 'site'), path.join(f.dataDir, 'site-elsewhere'));
        fs.symlinkSync(path.join(f.dataDir, 'site-elsewhere'), path.join(f.dir, 'site'));
      },
      /symbolic link/,
    ],
  ])('refuses %s with PRODUCT_INVALID', async (_name, breakIt, message) => {
    const f = fixture();
    breakIt(f);
    const error = await errorOf(readProductDir(f.dir));
    expect(error.code).toBe('PRODUCT_INVALID');
    expect(error.message).toMatch(message);
  });

  it('refuses a directory that is not there', async () => {
    expect((await errorOf(readProductDir('/nonexistent/projects/x'))).code).toBe('PRODUCT_INVALID');
  });
});

describe('planProduct', () => {
  it('lists what each publisher will send, with sizes and hashes, and prints it', async () => {
    const f = fixture();
    const { product, plans } = await planProduct({
      productDir: f.dir,
      endpoints: { npmRegistry: 'http://127.0.0.1:9/' },
    });
    expect(plans.map((p) => p.target)).toEqual(product.targets);
    const npm = plans.find((p) => p.target === 'npm');
    // npm pack's own file list: the listing becomes the README, the agent's README is not sent.
    expect(npm?.files.map((file) => file.path)).toEqual(['NPM_README.md', 'package/index.js', 'package/package.json']);
    const text = formatPlans(product, plans);
    for (const target of product.targets) expect(text).toContain(`== ${target}`);
    expect(text).toContain('http://127.0.0.1:9/' + f.name);
    expect(text).toMatch(/dist\/guide\.pdf {2}\d+ bytes {2}sha256 [0-9a-f]{64}/);
  });

  it('refuses a link or special file inside a directory a publisher sends', async () => {
    const f = fixture();
    fs.symlinkSync('/etc/hostname', path.join(f.dir, 'site/hostname'));
    const error = await errorOf(planProduct({ productDir: f.dir, targets: ['vercel'] }));
    expect(error.code).toBe('PRODUCT_INVALID');
    expect(error.message).toContain('site/hostname');
  });

  it("refuses a package whose publishConfig names a registry (the registry is Auto-Dev's setting)", async () => {
    const f = fixture();
    const file = path.join(f.dir, 'package/package.json');
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(file, JSON.stringify({ ...pkg, publishConfig: { registry: 'http://attacker.example/' } }));
    const error = await errorOf(planProduct({ productDir: f.dir, targets: ['npm'] }));
    expect(error.message).toMatch(/publishConfig may set only access and tag \(found registry\)/);
  });

  it('refuses a package whose version is not the product version', async () => {
    const f = fixture();
    const file = path.join(f.dir, 'package/package.json');
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(file, JSON.stringify({ ...pkg, version: '9.9.9' }));
    expect((await errorOf(planProduct({ productDir: f.dir, targets: ['npm'] }))).message).toMatch(/version 1\.0\.0/);
  });

  it('chooses targets: unknown names and targets the product lacks are refused', async () => {
    const f = fixture();
    editManifest(f, (m) => delete m.targets.apify);
    const product = await readProductDir(f.dir);
    expect(chooseTargets(product, undefined)).toEqual(['npm', 'github_release', 'gumroad', 'vercel']);
    expect(chooseTargets(product, ['vercel', 'npm', 'vercel'])).toEqual(['vercel', 'npm']);
    expect(() => chooseTargets(product, ['pypi'])).toThrow(expect.objectContaining({ code: 'PUBLISH_TARGET_UNKNOWN' }));
    expect(() => chooseTargets(product, ['apify'])).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });
});
