/**
 * @module `autodev publish --dry-run PRODUCT [--target T]... [--json]`: what each publisher would send for a product
 * directory (requests, files with sizes and SHA-256, secrets by name), sending nothing. PRODUCT is a directory, or the
 * name of a product under `<data-dir>/projects/`. Publishing itself happens only after the publishing approval, as
 * the `publish_product` task (`src/publish/publish-product.ts`), so without `--dry-run` the command refuses.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AutodevError } from '../../errors.js';
import { assertStorableText, TEXT_LIMITS } from '../../domain/input-policy.js';
import { formatPlans, planProduct } from '../../publish/plan-product.js';
import { PRODUCT_NAME, productDirPath } from '../../publish/product-dir.js';
import { resolveDataDir, type CliDeps, type GlobalOptions } from '../context.js';
import { writeJson } from '../format.js';

export interface PublishArgs {
  globals: GlobalOptions;
  product: string;
  dryRun?: boolean | undefined;
  target?: string[] | undefined;
  json?: boolean | undefined;
}

/** A directory path as given, else a product name under `<data-dir>/projects/`. */
function productDir(args: PublishArgs, deps: CliDeps): string {
  const given = path.resolve(deps.cwd, args.product);
  if (fs.existsSync(given) || !PRODUCT_NAME.test(args.product)) return given;
  return productDirPath(resolveDataDir(args.globals, deps), args.product);
}

export async function run(args: PublishArgs, deps: CliDeps): Promise<number> {
  assertStorableText('<product>', args.product, TEXT_LIMITS.path);
  for (const target of args.target ?? []) assertStorableText('--target', target, TEXT_LIMITS.name);
  if (!args.dryRun) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      'publishing runs only after the publishing approval (the publish_product task); use --dry-run to see what would be sent',
    );
  }
  const { product, plans } = await planProduct({ productDir: productDir(args, deps), targets: args.target });
  if (args.json) writeJson(deps.stdout, { product: product.name, version: product.version, dir: product.dir, plans });
  else deps.stdout.write(formatPlans(product, plans));
  return 0;
}
