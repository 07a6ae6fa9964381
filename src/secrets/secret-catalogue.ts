/**
 * @module Which secrets each feature needs (the guide's names, relative to the prefix): what `autodev secrets
 * check` reports as still missing, and the names the environment provider lists.
 */

export interface SecretFeature {
  feature: string;
  /** Names relative to the prefix (`npm/token` is `/auto-dev/npm/token`). */
  names: readonly string[];
}

export const SECRET_FEATURES: readonly SecretFeature[] = [
  { feature: 'npm publishing', names: ['npm/token'] },
  { feature: 'GitHub releases', names: ['github/token'] },
  { feature: 'Gumroad publishing', names: ['gumroad/email'] },
  { feature: 'Vercel deployments', names: ['vercel/token'] },
  { feature: 'Apify actors', names: ['apify/api_key'] },
  { feature: 'GitLab webhook check', names: ['gitlab-webhook-secret'] },
  { feature: 'OpenAI (Codex sessions)', names: ['openai/api_key'] },
];

/** Every catalogued name, relative to the prefix. */
export const CATALOGUED_SECRET_NAMES: readonly string[] = SECRET_FEATURES.flatMap((feature) => feature.names);
