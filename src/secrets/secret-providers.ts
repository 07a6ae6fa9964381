/**
 * @module The registry of secret providers by name (`secrets.provider` in the settings) and the one function that
 * opens the configured one.
 */
import path from 'node:path';
import type { Settings } from '../config/settings-schema.js';
import { environmentProvider } from './environment-provider.js';
import { DEFAULT_KEY_FILE, encryptedFileProvider, SECRETS_FILE } from './encrypted-file-provider.js';
import { CATALOGUED_SECRET_NAMES } from './secret-catalogue.js';
import type { SecretProvider } from './secret-provider.js';
import { ssmProvider } from './ssm-provider.js';

export type SecretSettings = Settings['secrets'];

export interface SecretProviderContext {
  settings: SecretSettings;
  dataDir: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Extra full names the environment provider lists when set (e.g. the repositories' deploy secrets). */
  knownNames?: readonly string[];
}

type ProviderFactory = (context: SecretProviderContext) => SecretProvider;

export const SECRET_PROVIDER_REGISTRY: Record<SecretSettings['provider'], ProviderFactory> = {
  environment: ({ settings, env, knownNames }) =>
    environmentProvider({
      prefix: settings.prefix,
      env,
      knownNames: [...CATALOGUED_SECRET_NAMES.map((name) => `${settings.prefix}/${name}`), ...(knownNames ?? [])],
    }),
  file: ({ settings, env, dataDir }) =>
    encryptedFileProvider({
      file: path.join(dataDir, SECRETS_FILE),
      keyFile: masterKeyFile(settings, dataDir),
      env,
      prefix: settings.prefix,
    }),
  ssm: ({ settings, env }) =>
    ssmProvider({ prefix: settings.prefix, region: settings.region, endpoint: settings.endpoint, env }),
};

/** The file provider's key file: `secrets.key_file`, else `<data-dir>/secrets.key`. */
export function masterKeyFile(settings: SecretSettings, dataDir: string): string {
  return path.resolve(dataDir, settings.key_file ?? DEFAULT_KEY_FILE);
}

export function openSecretProvider(context: SecretProviderContext): SecretProvider {
  return SECRET_PROVIDER_REGISTRY[context.settings.provider](context);
}
