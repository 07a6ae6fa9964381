/**
 * @module Publishes a product's package directory with the real `npm publish`. The package is first copied (regular
 * files only, links refused) to a private staging directory with `NPM_README.md` as its `README.md`; npm runs in a
 * scratch directory with no package of its own, `--ignore-scripts` (an agent wrote the lifecycle scripts), a
 * temporary npmrc outside the package holding the token for the configured registry only, an empty global config
 * and an environment of PATH and a scratch HOME: no user npmrc, no project npmrc, no other credential. A
 * `publishConfig.registry` in the package is refused (the registry is Auto-Dev's setting). Idempotent: the registry
 * is asked for the version first, and again after a failed publish (a crash between sending and recording).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AutodevError } from '../errors.js';
import { runCommand } from '../workspace/run-command.js';
import { listDirFiles, safeProductPath, type Product } from './product-dir.js';
import { sendRequest } from './http-client.js';
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

export const NPM_TOKEN = 'npm/token';
const NPM_TIMEOUT_MS = 120_000;

interface PackageInfo {
  name: string;
  version: string;
  packageDir: string;
}

function npmConfig(product: Product): { package_dir: string } {
  const config = product.manifest.targets.npm;
  if (!config) throw new AutodevError('PRODUCT_INVALID', `product ${product.name} has no npm target`);
  return config;
}

async function readPackage(product: Product): Promise<PackageInfo> {
  const { package_dir } = npmConfig(product);
  const file = await safeProductPath(product.dir, `${package_dir}/package.json`);
  let pkg: Record<string, unknown>;
  try {
    pkg = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new AutodevError('PRODUCT_INVALID', `product ${product.name}: ${package_dir}/package.json is not valid JSON`);
  }
  const { name, version, publishConfig } = pkg;
  if (typeof name !== 'string' || !/^(?:@[a-z0-9._-]+\/)?[a-z0-9._-]{1,214}$/.test(name)) {
    throw new AutodevError('PRODUCT_INVALID', `product ${product.name}: package.json has no valid npm "name"`);
  }
  if (typeof version !== 'string' || version !== product.version) {
    throw new AutodevError(
      'PRODUCT_INVALID',
      `product ${product.name}: package.json "version" must be the product's version ${product.version}`,
    );
  }
  if (publishConfig !== undefined) {
    const keys = publishConfig && typeof publishConfig === 'object' ? Object.keys(publishConfig) : ['(not an object)'];
    const refused = keys.filter((key) => key !== 'access' && key !== 'tag');
    if (refused.length > 0) {
      throw new AutodevError(
        'PRODUCT_INVALID',
        `product ${product.name}: package.json publishConfig may set only access and tag (found ${refused.join(', ')})`,
      );
    }
  }
  return { name, version, packageDir: package_dir };
}

/** The registry URL with one trailing slash. */
function registryUrl(endpoints: PublishEndpoints): string {
  return `${endpoints.npmRegistry.replace(/\/+$/, '')}/`;
}

function packageDocUrl(registry: string, name: string): string {
  return joinUrl(registry, name.replace('/', '%2f'));
}

/** Where a human sees the published version. */
function publishedUrl(registry: string, pkg: PackageInfo): string {
  if (new URL(registry).host === 'registry.npmjs.org') {
    return `https://www.npmjs.com/package/${pkg.name}/v/${pkg.version}`;
  }
  return joinUrl(registry, `${pkg.name.replace('/', '%2f')}/${pkg.version}`);
}

/** Copies the package (regular files only) to `stagingDir/package`, `NPM_README.md` as its README. */
async function stagePackage(product: Product, pkg: PackageInfo, stagingDir: string): Promise<string> {
  const target = path.join(stagingDir, 'package');
  const root = await safeProductPath(product.dir, pkg.packageDir, 'dir');
  for (const file of await listDirFiles(product.dir, pkg.packageDir)) {
    // The listing is the README; an npmrc of the agent's is never beside npm (it could name a registry or a token).
    if (/^readme(\.[a-z]+)?$/i.test(file) || path.basename(file) === '.npmrc') continue;
    await fs.mkdir(path.dirname(path.join(target, file)), { recursive: true });
    await fs.copyFile(path.join(root, file), path.join(target, file));
  }
  await fs.writeFile(path.join(target, 'README.md'), product.listings.npm ?? product.readme);
  return target;
}

interface NpmRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs npm with nothing of the user's or the package's configuration, the token only in `npmrc`. */
async function runNpm(args: string[], scratch: string, npmrc: string, signal?: AbortSignal): Promise<NpmRun> {
  const home = path.join(scratch, 'home');
  const work = path.join(scratch, 'work');
  await fs.mkdir(home, { recursive: true });
  await fs.mkdir(work, { recursive: true });
  const globalconfig = path.join(scratch, 'global-npmrc');
  await fs.writeFile(globalconfig, '', { mode: 0o600 });
  const result = await runCommand({
    command: 'npm',
    args: [
      ...args,
      '--userconfig',
      npmrc,
      '--globalconfig',
      globalconfig,
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
    ],
    cwd: work,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      npm_config_cache: path.join(scratch, 'cache'),
      npm_config_update_notifier: 'false',
    },
    timeoutMs: NPM_TIMEOUT_MS,
    ...(signal ? { signal } : {}),
  });
  const stderr = result.timedOut ? `timed out after ${NPM_TIMEOUT_MS / 1000} s\n${result.stderr}` : result.stderr;
  return { exitCode: result.exitCode, stdout: result.stdout, stderr };
}

async function withScratch<T>(fn: (scratch: string) => Promise<T>): Promise<T> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'autodev-npm-'));
  try {
    return await fn(scratch);
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

/** Writes the npmrc: the registry and, when given, its token scoped to that registry's host and path. */
async function writeNpmrc(scratch: string, registry: string, token: string | undefined): Promise<string> {
  const file = path.join(scratch, 'npmrc');
  const { host, pathname } = new URL(registry);
  const lines = [`registry=${registry}`];
  if (token !== undefined) lines.push(`//${host}${pathname}:_authToken=${token}`);
  await fs.writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return file;
}

async function versionOnRegistry(registry: string, pkg: PackageInfo, token: string, signal?: AbortSignal) {
  const response = await sendRequest(
    { step: 'check_registry', method: 'GET', url: packageDocUrl(registry, pkg.name), token, signal },
    [404],
  );
  if (response.status === 404) return false;
  const versions = (response.json as { versions?: Record<string, unknown> } | null)?.versions ?? {};
  return Object.hasOwn(versions, pkg.version);
}

export const npmPublisher: Publisher = {
  target: 'npm',
  secretNames: [NPM_TOKEN],

  async plan(product: Product, endpoints: PublishEndpoints): Promise<PublishPlan> {
    const pkg = await readPackage(product);
    const registry = registryUrl(endpoints);
    const files = await withScratch(async (scratch) => {
      const staged = await stagePackage(product, pkg, scratch);
      const npmrc = await writeNpmrc(scratch, registry, undefined);
      const packed = await runNpm(['pack', staged, '--dry-run', '--json'], scratch, npmrc);
      if (packed.exitCode !== 0) {
        throw new AutodevError(
          'PRODUCT_INVALID',
          `product ${product.name}: npm pack failed: ${packed.stderr.slice(-500)}`,
        );
      }
      const entries = (JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]?.files ?? [];
      const planned: PlannedFile[] = [];
      for (const entry of entries) {
        const data = await fs.readFile(path.join(staged, entry.path));
        planned.push({
          path: entry.path === 'README.md' ? 'NPM_README.md' : `${pkg.packageDir}/${entry.path}`,
          size: data.length,
          sha256: createHash('sha256').update(data).digest('hex'),
        });
      }
      return planned.sort((a, b) => a.path.localeCompare(b.path));
    });
    return {
      target: 'npm',
      secrets: [NPM_TOKEN],
      requests: [
        {
          method: 'GET',
          url: packageDocUrl(registry, pkg.name),
          note: `is ${pkg.name}@${pkg.version} already published? (then nothing is sent)`,
        },
        {
          method: 'PUT',
          url: packageDocUrl(registry, pkg.name),
          body: {
            command: `npm publish <staged ${pkg.packageDir}> --registry ${registry} --ignore-scripts`,
            package: `${pkg.name}@${pkg.version}`,
            auth: `_authToken ${secretPlaceholder(NPM_TOKEN)} in a temporary npmrc outside the package`,
          },
        },
      ],
      files,
    };
  },

  async publish(product, secrets, context: PublishContext): Promise<PublishResult> {
    const token = secrets[NPM_TOKEN];
    if (!token) throw new AutodevError('PUBLISH_SECRET_MISSING', `npm: the secret ${NPM_TOKEN} is not set`);
    const pkg = await readPackage(product);
    const registry = registryUrl(context.endpoints);
    const url = publishedUrl(registry, pkg);
    // Asked every attempt (not a journal step): the registry is the truth about what is published.
    if (await versionOnRegistry(registry, pkg, token, context.signal)) {
      return { target: 'npm', status: 'already_published', url };
    }
    await context.journal.step('npm_publish', () =>
      withScratch(async (scratch) => {
        const staged = await stagePackage(product, pkg, scratch);
        const npmrc = await writeNpmrc(scratch, registry, token);
        const run = await runNpm(['publish', staged, '--registry', registry], scratch, npmrc, context.signal);
        if (run.exitCode !== 0) {
          // Sent before a crash, or by a racing attempt: the version is there, so it is published.
          if (await versionOnRegistry(registry, pkg, token, context.signal)) return { recovered: true };
          throw new AutodevError(
            'PUBLISH_FAILED',
            `npm_publish: npm publish exited ${run.exitCode}: ${run.stderr.trim().split('\n').slice(-5).join(' | ')}`,
          );
        }
        return { recovered: false };
      }),
    );
    return { target: 'npm', status: 'published', url };
  },
};
