import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileJournal, journalFile } from '../../src/publish/publish-journal.js';
import { SecretMasker } from '../../src/secrets/secret-masker.js';

const dirs: string[] = [];
const stateDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-journal-'));
  dirs.push(dir);
  return dir;
};

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const key = { product: 'text-kit', version: '1.0.0', target: 'gumroad' } as const;

describe('file journal', () => {
  it('keeps done steps across a restart: a recorded step is not run again, a failed one is', async () => {
    const dir = stateDir();
    const first = fileJournal(dir, key);
    expect(await first.step('create_product', async () => ({ id: 'prod1' }))).toEqual({ id: 'prod1' });
    await expect(
      first.step('upload_file:a.zip', async () => {
        throw new Error('upload broke');
      }),
    ).rejects.toThrow('upload broke');
    first.finish({ status: 'failed', url: null, error: 'upload_file:a.zip: upload broke' });

    const afterRestart = fileJournal(dir, key);
    const runs: string[] = [];
    const created = await afterRestart.step('create_product', async () => {
      runs.push('create_product');
      return { id: 'prod2' };
    });
    const uploaded = await afterRestart.step('upload_file:a.zip', async () => {
      runs.push('upload');
      return { url: 'https://files/a.zip' };
    });
    expect(created).toEqual({ id: 'prod1' });
    expect(uploaded).toEqual({ url: 'https://files/a.zip' });
    expect(runs).toEqual(['upload']);
    const record = JSON.parse(fs.readFileSync(journalFile(dir, key), 'utf8')) as {
      steps: { name: string }[];
      last: unknown;
    };
    expect(record.steps.map((s) => s.name)).toEqual(['create_product', 'upload_file:a.zip']);
    expect(record.last).toMatchObject({ status: 'failed', error: 'upload_file:a.zip: upload broke' });
    expect(fs.statSync(journalFile(dir, key)).mode & 0o777).toBe(0o600);
  });

  it('starts a new record for a new version', async () => {
    const dir = stateDir();
    await fileJournal(dir, key).step('create_product', async () => ({ id: 'prod1' }));
    const next = fileJournal(dir, { ...key, version: '1.1.0' });
    expect(next.read().steps).toEqual([]);
    expect(await next.step('create_product', async () => ({ id: 'prod9' }))).toEqual({ id: 'prod9' });
  });

  it('masks known secrets in what it records', async () => {
    const dir = stateDir();
    const masker = new SecretMasker(['canary-secret-91ab27cd']);
    const journal = fileJournal(dir, key, masker);
    await journal.step('create_product', async () => ({ echoed: 'token canary-secret-91ab27cd' }));
    journal.finish({ status: 'failed', url: null, error: 'refused canary-secret-91ab27cd' });
    const text = fs.readFileSync(journalFile(dir, key), 'utf8');
    expect(text).not.toContain('canary-secret-91ab27cd');
    expect(text).toContain('token [masked]');
  });
});
