/**
 * @module Where a forge's webhook secret comes from: the one function that reads it. For now the environment
 * (`AUTODEV_GITLAB_WEBHOOK_SECRET`, `AUTODEV_GITHUB_WEBHOOK_SECRET`; masked like every `*_SECRET` variable); the
 * secret store replaces this body later.
 */
export type WebhookForge = 'gitlab' | 'github';

export const WEBHOOK_SECRET_VARIABLES: Record<WebhookForge, string> = {
  gitlab: 'AUTODEV_GITLAB_WEBHOOK_SECRET',
  github: 'AUTODEV_GITHUB_WEBHOOK_SECRET',
};

/** The secret of `forge`'s webhooks, or undefined when none is set (its deliveries are then refused). */
export function readWebhookSecret(
  forge: WebhookForge,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const value = env[WEBHOOK_SECRET_VARIABLES[forge]];
  return value === undefined || value === '' ? undefined : value;
}
