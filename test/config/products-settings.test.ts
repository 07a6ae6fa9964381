/**
 * @module The `products:` settings (where an approved product's repository is made): local by default, GitLab or
 * GitHub from the settings file or `AUTODEV_PRODUCTS__*`, and bad values refused at start naming the key.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load-settings.js';

describe('products settings', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'products-settings-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const load = (yaml: string, env: Record<string, string> = {}) => {
    fs.writeFileSync(path.join(dir, 'settings.yaml'), yaml);
    return loadSettings({ dataDir: dir, env }).settings.products;
  };
  const refusal = (yaml: string): string => {
    try {
      load(yaml);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('the settings were accepted');
  };

  it('defaults to local; a GitLab group and token variable are read from the file and the environment', () => {
    expect(load('{}')).toEqual({
      forge: 'local',
      base_url: null,
      namespace: null,
      token_env: null,
      visibility: 'private',
    });
    expect(
      load('products:\n  forge: gitlab\n  base_url: https://gitlab.example.com\n  namespace: acme/products\n', {
        AUTODEV_PRODUCTS__TOKEN_ENV: 'PRODUCTS_GITLAB_TOKEN',
      }),
    ).toMatchObject({
      forge: 'gitlab',
      base_url: 'https://gitlab.example.com',
      namespace: 'acme/products',
      token_env: 'PRODUCTS_GITLAB_TOKEN',
    });
  });

  it('an unknown forge, a token variable whose value would not be masked, or a bad namespace is refused by key', () => {
    expect(refusal('products:\n  forge: bitbucket\n')).toMatch(/products\.forge/);
    expect(refusal('products:\n  forge: github\n  token_env: GH\n')).toMatch(/products\.token_env.*masks/);
    expect(refusal('products:\n  namespace: "acme products"\n')).toMatch(/products\.namespace/);
    expect(refusal('products:\n  namespace: ../acme\n')).toMatch(/products\.namespace.*"\.\."/);
    expect(refusal('products:\n  base_url: ftp://gitlab.example.com\n')).toMatch(/products\.base_url/);
  });
});
