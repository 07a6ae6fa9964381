/**
 * @module Secret-store fixtures: the moto endpoint from the global setup (failing, never skipping, when it is not
 * there), an environment for the AWS SDK against moto, and a fresh SSM prefix per test so files sharing one moto do
 * not see each other's parameters.
 */
import { randomBytes } from 'node:crypto';
import { expect, inject } from 'vitest';

/** moto's endpoint; fails the calling test with the reason when moto could not start. */
export function motoEndpoint(): string {
  const endpoint = inject('motoEndpoint');
  expect(
    endpoint,
    `moto's server mode (the AWS emulator) did not start: ${inject('motoError') ?? 'unknown'}; run .ci/ensure-moto`,
  ).toBeTruthy();
  return endpoint as string;
}

/** AWS variables moto accepts (any credentials; a region). */
export const MOTO_AWS_ENV: Readonly<Record<string, string>> = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: 'us-east-1',
};

/** A prefix no other test uses, e.g. `/t3f9a0c1d/auto-dev`. */
export function freshSsmPrefix(): string {
  return `/t${randomBytes(4).toString('hex')}/auto-dev`;
}
