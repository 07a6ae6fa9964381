/**
 * @module The one interface every publisher implements (npm, GitHub release, Gumroad, Vercel, Apify): `plan` says
 * exactly what would be sent without sending it; `publish` sends it, idempotently, step by step through a
 * `PublishJournal` so a partial failure leaves a record a human (or the retry) continues from. Which publisher serves
 * which target is `publisher-registry.ts`'s job; reading the product directory is `product-dir.ts`'s.
 */
import type { Product } from './product-dir.js';
import type { PublishJournal } from './publish-journal.js';

export const PUBLISH_TARGETS = ['npm', 'github_release', 'gumroad', 'vercel', 'apify'] as const;
export type PublishTarget = (typeof PUBLISH_TARGETS)[number];

export function isPublishTarget(value: string): value is PublishTarget {
  return (PUBLISH_TARGETS as readonly string[]).includes(value);
}

/**
 * Where each publisher sends its requests. Auto-Dev's settings decide these, never the product directory (an agent
 * wrote it: a registry URL of its choosing would carry the token to it).
 */
export interface PublishEndpoints {
  npmRegistry: string;
  githubApi: string;
  gumroadApi: string;
  vercelApi: string;
  apifyApi: string;
}

export const DEFAULT_ENDPOINTS: PublishEndpoints = {
  npmRegistry: 'https://registry.npmjs.org/',
  githubApi: 'https://api.github.com',
  gumroadApi: 'https://api.gumroad.com',
  vercelApi: 'https://api.vercel.com',
  apifyApi: 'https://api.apify.com',
};

/** A file a publisher sends, as the dry run shows it. */
export interface PlannedFile {
  /** Path relative to the product directory. */
  path: string;
  size: number;
  sha256: string;
}

/** One request (or command) a publisher would make; the credential appears by its secret's name, never its value. */
export interface PlannedRequest {
  method: string;
  url: string;
  /** What the body carries, in a line or a small object: never file contents, never a secret. */
  body?: unknown;
  /** Why the step exists and when it is skipped (e.g. "only if the version is not on the registry"). */
  note?: string;
}

export interface PublishPlan {
  target: PublishTarget;
  /** The secret-store names this publisher reads (`npm/token`, ...). */
  secrets: string[];
  requests: PlannedRequest[];
  files: PlannedFile[];
}

/** What a publish ended as. `already_published`: a retry found the earlier release and sent nothing new. */
export interface PublishResult {
  target: PublishTarget;
  status: 'published' | 'already_published';
  /** The URL of what was published (the package, release, product page, deployment or actor build). */
  url: string;
}

export interface PublishContext {
  endpoints: PublishEndpoints;
  journal: PublishJournal;
  signal?: AbortSignal;
}

export interface Publisher {
  readonly target: PublishTarget;
  /** The secret-store names `publish` needs, in the order it reads them. */
  readonly secretNames: readonly string[];
  /** Exactly what `publish` would send; sends nothing. */
  plan(product: Product, endpoints: PublishEndpoints): Promise<PublishPlan>;
  /**
   * Publishes `product`. A retry never publishes twice: each step checks the remote (and the journal) first.
   * Throws `PUBLISH_FAILED` naming the failed step; the journal keeps the steps that were done.
   */
  publish(product: Product, secrets: Readonly<Record<string, string>>, context: PublishContext): Promise<PublishResult>;
}

/** How a credential appears in a plan: its secret's name, never its value. */
export function secretPlaceholder(name: string): string {
  return `<secret ${name}>`;
}

/** `base` and `path` joined with exactly one slash between them. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
