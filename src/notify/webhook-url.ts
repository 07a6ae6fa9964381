/**
 * @module A webhook URL as people may see it: Slack-style URLs carry their secret in the path, others in the query
 * or the user info, so everything past the host's first path segment is masked. `webhookKey` names a webhook in the
 * outbox without storing its URL.
 *
 * ### Examples
 * ```ts
 * maskWebhookUrl('https://hooks.slack.com/services/T0/B0/abc') // 'https://hooks.slack.com/services/***'
 * maskWebhookUrl('https://u:pw@example.com/hook?token=x')      // 'https://***@example.com/hook?***'
 * ```
 */
import { createHash } from 'node:crypto';

const MASK = '***';

export function maskWebhookUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return MASK;
  }
  const auth = parsed.username || parsed.password ? `${MASK}@` : '';
  const segments = parsed.pathname.split('/').filter(Boolean);
  const path = segments.length === 0 ? '/' : `/${segments[0]}${segments.length > 1 ? `/${MASK}` : ''}`;
  const query = parsed.search ? `?${MASK}` : '';
  return `${parsed.protocol}//${auth}${parsed.host}${path}${query}`;
}

/** A stable short name for a webhook URL (sha256, 16 hex characters). */
export function webhookKey(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}
