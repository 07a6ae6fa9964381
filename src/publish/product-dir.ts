/**
 * @module A product directory, read and validated: `<data-dir>/projects/<product-name>/` holds `product.json` (name,
 * version, title, summary, and per target what to send), `README.md`, and one listing per target (`NPM_README.md`,
 * `GITHUB_RELEASE.md`, `GUMROAD_LISTING.md`, `VERCEL_LISTING.md`, `APIFY_LISTING.md`). An agent wrote all of it, so
 * every path must name a regular file inside the directory (no `..`, no absolute path, no symbolic link anywhere on
 * the way): a link to a host file would be published. What each publisher will send is `describeProduct`.
 *
 * ### Examples
 * ```ts
 * const product = await readProductDir('/data/projects/text-kit'); // PRODUCT_INVALID names what is wrong
 * product.targets // ['npm', 'gumroad']
 * ```
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AutodevError } from '../errors.js';
import { PUBLISH_TARGETS, type PlannedFile, type PublishTarget } from './publisher.js';

/** The listing file each target needs beside `README.md`. */
export const LISTING_FILES: Record<PublishTarget, string> = {
  npm: 'NPM_README.md',
  github_release: 'GITHUB_RELEASE.md',
  gumroad: 'GUMROAD_LISTING.md',
  vercel: 'VERCEL_LISTING.md',
  apify: 'APIFY_LISTING.md',
};

export const MANIFEST_FILE = 'product.json';
/** A product name is a directory name and a package-like slug. */
export const PRODUCT_NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;
/** Files larger than this are refused (a publish is not a backup). */
export const MAX_FILE_BYTES = 100 * 1024 * 1024;
/** At most this many files in one directory a publisher sends (a package, a site, an actor). */
export const MAX_DIR_FILES = 5000;

const relativePath = z
  .string()
  .min(1)
  .max(500)
  .refine((p) => !path.isAbsolute(p) && !p.split(/[\\/]/).includes('..') && !p.includes('\0'), {
    message: 'must be a relative path inside the product directory (no "..")',
  });

const Manifest = z.strictObject({
  name: z.string().regex(PRODUCT_NAME, 'lowercase letters, digits, ".", "_" or "-", at most 100'),
  version: z.string().regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/, 'a semantic version such as 1.0.0'),
  title: z.string().min(1).max(200),
  summary: z.string().min(1).max(1000),
  targets: z
    .strictObject({
      npm: z.strictObject({ package_dir: relativePath }).optional(),
      github_release: z
        .strictObject({
          owner: z.string().regex(/^[A-Za-z0-9-]{1,39}$/),
          repo: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/),
          tag: z
            .string()
            .regex(/^[A-Za-z0-9._/-]{1,100}$/)
            .optional(),
          assets: z.array(relativePath).max(50).default([]),
        })
        .optional(),
      gumroad: z
        .strictObject({
          price_cents: z.number().int().min(0).max(100_000_000),
          files: z.array(relativePath).min(1).max(50),
        })
        .optional(),
      vercel: z.strictObject({ project: z.string().regex(/^[a-z0-9._-]{1,100}$/), dir: relativePath }).optional(),
      apify: z.strictObject({ actor: z.string().regex(/^[a-z0-9-]{1,63}$/), dir: relativePath }).optional(),
    })
    .refine((targets) => Object.values(targets).some((t) => t !== undefined), {
      message: 'name at least one target',
    }),
});
export type ProductManifest = z.infer<typeof Manifest>;

export interface Product {
  /** Absolute path of the product directory. */
  dir: string;
  name: string;
  version: string;
  title: string;
  summary: string;
  manifest: ProductManifest;
  readme: string;
  /** The listing text of each target the manifest names. */
  listings: Partial<Record<PublishTarget, string>>;
  targets: PublishTarget[];
}

function invalid(dir: string, what: string): AutodevError {
  return new AutodevError('PRODUCT_INVALID', `product ${path.basename(dir)}: ${what}`);
}

/**
 * The absolute path of `relative` inside `dir`, refused unless every component on the way is a real directory and
 * the last a regular file (or a directory when `kind` says so): no symbolic link is ever followed.
 */
export async function safeProductPath(dir: string, relative: string, kind: 'file' | 'dir' = 'file'): Promise<string> {
  const parts = relative.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  if (path.isAbsolute(relative) || parts.length === 0 || parts.includes('..')) {
    throw invalid(dir, `"${relative}" is not a relative path inside the product directory`);
  }
  let current = dir;
  for (const [index, part] of parts.entries()) {
    current = path.join(current, part);
    const stat = await fs.lstat(current).catch(() => null);
    if (!stat) throw invalid(dir, `"${relative}" does not exist`);
    if (stat.isSymbolicLink())
      throw invalid(dir, `"${relative}" goes through a symbolic link; links are not published`);
    const last = index === parts.length - 1;
    if (!last && !stat.isDirectory()) throw invalid(dir, `"${relative}" is not inside a directory`);
    if (last && kind === 'file' && !stat.isFile()) throw invalid(dir, `"${relative}" is not a regular file`);
    if (last && kind === 'dir' && !stat.isDirectory()) throw invalid(dir, `"${relative}" is not a directory`);
    if (last && kind === 'file' && stat.size > MAX_FILE_BYTES) {
      throw invalid(dir, `"${relative}" is larger than ${MAX_FILE_BYTES} bytes`);
    }
  }
  return current;
}

/** Every regular file under `relativeDir` (paths relative to it, sorted); a link or special file is refused. */
export async function listDirFiles(productDir: string, relativeDir: string): Promise<string[]> {
  const root = await safeProductPath(productDir, relativeDir, 'dir');
  const files: string[] = [];
  const walk = async (sub: string): Promise<void> => {
    const entries = await fs.readdir(path.join(root, sub), { withFileTypes: true });
    for (const entry of entries) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (entry.name === '.git' || entry.name === 'node_modules') continue;
        await walk(rel);
      } else if (entry.isFile()) {
        files.push(rel);
        if (files.length > MAX_DIR_FILES)
          throw invalid(productDir, `"${relativeDir}" has more than ${MAX_DIR_FILES} files`);
      } else {
        throw invalid(
          productDir,
          `"${relativeDir}/${rel}" is a link or special file; only regular files are published`,
        );
      }
    }
  };
  await walk('');
  for (const file of files) {
    const stat = await fs.stat(path.join(root, file));
    if (stat.size > MAX_FILE_BYTES)
      throw invalid(productDir, `"${relativeDir}/${file}" is larger than ${MAX_FILE_BYTES} bytes`);
  }
  return files.sort();
}

/** Size and SHA-256 of a product file (path relative to the product directory). */
export async function describeFile(product: Pick<Product, 'dir'>, relative: string): Promise<PlannedFile> {
  const data = await fs.readFile(await safeProductPath(product.dir, relative));
  return { path: relative, size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

async function readText(dir: string, relative: string): Promise<string> {
  const file = await safeProductPath(dir, relative);
  const text = await fs.readFile(file, 'utf8');
  if (text.trim() === '') throw invalid(dir, `${relative} is empty`);
  return text;
}

/**
 * Reads and validates a product directory: `product.json` against its schema (its `name` must be the directory's
 * name), `README.md` and each target's listing present and non-empty, and each file or directory a target names a
 * regular file or directory inside the product. Throws `PRODUCT_INVALID` naming the first problem; changes nothing.
 */
export async function readProductDir(dir: string): Promise<Product> {
  const absolute = path.resolve(dir);
  const stat = await fs.lstat(absolute).catch(() => null);
  if (!stat?.isDirectory()) throw invalid(absolute, `${absolute} is not a directory`);
  let raw: unknown;
  try {
    raw = JSON.parse(await readText(absolute, MANIFEST_FILE));
  } catch (error) {
    if (error instanceof AutodevError) throw error;
    throw invalid(absolute, `${MANIFEST_FILE} is not valid JSON`);
  }
  const parsed = Manifest.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(absolute, `${MANIFEST_FILE}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  const manifest = parsed.data;
  if (manifest.name !== path.basename(absolute)) {
    throw invalid(
      absolute,
      `${MANIFEST_FILE} names "${manifest.name}" but the directory is "${path.basename(absolute)}"`,
    );
  }
  const targets = PUBLISH_TARGETS.filter((t) => manifest.targets[t] !== undefined);
  const listings: Partial<Record<PublishTarget, string>> = {};
  for (const target of targets) listings[target] = await readText(absolute, LISTING_FILES[target]);
  const t = manifest.targets;
  if (t.npm) await safeProductPath(absolute, t.npm.package_dir, 'dir');
  for (const asset of t.github_release?.assets ?? []) await safeProductPath(absolute, asset);
  for (const file of t.gumroad?.files ?? []) await safeProductPath(absolute, file);
  if (t.vercel) await safeProductPath(absolute, t.vercel.dir, 'dir');
  if (t.apify) await safeProductPath(absolute, t.apify.dir, 'dir');
  return {
    dir: absolute,
    name: manifest.name,
    version: manifest.version,
    title: manifest.title,
    summary: manifest.summary,
    manifest,
    readme: await readText(absolute, 'README.md'),
    listings,
    targets,
  };
}

/** The directory of product `name` in the guide's layout. */
export function productDirPath(dataDir: string, name: string): string {
  if (!PRODUCT_NAME.test(name)) throw new AutodevError('VALIDATION_FAILED', `"${name}" is not a product name`);
  return path.join(dataDir, 'projects', name);
}
