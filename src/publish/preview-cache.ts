/**
 * @module Keeps the publishing approval's previews (`previewProduct`: its npm plan runs `npm pack --dry-run`, seconds)
 * per product directory, keyed by the directory's content: the digest of every file's path, size and SHA-256 (what
 * `describeTree` reads anyway, milliseconds) and the endpoints. Reopening the card on an unchanged directory answers
 * from the cache at once. A directory whose content changed since its preview answers the old preview at once marked
 * `stale` (with the new digest) while one fresh preview is computed in the background; the next request gets it (or,
 * if the changed directory is now broken, its error). The secrets the store lacks are asked each time (names only).
 *
 * ### Examples
 * ```ts
 * const cache = new PreviewCache();
 * const first = await cache.preview({ productDir, secrets });  // computed: cache.state === 'computed'
 * const again = await cache.preview({ productDir, secrets });  // instant: 'fresh'
 * ```
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { PublishPreviewCache } from '../domain/project-schema.js';
import { fullSecretName } from '../secrets/secret-provider.js';
import { describeTree, previewProduct, type PreviewProductInput, type ProductPreview } from './preview-product.js';
import type { PlannedFile } from './publisher.js';

/** How many product directories' previews are kept (the oldest used is dropped first). */
const MAX_ENTRIES = 32;

interface Entry {
  digest: string;
  preview: ProductPreview;
  computedAt: number;
  /** The background refresh of a changed directory, while it runs. */
  refreshing?: { digest: string; done: Promise<void> };
  /** The refresh's error for `digest` (a changed directory that is now broken), thrown to the next request. */
  failed?: { digest: string; error: unknown };
}

export type CachedPreview = ProductPreview & { cache: PublishPreviewCache };

/** The content digest of a product directory's files and the endpoints its plans name. */
export function contentDigest(files: readonly PlannedFile[], endpoints: unknown): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${file.path}\0${file.size}\0${file.sha256}\n`);
  hash.update(JSON.stringify(endpoints ?? {}));
  return hash.digest('hex');
}

export class PreviewCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: () => number = Date.now,
    private readonly compute: (input: PreviewProductInput) => Promise<ProductPreview> = previewProduct,
  ) {}

  /** The preview of `input.productDir`: cached if its content is unchanged, else see the module comment. */
  async preview(input: PreviewProductInput): Promise<CachedPreview> {
    const dir = path.resolve(input.productDir);
    const digest = contentDigest(await describeTree(dir), input.endpoints);
    const entry = this.entries.get(dir);
    if (entry?.failed?.digest === digest) {
      const { error } = entry.failed;
      this.entries.delete(dir);
      throw error;
    }
    if (!entry) {
      const preview = await this.compute({ ...input, productDir: dir });
      // Keyed by the content the preview was computed from: a change while it ran shows as stale next time.
      const made: Entry = { digest: contentDigest(preview.files, input.endpoints), preview, computedAt: this.clock() };
      this.remember(dir, made);
      return this.answer(input, made, made.digest === digest ? 'computed' : 'stale', digest);
    }
    this.entries.delete(dir);
    this.entries.set(dir, entry); // most recently used last
    if (entry.digest === digest) return this.answer(input, entry, 'fresh', digest);
    if (entry.refreshing?.digest !== digest) this.refresh(dir, entry, input, digest);
    return this.answer(input, entry, 'stale', digest);
  }

  /** Waits for the background refreshes running now (tests; a server's close). */
  async settled(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.refreshing?.done));
  }

  private refresh(dir: string, entry: Entry, input: PreviewProductInput, digest: string): void {
    const done = this.compute({ ...input, productDir: dir }).then(
      (preview) => {
        this.remember(dir, {
          digest: contentDigest(preview.files, input.endpoints),
          preview,
          computedAt: this.clock(),
        });
      },
      (error: unknown) => {
        const { refreshing: _refreshing, ...kept } = entry;
        this.remember(dir, { ...kept, failed: { digest, error } });
      },
    );
    entry.refreshing = { digest, done };
  }

  private remember(dir: string, entry: Entry): void {
    this.entries.delete(dir);
    this.entries.set(dir, entry);
    while (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }

  /** `entry`'s preview as answered now: `state`, and `current` (the directory's digest now). */
  private async answer(
    input: PreviewProductInput,
    entry: Entry,
    state: PublishPreviewCache['state'],
    current: string,
  ): Promise<CachedPreview> {
    // The store's names are asked each time: a secret set since shows at once.
    const stored = new Set(await input.secrets.provider.list());
    return {
      ...entry.preview,
      plans: entry.preview.plans.map((plan) => ({
        ...plan,
        missing_secrets: plan.secrets.filter((name) => !stored.has(fullSecretName(input.secrets.prefix, name))),
      })),
      cache: {
        state,
        digest: entry.digest,
        current_digest: current,
        computed_at: new Date(entry.computedAt).toISOString(),
      },
    };
  }
}
