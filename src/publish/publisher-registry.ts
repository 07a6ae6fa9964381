/**
 * @module The publishers by target: one entry per `PublishTarget`, each implementing `Publisher`. A new channel is a
 * new publisher module and one line here (and passes `test/publish/publisher-contract.test.ts`).
 */
import { AutodevError } from '../errors.js';
import { apifyPublisher } from './apify-publisher.js';
import { githubReleasePublisher } from './github-release-publisher.js';
import { gumroadPublisher } from './gumroad-publisher.js';
import { npmPublisher } from './npm-publisher.js';
import { isPublishTarget, PUBLISH_TARGETS, type Publisher, type PublishTarget } from './publisher.js';
import { vercelPublisher } from './vercel-publisher.js';

export const PUBLISHERS: Readonly<Record<PublishTarget, Publisher>> = {
  npm: npmPublisher,
  github_release: githubReleasePublisher,
  gumroad: gumroadPublisher,
  vercel: vercelPublisher,
  apify: apifyPublisher,
};

/** The publisher of `target`; `PUBLISH_TARGET_UNKNOWN` for a name that is none of them. */
export function publisherFor(target: string): Publisher {
  if (!isPublishTarget(target)) {
    throw new AutodevError(
      'PUBLISH_TARGET_UNKNOWN',
      `unknown publish target "${target}" (one of ${PUBLISH_TARGETS.join(', ')})`,
    );
  }
  return PUBLISHERS[target];
}
