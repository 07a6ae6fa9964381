/**
 * @module Is a delivery really from the forge? GitLab sends the hook's secret token as `X-Gitlab-Token`; GitHub signs
 * the raw body with HMAC-SHA256 as `X-Hub-Signature-256: sha256=<hex>`. Both are compared in constant time (over
 * SHA-256 digests, so neither the length nor a prefix of the secret leaks through timing).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

function sameText(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

export function verifyGitlabToken(header: string | undefined, secret: string): boolean {
  return header !== undefined && sameText(header, secret);
}

export function githubSignature(rawBody: Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

export function verifyGithubSignature(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  return header !== undefined && sameText(header.toLowerCase(), githubSignature(rawBody, secret));
}
