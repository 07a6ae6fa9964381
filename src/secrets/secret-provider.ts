/**
 * @module One interface for every secret store (`environment`, `file`, `ssm`), and secret names. A name is a path
 * under the configured prefix (`/auto-dev/npm/token`); `npm/token` is short for it. Providers see full names only.
 * No provider ever puts a secret value in an error message or a log line.
 */
import { AutodevError } from '../errors.js';

export interface SecretProvider {
  /** The provider's registry name (`environment`, `file`, `ssm`). */
  readonly kind: string;
  /** False for a provider that only reads (the environment): `set` and `delete` refuse. */
  readonly writable: boolean;
  /** The value, or undefined when the store has no secret of that (full) name. */
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
  /** True when there was a secret to delete. */
  delete(name: string): Promise<boolean>;
  /** The full names of the secrets under the prefix, sorted; never values. */
  list(): Promise<string[]>;
}

const SEGMENT = /^[A-Za-z0-9_.-]+$/;
/** SSM's own limit on a parameter name. */
const MAX_NAME_LENGTH = 1011;

/**
 * The full name of `name` under `prefix`: `npm/token` and `/auto-dev/npm/token` are both `/auto-dev/npm/token`.
 *
 * ### Examples
 * ```ts
 * fullSecretName('/auto-dev', 'npm/token') // '/auto-dev/npm/token'
 * fullSecretName('/auto-dev', '/other/x')  // throws SECRET_NAME_INVALID (outside the prefix)
 * ```
 */
export function fullSecretName(prefix: string, name: string): string {
  const trimmed = name.trim();
  const full = trimmed.startsWith('/') ? trimmed : `${prefix}/${trimmed}`;
  const segments = full.slice(1).split('/');
  if (
    full.length > MAX_NAME_LENGTH ||
    !full.startsWith(`${prefix}/`) ||
    segments.length <= prefix.split('/').length - 1 ||
    !segments.every((segment) => SEGMENT.test(segment) && segment !== '.' && segment !== '..')
  ) {
    throw new AutodevError(
      'SECRET_NAME_INVALID',
      `"${trimmed.slice(0, 100)}" is not a secret name: use a path under ${prefix} of letters, digits and _ . - ` +
        `segments, e.g. ${prefix}/npm/token (or npm/token)`,
    );
  }
  return full;
}

/** The name without the prefix: `/auto-dev/npm/token` -> `npm/token`. */
export function relativeSecretName(prefix: string, fullName: string): string {
  return fullName.startsWith(`${prefix}/`) ? fullName.slice(prefix.length + 1) : fullName;
}
