/**
 * @module One contract every secret provider passes (environment; the AES-256-GCM file with the key from
 * AUTODEV_MASTER_KEY and from a key file; AWS SSM Parameter Store on moto's server mode, a real AWS emulator run
 * locally), then what only one provider promises: the encrypted file survives a restart, refuses a wrong key, a
 * tampered file and a key file others may read, and holds no plaintext; SSM stores SecureStrings and pages its list.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentProvider } from '../../src/secrets/environment-provider.js';
import { encryptedFileProvider, SECRETS_FILE } from '../../src/secrets/encrypted-file-provider.js';
import { SecretMasker } from '../../src/secrets/secret-masker.js';
import { fullSecretName, type SecretProvider } from '../../src/secrets/secret-provider.js';
import { SecretStore } from '../../src/secrets/secret-store.js';
import { ssmClientConfig, ssmProvider } from '../../src/secrets/ssm-provider.js';
import { expectCode } from '../support/expect-error.js';
import { MOTO_AWS_ENV, freshSsmPrefix, motoEndpoint } from '../support/secret-fixtures.js';

/** The guide's names, relative to the prefix. */
const GUIDE_NAMES = [
  'gumroad/email',
  'github/token',
  'npm/token',
  'vercel/token',
  'apify/api_key',
  'gitlab-webhook-secret',
  'openai/api_key',
];

interface ProviderCase {
  label: string;
  /** A provider under a prefix of its own, and how to put a secret into its store behind its back. */
  make(): { provider: SecretProvider; prefix: string; seed(fullName: string, value: string): Promise<void> };
}

let scratch: string;
beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-secrets-'));
});
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function freshDir(): string {
  return fs.mkdtempSync(path.join(scratch, 'd-'));
}

const CASES: ProviderCase[] = [
  {
    label: 'environment',
    make() {
      const prefix = '/auto-dev';
      const env: Record<string, string | undefined> = { HOME: '/root' };
      const known = GUIDE_NAMES.map((name) => `${prefix}/${name}`);
      const provider = environmentProvider({ prefix, env, knownNames: known });
      return {
        provider,
        prefix,
        seed: (fullName, value) => {
          env[
            fullName
              .slice(prefix.length + 1)
              .toUpperCase()
              .replace(/[/.-]/g, '_')
          ] = value;
          return Promise.resolve();
        },
      };
    },
  },
  {
    label: 'file (AUTODEV_MASTER_KEY)',
    make() {
      const prefix = '/auto-dev';
      const dir = freshDir();
      const provider = encryptedFileProvider({
        file: path.join(dir, SECRETS_FILE),
        keyFile: path.join(dir, 'secrets.key'),
        env: { AUTODEV_MASTER_KEY: 'master-key-from-the-environment' },
        prefix,
      });
      return { provider, prefix, seed: (name, value) => provider.set(name, value) };
    },
  },
  {
    label: 'file (key file of mode 0600)',
    make() {
      const prefix = '/auto-dev';
      const dir = freshDir();
      const keyFile = path.join(dir, 'secrets.key');
      fs.writeFileSync(keyFile, 'master-key-from-a-file\n', { mode: 0o600 });
      const provider = encryptedFileProvider({ file: path.join(dir, SECRETS_FILE), keyFile, env: {}, prefix });
      return { provider, prefix, seed: (name, value) => provider.set(name, value) };
    },
  },
  {
    label: 'ssm (moto server mode, a real AWS emulator)',
    make() {
      const prefix = freshSsmPrefix();
      const provider = ssmProvider({ prefix, region: 'us-east-1', endpoint: motoEndpoint(), env: MOTO_AWS_ENV });
      return { provider, prefix, seed: (name, value) => provider.set(name, value) };
    },
  },
];

describe.each(CASES)('secret provider contract: $label', (providerCase) => {
  it('reads what its store holds, byte for byte, and nothing for a name it lacks', async () => {
    const { provider, prefix, seed } = providerCase.make();
    expect(await provider.get(`${prefix}/npm/token`)).toBeUndefined();
    const value = 'npm_tok€n with spaces\nand a second line=';
    await seed(`${prefix}/npm/token`, value);
    expect(await provider.get(`${prefix}/npm/token`)).toBe(value);
    expect(await provider.get(`${prefix}/github/token`)).toBeUndefined();
  });

  it("lists the guide's names it holds, full and sorted, and no values", async () => {
    const { provider, prefix, seed } = providerCase.make();
    for (const name of GUIDE_NAMES) await seed(`${prefix}/${name}`, `value-of-${name}-0123456789`);
    const listed = await provider.list();
    expect(listed).toEqual(GUIDE_NAMES.map((name) => `${prefix}/${name}`).sort());
    expect(listed.join('\n')).not.toContain('value-of-');
  });

  it('hands a value read through the SecretStore to the masker', async () => {
    const { provider, prefix, seed } = providerCase.make();
    await seed(`${prefix}/vercel/token`, 'vercel-canary-7d1e0b5a93');
    const masker = new SecretMasker();
    const store = new SecretStore(provider, prefix, masker);
    expect(await store.readSecret('vercel/token')).toBe('vercel-canary-7d1e0b5a93');
    expect(masker.maskText('deploying with vercel-canary-7d1e0b5a93')).toBe('deploying with [masked]');
    expect(await store.readSecrets(['vercel/token', 'npm/token'])).toEqual({
      'vercel/token': 'vercel-canary-7d1e0b5a93',
    });
  });

  it('writes, overwrites and deletes when it is writable; refuses both and changes nothing when it is not', async () => {
    const { provider, prefix, seed } = providerCase.make();
    const name = `${prefix}/apify/api_key`;
    await seed(name, 'first-value-123456');
    if (!provider.writable) {
      await expectCode(provider.set(name, 'other'), 'SECRET_STORE_READ_ONLY');
      await expectCode(provider.delete(name), 'SECRET_STORE_READ_ONLY');
      expect(await provider.get(name)).toBe('first-value-123456');
      return;
    }
    await provider.set(name, 'second-value-123456');
    expect(await provider.get(name)).toBe('second-value-123456');
    expect(await provider.delete(name)).toBe(true);
    expect(await provider.get(name)).toBeUndefined();
    expect(await provider.delete(name)).toBe(false);
    expect(await provider.list()).not.toContain(name);
  });
});

describe('secret names', () => {
  it('takes a name relative to the prefix or full, and refuses anything outside it or malformed', async () => {
    expect(fullSecretName('/auto-dev', 'npm/token')).toBe('/auto-dev/npm/token');
    expect(fullSecretName('/auto-dev', '/auto-dev/gitlab-webhook-secret')).toBe('/auto-dev/gitlab-webhook-secret');
    for (const bad of ['/other/npm/token', '', 'npm//token', '../x', 'npm/../token', 'a b', '/auto-dev', 'x\u0000y']) {
      await expectCode(
        Promise.resolve().then(() => fullSecretName('/auto-dev', bad)),
        'SECRET_NAME_INVALID',
      );
    }
  });
});

describe('encrypted file provider', () => {
  const KEY = 'the-right-master-key';
  const CANARY = 'file-canary-4b8e2f0c6d';

  function provider(dir: string, env: Record<string, string>, keyFile = path.join(dir, 'secrets.key')) {
    return encryptedFileProvider({ file: path.join(dir, SECRETS_FILE), keyFile, env, prefix: '/auto-dev' });
  }

  it('survives a restart (a new provider over the same file), keeps no plaintext and writes mode 0600', async () => {
    const dir = freshDir();
    await provider(dir, { AUTODEV_MASTER_KEY: KEY }).set('/auto-dev/npm/token', CANARY);
    const file = path.join(dir, SECRETS_FILE);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const raw = fs.readFileSync(file, 'utf8');
    expect(raw).not.toContain(CANARY);
    expect(raw).not.toContain(Buffer.from(CANARY).toString('base64').slice(0, 12));
    expect(fs.readdirSync(dir)).toEqual([SECRETS_FILE]);
    expect(await provider(dir, { AUTODEV_MASTER_KEY: KEY }).get('/auto-dev/npm/token')).toBe(CANARY);
  });

  it('refuses a wrong key clearly and leaves the file as it was', async () => {
    const dir = freshDir();
    await provider(dir, { AUTODEV_MASTER_KEY: KEY }).set('/auto-dev/npm/token', CANARY);
    const before = fs.readFileSync(path.join(dir, SECRETS_FILE));
    const wrong = provider(dir, { AUTODEV_MASTER_KEY: 'not-the-master-key' });
    const error = await expectCode(wrong.get('/auto-dev/npm/token'), 'SECRET_KEY_WRONG');
    expect(error.message).toContain('master key');
    await expectCode(wrong.set('/auto-dev/github/token', 'x-123456789'), 'SECRET_KEY_WRONG');
    await expectCode(wrong.list(), 'SECRET_KEY_WRONG');
    expect(fs.readFileSync(path.join(dir, SECRETS_FILE))).toEqual(before);
  });

  it('refuses a file altered on disk as it refuses a wrong key', async () => {
    const dir = freshDir();
    await provider(dir, { AUTODEV_MASTER_KEY: KEY }).set('/auto-dev/npm/token', CANARY);
    const file = path.join(dir, SECRETS_FILE);
    const envelope = JSON.parse(fs.readFileSync(file, 'utf8')) as { data: string };
    const data = Buffer.from(envelope.data, 'base64');
    data[0] = (data[0] ?? 0) ^ 1;
    fs.writeFileSync(file, JSON.stringify({ ...envelope, data: data.toString('base64') }));
    await expectCode(provider(dir, { AUTODEV_MASTER_KEY: KEY }).get('/auto-dev/npm/token'), 'SECRET_KEY_WRONG');
  });

  it('refuses a key file others may read, and says so; no key at all is refused with what to do', async () => {
    const dir = freshDir();
    const keyFile = path.join(dir, 'secrets.key');
    fs.writeFileSync(keyFile, KEY, { mode: 0o644 });
    fs.chmodSync(keyFile, 0o644);
    const loose = await expectCode(
      provider(dir, {}, keyFile).set('/auto-dev/npm/token', CANARY),
      'SECRET_KEY_FILE_INSECURE',
    );
    expect(loose.message).toContain('chmod 600');
    expect(fs.existsSync(path.join(dir, SECRETS_FILE))).toBe(false);
    fs.chmodSync(keyFile, 0o600);
    await provider(dir, {}, keyFile).set('/auto-dev/npm/token', CANARY);
    // The same key from the environment reads the file the key file wrote.
    expect(await provider(dir, { AUTODEV_MASTER_KEY: KEY }).get('/auto-dev/npm/token')).toBe(CANARY);
    const missing = await expectCode(provider(freshDir(), {}).get('/auto-dev/npm/token'), 'SECRET_KEY_MISSING');
    expect(missing.message).toContain('AUTODEV_MASTER_KEY');
  });
});

describe('ssm provider on moto (a real AWS emulator)', () => {
  it('stores SecureString parameters under the prefix and pages through a long list', async () => {
    const prefix = freshSsmPrefix();
    const config = { prefix, region: 'us-east-1', endpoint: motoEndpoint(), env: MOTO_AWS_ENV };
    const ssm = ssmProvider({ ...config, pageSize: 2 });
    const names = Array.from({ length: 7 }, (_, i) => `${prefix}/deploy/SECRET_${i}`);
    for (const name of names) await ssm.set(name, `value-${name}`);
    // A parameter outside the prefix is not listed.
    const client = new SSMClient(ssmClientConfig(config));
    await client.send(new PutParameterCommand({ Name: `${prefix}-other/x`, Value: 'v', Type: 'String' }));
    expect(await ssm.list()).toEqual([...names].sort());
    const raw = await client.send(new GetParameterCommand({ Name: names[0] }));
    expect(raw.Parameter?.Type).toBe('SecureString');
    client.destroy();
  });
});
