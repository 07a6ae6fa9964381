/**
 * @module The `environment` secret provider: Auto-Dev's own environment, read only. A name maps to a variable by
 * dropping the prefix, upper-casing and turning `/ . -` into `_`: `/auto-dev/npm/token` is `NPM_TOKEN`,
 * `/auto-dev/gitlab-webhook-secret` is `GITLAB_WEBHOOK_SECRET`, a deploy secret `/auto-dev/FLY_API_TOKEN` is
 * `FLY_API_TOKEN`. It lists the names it is told about (the feature catalogue) whose variable is set.
 */
import { AutodevError } from '../errors.js';
import { relativeSecretName, type SecretProvider } from './secret-provider.js';

/** The variable holding secret `fullName`. */
export function environmentVariableFor(prefix: string, fullName: string): string {
  return relativeSecretName(prefix, fullName).toUpperCase().replace(/[/.-]/g, '_');
}

export function environmentProvider(options: {
  prefix: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Full names `list` reports when their variable is set. */
  knownNames: readonly string[];
}): SecretProvider {
  const variable = (name: string) => environmentVariableFor(options.prefix, name);
  const readOnly = (name: string): never => {
    throw new AutodevError(
      'SECRET_STORE_READ_ONLY',
      `the environment secret provider only reads: set ${variable(name)} in Auto-Dev's environment, ` +
        'or choose secrets.provider: file or ssm',
    );
  };
  return {
    kind: 'environment',
    writable: false,
    get: async (name) => {
      const value = options.env[variable(name)];
      return value === undefined || value === '' ? undefined : value;
    },
    set: async (name) => readOnly(name),
    delete: async (name) => readOnly(name),
    list: async () =>
      [...new Set(options.knownNames)].filter((name) => (options.env[variable(name)] ?? '') !== '').sort(),
  };
}
