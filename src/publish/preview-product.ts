/**
 * @module The publishing approval's preview of a product directory, for the dashboard: every file of the product
 * (path, size, SHA-256), `README.md` and each target's listing as Markdown, and each publisher's plan from
 * `planProduct` with the secrets it reads by name and those the secret store lacks (`missing_secrets`; names only:
 * the store is asked for its list of names, never for a value). An agent wrote the directory, so nothing here follows
 * a symbolic link: a link is left out of the file list and refused where a publisher would send it.
 *
 * ### Examples
 * ```ts
 * const preview = await previewProduct({ productDir: '/data/projects/text-kit', secrets: store });
 * preview.plans[0].missing_secrets // ['npm/token'] when the store has no npm token
 * ```
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { PublishPreview } from '../domain/project-schema.js';
import { AutodevError } from '../errors.js';
import { fullSecretName, type SecretProvider } from '../secrets/secret-provider.js';
import { planProduct } from './plan-product.js';
import { LISTING_FILES, MAX_DIR_FILES } from './product-dir.js';
import type { PlannedFile, PublishEndpoints } from './publisher.js';

/** Directories the file list leaves out: the project's own git data and installed dependencies are never sent. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);

/** The listing entry for `README.md`, which every target shares. */
export const README_LISTING_TARGET = 'all';

export type ProductPreview = Omit<PublishPreview, 'approval_id' | 'project_id' | 'cache'>;

export interface PreviewProductInput {
  productDir: string;
  /** Where the secrets are looked up, by name only (a `SecretStore` fits). */
  secrets: { provider: Pick<SecretProvider, 'list'>; prefix: string };
  endpoints?: Partial<PublishEndpoints> | undefined;
}

/** Every regular file under `dir` with size and SHA-256, sorted by path; links and special files are left out. */
export async function describeTree(dir: string): Promise<PlannedFile[]> {
  const files: PlannedFile[] = [];
  const walk = async (sub: string): Promise<void> => {
    const entries = await fs.readdir(path.join(dir, sub), { withFileTypes: true });
    for (const entry of entries) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) await walk(rel);
      } else if (entry.isFile()) {
        if (files.length >= MAX_DIR_FILES) {
          throw new AutodevError(
            'PRODUCT_INVALID',
            `product ${path.basename(dir)}: more than ${MAX_DIR_FILES} files to preview`,
          );
        }
        // Opened without following a link: the entry was a regular file when listed, O_NOFOLLOW keeps it one.
        const handle = await fs.open(path.join(dir, rel), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        try {
          const data = await handle.readFile();
          files.push({ path: rel, size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
        } finally {
          await handle.close();
        }
      }
    }
  };
  await walk('');
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The preview of the product in `productDir`: validated by `readProductDir` (through `planProduct`), so a broken
 * directory throws `PRODUCT_INVALID` naming the problem. Sends nothing, reads no secret value.
 */
export async function previewProduct(input: PreviewProductInput): Promise<ProductPreview> {
  const { product, plans } = await planProduct({ productDir: input.productDir, endpoints: input.endpoints });
  const stored = new Set(await input.secrets.provider.list());
  const missing = (name: string) => !stored.has(fullSecretName(input.secrets.prefix, name));
  return {
    name: product.name,
    version: product.version,
    product_dir: product.dir,
    files: await describeTree(product.dir),
    listings: [
      { target: README_LISTING_TARGET, file: 'README.md', markdown: product.readme },
      ...product.targets.map((target) => ({
        target,
        file: LISTING_FILES[target],
        markdown: product.listings[target] ?? '',
      })),
    ],
    plans: plans.map((plan) => ({
      target: plan.target,
      secrets: plan.secrets,
      requests: plan.requests,
      files: plan.files,
      missing_secrets: plan.secrets.filter(missing),
    })),
  };
}
