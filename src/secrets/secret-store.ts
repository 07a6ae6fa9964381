/**
 * @module The one door through which Auto-Dev's own steps read secrets (a deploy, a publisher, the webhook check):
 * `readSecret(name)` returns the value and registers it with the process's secret masker first, so from then on it
 * is masked in logs, transcripts, events, API output and stored results. Agent sessions never get a SecretStore.
 */
import type { SecretMasker } from './secret-masker.js';
import { fullSecretName, type SecretProvider } from './secret-provider.js';

export class SecretStore {
  constructor(
    readonly provider: SecretProvider,
    readonly prefix: string,
    private readonly masker: SecretMasker,
  ) {}

  /** The value of `name` (`npm/token` or `/auto-dev/npm/token`), masked from now on; undefined when not set. */
  async readSecret(name: string): Promise<string | undefined> {
    const value = await this.provider.get(fullSecretName(this.prefix, name));
    if (value !== undefined) this.masker.register(value);
    return value;
  }

  /** The values of those of `names` the store has, by the name as given. */
  async readSecrets(names: readonly string[]): Promise<Record<string, string>> {
    const found: Record<string, string> = {};
    for (const name of names) {
      const value = await this.readSecret(name);
      if (value !== undefined) found[name] = value;
    }
    return found;
  }
}
