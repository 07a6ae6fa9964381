/**
 * @module The secret masker on plain cases: a value in text, in its base64 forms (whole, url-safe, embedded at each
 * alignment), JSON-escaped, nested in JSON; short values left alone; and which environment values count as secret.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  credentialFileSecrets,
  knownSecretValues,
  looksSecretName,
  urlPasswords,
} from '../../src/secrets/known-secrets.js';
import { MASK, SecretMasker, secretForms } from '../../src/secrets/secret-masker.js';

const KEY = 'sk-ant-api03-Xy9_q+/7zZ';
const b64 = (text: string) => Buffer.from(text).toString('base64');
const b64url = (text: string) => Buffer.from(text).toString('base64url');

describe('SecretMasker', () => {
  const masker = new SecretMasker([KEY]);

  it('masks the value in text, every time it occurs', () => {
    expect(masker.maskText(`ANTHROPIC_API_KEY=${KEY}\nagain: ${KEY}!`)).toBe(
      `ANTHROPIC_API_KEY=${MASK}\nagain: ${MASK}!`,
    );
  });

  it('masks its base64 forms, standard and url-safe', () => {
    expect(masker.maskText(`token ${b64(KEY)} end`)).toBe(`token ${MASK} end`);
    expect(masker.maskText(`token ${b64url(KEY)} end`)).not.toContain(b64url(KEY).slice(0, 12));
  });

  it('masks the value base64-encoded inside a longer text, at each of the three alignments', () => {
    for (const prefix of ['', 'a', 'ab', 'abc', 'HOME=/root\nANTHROPIC_API_KEY=']) {
      for (const suffix of ['', '\n', 'xy', '\nPATH=/usr/bin\n']) {
        const encoded = b64(`${prefix}${KEY}${suffix}`);
        const masked = masker.maskText(`$ env | base64\n${encoded}\n`);
        expect(masked, `prefix ${JSON.stringify(prefix)} suffix ${JSON.stringify(suffix)}`).toContain(MASK);
        // What is left cannot be decoded back to the key.
        expect(Buffer.from(masked.replace(MASK, ''), 'base64').toString('latin1')).not.toContain(KEY.slice(4));
        const url = b64url(`${prefix}${KEY}${suffix}`);
        expect(masker.maskText(url)).toContain(MASK);
      }
    }
  });

  it('masks strings nested in JSON, keys included, and JSON text holding the value escaped', () => {
    const input = { events: [{ text: `key: ${KEY}` }, { out: b64(KEY), n: 3, ok: true, none: null }], [KEY]: 'x' };
    expect(masker.mask(input)).toEqual({
      events: [{ text: `key: ${MASK}` }, { out: MASK, n: 3, ok: true, none: null }],
      [MASK]: 'x',
    });
    const quoted = new SecretMasker(['pa"ss\\word-1234']);
    const json = JSON.stringify({ data: { env: 'PASSWORD=pa"ss\\word-1234' } });
    expect(quoted.maskText(json)).toBe(JSON.stringify({ data: { env: `PASSWORD=${MASK}` } }));
    expect(JSON.parse(quoted.maskText(json))).toEqual({ data: { env: `PASSWORD=${MASK}` } });
  });

  it('leaves values shorter than 8 characters alone, and text without secrets unchanged', () => {
    const short = new SecretMasker(['admin', 'true', '1234567']);
    expect(short.size).toBe(0);
    expect(short.maskText('admin true 1234567')).toBe('admin true 1234567');
    expect(masker.maskText('nothing secret here')).toBe('nothing secret here');
    expect(secretForms('12345678').every((form) => form.length >= 8)).toBe(true);
  });

  it('reads a source again after its interval: a credential written while running is masked from then on', () => {
    let clock = 0;
    const values = ['first-secret-0001'];
    const watched = new SecretMasker();
    watched.addSource({ read: () => values, everyMs: 5_000, now: () => clock });
    expect(watched.maskText('first-secret-0001 login-token-0002')).toBe(`${MASK} login-token-0002`);
    values.push('login-token-0002');
    clock = 4_999;
    expect(watched.maskText('login-token-0002')).toBe('login-token-0002');
    clock = 5_000;
    expect(watched.maskText('login-token-0002')).toBe(MASK);
  });

  it('masks values registered later', () => {
    const later = new SecretMasker();
    expect(later.maskText('token-abcdefgh-1')).toBe('token-abcdefgh-1');
    later.register('token-abcdefgh-1');
    expect(later.maskText('token-abcdefgh-1')).toBe(MASK);
  });
});

describe('knownSecretValues', () => {
  it('takes secret-looking variables, URL passwords, provider env values, login files and extra values', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-secrets-'));
    const credentials = path.join(dir, '.credentials.json');
    fs.writeFileSync(
      credentials,
      JSON.stringify({
        claudeAiOauth: { accessToken: 'oauth-access-123456', refreshToken: 'oauth-refresh-123456', expiresAt: 1 },
      }),
    );
    const tokenFile = path.join(dir, 'admin-token');
    fs.writeFileSync(tokenFile, 'admin-token-value-123456\n');
    try {
      const values = knownSecretValues({
        env: {
          ANTHROPIC_API_KEY: 'sk-ant-1111111111',
          GITHUB_TOKEN: 'ghp_2222222222',
          DB_PASSWORD: 'hunter2-hunter2',
          DATABASE_URL: 'postgres://app:p%40ss-word-9@db:5432/autodev',
          HOME: '/home/dev',
          PATH: '/usr/bin',
        },
        providerEnvs: [
          {
            ANTHROPIC_BASE_URL: 'http://gateway.local:8080',
            ANTHROPIC_MODEL: 'claude-sonnet-4-5',
            CLAUDE_CODE_USE_BEDROCK: 'true-ish-value',
            GATEWAY_CREDENTIAL: 'gw-cred-333333',
            SOMETHING_ELSE: 'unknown-name-55555',
          },
          { OPENAI_BASE_URL: 'https://user:url-pass-666666@proxy.local/v1' },
        ],
        credentialFiles: [credentials, path.join(dir, 'missing.json')],
        secretFiles: [tokenFile],
        extra: ['extra-secret-44444'],
      });
      expect(values.sort()).toEqual(
        [
          'sk-ant-1111111111',
          'ghp_2222222222',
          'hunter2-hunter2',
          'p%40ss-word-9',
          'p@ss-word-9',
          'gw-cred-333333',
          'unknown-name-55555',
          'url-pass-666666',
          'oauth-access-123456',
          'oauth-refresh-123456',
          'admin-token-value-123456',
          'extra-secret-44444',
        ].sort(),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells secret names and URL passwords', () => {
    for (const name of ['OPENAI_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'PGPASSWORD', 'MY_SECRET'])
      expect(looksSecretName(name), name).toBe(true);
    for (const name of ['HOME', 'PATH', 'ANTHROPIC_BASE_URL', 'LANG', 'KEYBOARD'])
      expect(looksSecretName(name), name).toBe(false);
    expect(urlPasswords('postgres://u@host/db')).toEqual([]);
    expect(urlPasswords('not a url')).toEqual([]);
    expect(credentialFileSecrets('/nonexistent/auth.json')).toEqual([]);
  });
});
