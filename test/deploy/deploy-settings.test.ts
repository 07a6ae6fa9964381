/**
 * What the deployment files hand Auto-Dev is what Auto-Dev reads: the environment of every compose service and of the
 * ECS task definitions loads through the real settings loader (a renamed or mistyped AUTODEV_<SECTION>__<KEY> fails
 * here, not at 3 a.m. in a container), and every ECS service, stream prefix and `autodev` command (with its options)
 * that docs/OPERATIONS.md names exists.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import type { CliDeps } from '../../src/cli/context.js';
import { loadSettings } from '../../src/config/load-settings.js';
import { ROLES } from '../../src/domain/roles.js';
import { parseCompose } from './container-rules.js';
import { loadTerraformDir, resolveText, type TerraformConfig } from './terraform-config.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const compose = parseCompose(fs.readFileSync(path.join(ROOT, 'deploy/compose.yaml'), 'utf8'));
const operations = fs.readFileSync(path.join(ROOT, 'docs/OPERATIONS.md'), 'utf8');

/** Compose's interpolation with nothing set in the shell: `${X:-default}` is the default, `${X:?msg}` a stand-in. */
function interpolateUnset(value: string): string {
  return value.replace(/\$\{[A-Z_][A-Z0-9_]*(?::-([^}]*)|:\?[^}]*)?\}/g, (whole, fallback: string | undefined) =>
    fallback !== undefined ? fallback : whole.includes(':?') ? 'set-in-the-shell' : '',
  );
}

let dataDir: string;
let terraform: TerraformConfig;
beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-deploy-settings-'));
  terraform = await loadTerraformDir(path.join(ROOT, 'deploy/terraform'));
});
afterAll(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the deployment environments load as settings', () => {
  it.each(Object.keys(compose.services).filter((name) => name !== 'postgres'))('compose service %s', (name) => {
    const env = Object.fromEntries(
      Object.entries(compose.services[name]?.environment ?? {}).map(([key, value]) => [
        key,
        interpolateUnset(String(value)),
      ]),
    );
    const { settings } = loadSettings({ dataDir, env });
    expect(settings.secrets.provider).toBe('environment');
    expect(settings.secrets.prefix).toBe('/auto-dev');
    expect(settings.log.level).toBe('info');
  });

  it('the ECS tasks, with the ssm secret provider in the region of the module', () => {
    const env = Object.fromEntries(
      Object.entries(terraform.locals.common_environment as Record<string, string>).map(([key, value]) => [
        key,
        resolveText(terraform, value),
      ]),
    );
    const { settings } = loadSettings({ dataDir, env });
    expect(settings.secrets).toMatchObject({ provider: 'ssm', prefix: '/auto-dev', region: 'us-east-1' });
  });
});

describe('docs/OPERATIONS.md names what exists', () => {
  const services = ['dashboard', 'webhook', 'scheduler', ...ROLES];

  it('every ECS service it names is one of the module', () => {
    const named = [
      ...operations.matchAll(/--services? auto-dev-([a-z_]+)|--service-name auto-dev-([a-z_]+)|--services ([^|\n]+)/g),
    ].flatMap((m) => (m[3] ? [...m[3].matchAll(/auto-dev-([a-z_]+)/g)].map((n) => n[1]) : [m[1] ?? m[2]]));
    const loops = [...operations.matchAll(/for svc in ([a-z_ ]+); do/g)].flatMap((m) => (m[1] as string).split(' '));
    expect(named.length).toBeGreaterThan(5);
    expect(loops.length).toBeGreaterThan(10);
    for (const name of [...named, ...loops]) expect(services).toContain(name);
  });

  it('every log stream prefix it names is a task definition of the module', () => {
    const prefixes = [...operations.matchAll(/--log-stream-name-prefix ([a-z_]+)\//g)].map((m) => m[1]);
    expect(prefixes.length).toBeGreaterThan(0);
    for (const prefix of prefixes) expect([...services, 'migrate']).toContain(prefix);
    expect(resolveText(terraform, String(terraform.locals.name))).toBe('auto-dev');
  });

  it('every autodev command it shows exists in the CLI', () => {
    const deps = { stdout: process.stdout, stderr: process.stderr } as unknown as CliDeps;
    const program = buildProgram(deps).program;
    const commands = new Map(program.commands.map((c) => [c.name(), c.commands.map((s) => s.name())]));
    const shown = [...operations.matchAll(/`?autodev ([a-z]+)(?: ([a-z]+))?/g)].map((m) => [m[1], m[2]] as const);
    expect(shown.length).toBeGreaterThan(10);
    for (const [command, sub] of shown) {
      expect([...commands.keys()], `autodev ${command}`).toContain(command);
      const subs = commands.get(command as string) ?? [];
      if (subs.length > 0 && sub !== undefined && !['agent', 'dashboard', 'webhook', 'scheduler'].includes(sub)) {
        expect(subs, `autodev ${command} ${sub}`).toContain(sub);
      }
    }
  });

  it('every option it gives an autodev command is one of that command', () => {
    const deps = { stdout: process.stdout, stderr: process.stderr } as unknown as CliDeps;
    const program = buildProgram(deps).program;
    const globalOptions = program.options.map((o) => o.long);
    // `autodev CMD [SUB] ...` up to the end of the command: a pipe, `;`, `#`, a closing backtick or the line's end.
    const shown = [...operations.matchAll(/autodev ([a-z]+)((?: [^|;#`\n]*)?)/g)];
    let checked = 0;
    for (const [text, name, rest] of shown) {
      const command = program.commands.find((c) => c.name() === name);
      if (!command) continue; // the test above fails for it
      const words = (rest ?? '').trim().split(/\s+/);
      const sub = command.commands.find((c) => c.name() === words[0]);
      const known = [...globalOptions, ...(sub ?? command).options.map((o) => o.long)];
      for (const option of (rest ?? '').match(/(?<=^|\s)--[a-z][a-z-]*/g) ?? []) {
        expect(known, text).toContain(option);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });
});
