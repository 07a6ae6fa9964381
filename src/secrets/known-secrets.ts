/**
 * @module Which values Auto-Dev treats as secret (and masks before storing anything: `secret-masker.ts`): the value
 * of every environment variable whose name looks secret (`*_KEY`, `*_TOKEN`, `*_SECRET`, `*PASSWORD*`, ...), the
 * password of every URL in the environment (`DATABASE_URL`), every value configured in `llm.providers.*.env` (but an
 * endpoint URL, a model name, a switch or a directory), the string credentials in the CLIs' login files, and any
 * value the caller adds (the admin token). It reads the files it is given; it decides nothing else.
 */
import fs from 'node:fs';

/** Names of environment variables whose values are secret. */
const SECRET_NAME = /(?:_KEY|_TOKEN|_SECRET|_PASS|_PAT)$|PASSWORD|PASSWD|SECRET|CREDENTIAL|API_?KEY|AUTH_?TOKEN/i;
/**
 * Names in `llm.providers.*.env` that configure rather than authenticate (an endpoint, a model, a switch, a
 * directory): not masked, so transcripts and session rows keep the model and the URL. A password inside a URL is.
 */
const PLAIN_SETTING_NAME = /(?:_URL|_MODEL|_REGION|_DIR|_HOME|_PATH)$|^CLAUDE_CODE_(?:USE|DISABLE)_|^IS_SANDBOX$/;
/** Keys in a CLI login file whose string values are credentials. */
const SECRET_FIELD = /token|key|secret|password|credential/i;

export function looksSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** The password of a URL with credentials (`postgres://user:pw@host/db`), raw and decoded; empty otherwise. */
export function urlPasswords(text: string): string[] {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/\s]*@/i.test(text)) return [];
  try {
    const { password } = new URL(text);
    if (!password) return [];
    return [...new Set([password, decodeURIComponent(password)])];
  } catch {
    return [];
  }
}

/** String values under secret-looking keys in a JSON login file (`~/.claude/.credentials.json`, `~/.codex/auth.json`). */
export function credentialFileSecrets(file: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
  const found: string[] = [];
  const walk = (value: unknown, secretKey: boolean) => {
    if (typeof value === 'string') {
      if (secretKey) found.push(value);
    } else if (Array.isArray(value)) {
      for (const item of value) walk(item, secretKey);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) walk(item, secretKey || SECRET_FIELD.test(key));
    }
  };
  walk(parsed, false);
  return found;
}

export interface KnownSecretsInput {
  env: Readonly<Record<string, string | undefined>>;
  /** `llm.providers.<name>.env` of every provider: every value is secret but those of endpoint/model/switch names. */
  providerEnvs?: readonly Readonly<Record<string, string>>[];
  /** JSON login files whose credential fields are secret (missing files are skipped). */
  credentialFiles?: readonly string[];
  /** Plain files whose whole (trimmed) content is secret, e.g. `<data-dir>/admin-token`. */
  secretFiles?: readonly string[];
  extra?: readonly string[];
}

/**
 * ### Examples
 * ```ts
 * knownSecretValues({ env: { OPENAI_API_KEY: 'sk-…', DATABASE_URL: 'postgres://u:pw@db/x', HOME: '/root' } })
 * // ['sk-…', 'pw']  (HOME is not secret)
 * ```
 */
export function knownSecretValues(input: KnownSecretsInput): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(input.env)) {
    if (value === undefined) continue;
    if (looksSecretName(name)) values.add(value);
    for (const password of urlPasswords(value)) values.add(password);
  }
  for (const env of input.providerEnvs ?? []) {
    for (const [name, value] of Object.entries(env)) {
      if (!PLAIN_SETTING_NAME.test(name) || looksSecretName(name)) values.add(value);
      for (const password of urlPasswords(value)) values.add(password);
    }
  }
  for (const file of input.credentialFiles ?? []) for (const value of credentialFileSecrets(file)) values.add(value);
  for (const file of input.secretFiles ?? []) {
    try {
      values.add(fs.readFileSync(file, 'utf8').trim());
    } catch {
      // not there (yet): the caller registers it when it creates it
    }
  }
  for (const value of input.extra ?? []) values.add(value);
  return [...values].filter((value) => value.trim() !== '');
}
