/**
 * @module Tests for the shipped role prompts and loadRolePrompt: every role has a prompt that asks for a verdict through
 * submit_result, and a user's copy (config dir, then data dir) overrides the shipped default.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROLES, TASK_TYPES_BY_ROLE, type Role } from '../../src/domain/roles.js';
import { findPackageRoot, loadRolePrompt, shippedAgentsDir } from '../../src/agents/load-role-prompt.js';
import { AutodevError } from '../../src/errors.js';

let tmp: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'autodev-prompts-'));
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('shipped role prompts', () => {
  it.each(ROLES)('%s has a prompt that loads from config/agents', async (role) => {
    const prompt = await loadRolePrompt(role, { dataDir: path.join(tmp, 'no-such-data-dir') });
    expect(prompt.origin).toBe('shipped');
    expect(prompt.sourcePath).toBe(path.join(shippedAgentsDir(), `${role}.md`));
    expect(prompt.text).toContain('submit_result');
  });

  it.each(ROLES)('%s covers its task types, blocked reporting and untrusted data, in 50..130 lines', async (role) => {
    const { text } = await loadRolePrompt(role, { dataDir: tmp });
    for (const type of TASK_TYPES_BY_ROLE[role]) expect(text).toContain(type);
    expect(text).toMatch(/status\s+`"blocked"`/);
    expect(text).toMatch(/exactly\s+once/);
    expect(text).toMatch(/instructions\s+found\s+in/i);
    expect(text).toMatch(/secret/i);
    const lines = text.split('\n').length;
    expect(lines).toBeGreaterThanOrEqual(50);
    expect(lines).toBeLessThanOrEqual(130);
  });

  it('the shipped directory is the package root config/agents', () => {
    expect(shippedAgentsDir()).toBe(path.resolve(import.meta.dirname, '../../config/agents'));
  });
});

describe('loadRolePrompt overrides', () => {
  async function writePrompt(dir: string, role: Role, text: string) {
    await mkdir(path.join(dir, 'agents'), { recursive: true });
    await writeFile(path.join(dir, 'agents', `${role}.md`), text);
  }

  it("uses the user's copy in <data-dir>/agents/<role>.md over the shipped one", async () => {
    await writePrompt(tmp, 'builder', '# My builder\nAlways call submit_result.\n');
    const prompt = await loadRolePrompt('builder', { dataDir: tmp });
    expect(prompt).toEqual({
      role: 'builder',
      text: '# My builder\nAlways call submit_result.\n',
      sourcePath: path.join(tmp, 'agents', 'builder.md'),
      origin: 'user',
    });
    // Other roles still come from the shipped defaults.
    expect((await loadRolePrompt('reviewer', { dataDir: tmp })).origin).toBe('shipped');
  });

  it('checks <config-dir>/agents before the data dir', async () => {
    const dataDir = path.join(tmp, 'data');
    const configDir = path.join(tmp, 'conf');
    await writePrompt(dataDir, 'pm', 'data-dir pm');
    await writePrompt(configDir, 'pm', 'config-dir pm');
    expect((await loadRolePrompt('pm', { dataDir, configDir })).text).toBe('config-dir pm');
    expect((await loadRolePrompt('pm', { dataDir, configDir: path.join(tmp, 'empty') })).text).toBe('data-dir pm');
  });

  it('rejects an empty override with an error naming the file', async () => {
    await writePrompt(tmp, 'tester', '  \n');
    const error = await loadRolePrompt('tester', { dataDir: tmp }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AutodevError);
    expect((error as AutodevError).code).toBe('CONFIG_INVALID');
    expect((error as AutodevError).message).toContain(path.join(tmp, 'agents', 'tester.md'));
  });

  it('rejects an unknown role', async () => {
    await expect(loadRolePrompt('janitor' as Role, { dataDir: tmp })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });
});

describe('findPackageRoot', () => {
  it('walks up from src/agents and from dist/src/agents to the directory with package.json', async () => {
    const root = path.join(tmp, 'pkg');
    await mkdir(path.join(root, 'src', 'agents'), { recursive: true });
    await mkdir(path.join(root, 'dist', 'src', 'agents'), { recursive: true });
    await writeFile(path.join(root, 'package.json'), '{"name":"auto-dev"}');
    expect(findPackageRoot(path.join(root, 'src', 'agents'))).toBe(root);
    expect(findPackageRoot(path.join(root, 'dist', 'src', 'agents'))).toBe(root);
  });

  it('finds this repository from the module under test', async () => {
    const root = findPackageRoot(path.resolve(import.meta.dirname, '../../src/agents'));
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { files?: string[] };
    // config/ ships with the package, so the prompts are there after `npm install` too.
    expect(pkg.files).toContain('config');
  });
});
