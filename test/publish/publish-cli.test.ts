/** `autodev publish --dry-run`, in process (`runCli`): the plan printed, nothing sent, bad input refused. */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeProductDir, type ProductFixture } from '../support/publish/product-fixture.js';
import { runCliInProcess } from '../support/in-process-cli.js';

let product: ProductFixture;
const env = { PATH: process.env.PATH, HOME: process.env.HOME };

beforeAll(() => {
  product = writeProductDir();
});

afterAll(() => {
  fs.rmSync(product.dataDir, { recursive: true, force: true });
});

describe('autodev publish --dry-run', () => {
  it('prints what every publisher would send, secrets by name only', async () => {
    const out = await runCliInProcess(['publish', '--dry-run', product.dir], { env, cwd: product.dataDir });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    for (const target of ['npm', 'github_release', 'gumroad', 'vercel', 'apify'])
      expect(out.stdout).toContain(`== ${target}`);
    expect(out.stdout).toContain('POST https://api.gumroad.com/v2/products');
    expect(out.stdout).toContain('<secret gumroad/access_token>');
    expect(out.stdout).toMatch(/site\/index\.html {2}\d+ bytes {2}sha256 [0-9a-f]{64}/);
  });

  it('finds a product by name under <data-dir>/projects and narrows to --target, as JSON', async () => {
    const out = await runCliInProcess(
      ['--data-dir', product.dataDir, 'publish', product.name, '--dry-run', '--target', 'vercel', '--json'],
      { env, cwd: '/' },
    );
    expect(out.code).toBe(0);
    const json = JSON.parse(out.stdout) as { product: string; plans: { target: string; files: unknown[] }[] };
    expect(json.product).toBe(product.name);
    expect(json.plans.map((p) => p.target)).toEqual(['vercel']);
    expect(json.plans[0]?.files).toHaveLength(2);
  });

  it.each([
    [['publish', 'PRODUCT'], /use --dry-run/],
    [['publish', '--dry-run', 'PRODUCT', '--target', 'pypi'], /unknown publish target "pypi"/],
    [['publish', '--dry-run', '/nonexistent/projects/x'], /is not a directory/],
  ])('refuses %j with exit 2 and one line', async (args, message) => {
    const out = await runCliInProcess(
      args.map((a) => (a === 'PRODUCT' ? product.dir : a)),
      { env, cwd: product.dataDir },
    );
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(message);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
  });
});
