/**
 * @module One assertion for Auto-Dev's error registry: the promise rejects with an AutodevError of this code.
 */
import { expect } from 'vitest';
import { AutodevError, type ErrorCode } from '../../src/errors.js';

export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<AutodevError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AutodevError);
  expect((error as AutodevError).code).toBe(code);
  return error as AutodevError;
}
