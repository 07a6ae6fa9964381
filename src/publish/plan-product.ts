/**
 * @module What publishing a product would send, per target, without sending anything: the product directory read
 * and validated, then each publisher's `plan` (requests with method, URL and a body summary; files with sizes and
 * SHA-256; credentials by secret name only). The dry run (`autodev publish --dry-run`) prints it with `formatPlans`;
 * the publishing approval shows the same data.
 *
 * ### Examples
 * ```ts
 * const { product, plans } = await planProduct({ productDir: '/data/projects/text-kit' });
 * process.stdout.write(formatPlans(product, plans));
 * ```
 */
import { AutodevError } from '../errors.js';
import { readProductDir, type Product } from './product-dir.js';
import { publisherFor } from './publisher-registry.js';
import { DEFAULT_ENDPOINTS, type PublishEndpoints, type PublishPlan, type PublishTarget } from './publisher.js';

export interface PlanProductInput {
  productDir: string;
  /** Only these targets (each must be one the product names); default: all the product names. */
  targets?: readonly string[] | undefined;
  endpoints?: Partial<PublishEndpoints> | undefined;
}

/** The targets to publish: the product's, or the asked ones after checking each is known and the product's. */
export function chooseTargets(product: Product, asked: readonly string[] | undefined): PublishTarget[] {
  if (!asked || asked.length === 0) return product.targets;
  const chosen: PublishTarget[] = [];
  for (const name of asked) {
    const { target } = publisherFor(name);
    if (!product.targets.includes(target)) {
      throw new AutodevError(
        'VALIDATION_FAILED',
        `product ${product.name} has no ${target} target (it names ${product.targets.join(', ')})`,
      );
    }
    if (!chosen.includes(target)) chosen.push(target);
  }
  return chosen;
}

export async function planProduct(input: PlanProductInput): Promise<{ product: Product; plans: PublishPlan[] }> {
  const product = await readProductDir(input.productDir);
  const endpoints = { ...DEFAULT_ENDPOINTS, ...input.endpoints };
  const plans: PublishPlan[] = [];
  for (const target of chooseTargets(product, input.targets))
    plans.push(await publisherFor(target).plan(product, endpoints));
  return { product, plans };
}

const summarize = (body: unknown): string => (typeof body === 'string' ? body : JSON.stringify(body));

/** The plans as text for a terminal: one block per target. */
export function formatPlans(product: Product, plans: readonly PublishPlan[]): string {
  const lines = [`product ${product.name} ${product.version} (${product.dir})`];
  for (const plan of plans) {
    lines.push('', `== ${plan.target} (secrets: ${plan.secrets.join(', ')})`);
    for (const request of plan.requests) {
      lines.push(`  ${request.method} ${request.url}`);
      if (request.body !== undefined) lines.push(`      body: ${summarize(request.body)}`);
      if (request.note) lines.push(`      ${request.note}`);
    }
    lines.push(`  files (${plan.files.length}):`);
    for (const file of plan.files) lines.push(`    ${file.path}  ${file.size} bytes  sha256 ${file.sha256}`);
  }
  return `${lines.join('\n')}\n`;
}
