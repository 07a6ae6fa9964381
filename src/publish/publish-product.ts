/**
 * @module The `publish_product` step, deterministic (no LLM session): reads and validates the product directory,
 * then for each target reads the publisher's secrets through the injected `readSecret` (each value registered with
 * the masker before anything can print it), publishes, and records the outcome and URL in the target's journal
 * (`publish-journal.ts`). Targets are independent: one failing does not stop the others, and the result says which
 * are done; a retry of the same call continues each from its journal and never publishes twice. Wiring it into the
 * task-handler registry is the caller's: it passes the product directory, the state directory (e.g.
 * `<data-dir>/publish-state`), the endpoints from settings, `readSecret` from the secret store and the masker.
 *
 * ### Examples
 * ```ts
 * const result = await publishProduct({
 *   productDir: '/data/projects/text-kit', stateDir: '/data/publish-state',
 *   readSecret: (name) => store.get(name), masker,
 * });
 * result.outcomes // [{ target: 'npm', status: 'published', url: 'https://www.npmjs.com/package/text-kit/v/1.0.0', ... }]
 * ```
 */
import path from 'node:path';
import { AutodevError, isAutodevError } from '../errors.js';
import type { SecretMasker } from '../secrets/secret-masker.js';
import { chooseTargets } from './plan-product.js';
import { readProductDir } from './product-dir.js';
import { fileJournal, journalFile, type JournalOutcome } from './publish-journal.js';
import { publisherFor } from './publisher-registry.js';
import { DEFAULT_ENDPOINTS, type PublishEndpoints, type PublishTarget } from './publisher.js';

export interface PublishProductInput {
  productDir: string;
  /** Where the journals live: outside the product directory, somewhere no agent writes (they are trusted). */
  stateDir: string;
  /** Only these targets; default: every target the product names. */
  targets?: readonly string[] | undefined;
  endpoints?: Partial<PublishEndpoints> | undefined;
  /** A secret's value by its store name (`npm/token`, ...), or undefined when it is not set. */
  readSecret: (name: string) => Promise<string | undefined> | string | undefined;
  masker: SecretMasker;
  signal?: AbortSignal | undefined;
  now?: () => Date;
}

export interface PublishOutcome {
  target: PublishTarget;
  status: JournalOutcome['status'];
  url: string | null;
  /** Why it failed (masked), naming the step. */
  error: string | null;
  missing_secrets: string[];
  /** The steps done so far, this attempt's and earlier ones' (what a retry will skip). */
  steps_done: string[];
  /** The journal file a human reads to see where it stands. */
  journal: string;
}

export interface PublishProductResult {
  product: string;
  version: string;
  /** `published` when every target is published (now or earlier), `failed` when none is, `partial` otherwise. */
  status: 'published' | 'partial' | 'failed';
  outcomes: PublishOutcome[];
}

export async function publishProduct(input: PublishProductInput): Promise<PublishProductResult> {
  const { masker } = input;
  const product = await readProductDir(input.productDir);
  // The journal is trusted (a recorded step's result is reused: a release id, an upload URL the token goes to), so it
  // never lives where the agent that wrote the product could forge it.
  const relative = path.relative(product.dir, path.resolve(input.stateDir));
  if (relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative))) {
    throw new AutodevError('VALIDATION_FAILED', 'the publish state directory must be outside the product directory');
  }
  const targets = chooseTargets(product, input.targets);
  const endpoints = { ...DEFAULT_ENDPOINTS, ...input.endpoints };
  const outcomes: PublishOutcome[] = [];
  for (const target of targets) {
    const publisher = publisherFor(target);
    const key = { product: product.name, version: product.version, target };
    const journal = fileJournal(input.stateDir, key, masker, input.now);
    const secrets: Record<string, string> = {};
    const missing: string[] = [];
    for (const name of publisher.secretNames) {
      const value = await input.readSecret(name);
      if (value === undefined || value === '') missing.push(name);
      else {
        masker.register(value);
        secrets[name] = value;
      }
    }
    let outcome: Omit<JournalOutcome, 'finished_at'>;
    if (missing.length > 0) {
      outcome = { status: 'missing_secrets', url: null, error: `not set: ${missing.join(', ')}` };
    } else {
      try {
        const result = await publisher.publish(product, secrets, {
          endpoints,
          journal,
          ...(input.signal ? { signal: input.signal } : {}),
        });
        outcome = { status: result.status, url: result.url, error: null };
      } catch (error) {
        if (input.signal?.aborted) throw error;
        const message = isAutodevError(error) ? error.message : `${target}: ${(error as Error).message}`;
        outcome = { status: 'failed', url: null, error: masker.maskText(message) };
      }
    }
    journal.finish(outcome);
    outcomes.push({
      target,
      ...masker.mask(outcome),
      missing_secrets: missing,
      steps_done: journal.read().steps.map((s) => s.name),
      journal: journalFile(input.stateDir, key),
    });
  }
  const ok = outcomes.filter((o) => o.status === 'published' || o.status === 'already_published').length;
  return {
    product: product.name,
    version: product.version,
    status: ok === outcomes.length ? 'published' : ok === 0 ? 'failed' : 'partial',
    outcomes,
  };
}
