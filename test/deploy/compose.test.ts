/**
 * deploy/compose.yaml parsed with the `yaml` package (merge keys applied, as compose does) and checked: PostgreSQL,
 * the one-shot migrate step every other Auto-Dev service waits for, dashboard, webhook, scheduler and one service per
 * agent role with the right `autodev` command, health checks, a data volume per process, and no secret inline (the
 * rules of container-rules.ts, each first shown to fire on a bad example). No docker engine runs here: compose itself
 * is not run.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROLES } from '../../src/domain/roles.js';
import { checkCompose, COMPOSE_RULES, parseCompose, type ComposeFile, type ComposeRule } from './container-rules.js';

const COMPOSE_FILE = fileURLToPath(new URL('../../deploy/compose.yaml', import.meta.url));
const compose = parseCompose(fs.readFileSync(COMPOSE_FILE, 'utf8'));
const service = (name: string) => {
  const found = compose.services[name];
  if (!found) throw new Error(`no service ${name}`);
  return found;
};

describe('deploy/compose.yaml', () => {
  it('has PostgreSQL 15, the migrate step, dashboard, webhook, scheduler and one service per agent role', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['postgres', 'migrate', 'dashboard', 'webhook', 'scheduler', ...ROLES].sort(),
    );
    expect(service('postgres').image).toMatch(/^postgres:15\b/);
    expect(service('postgres').healthcheck?.test?.join(' ')).toContain('pg_isready');
  });

  it('runs `autodev db migrate` once, after PostgreSQL is healthy, and every other service after it succeeded', () => {
    const migrate = service('migrate');
    expect(migrate.command).toEqual(['db', 'migrate']);
    expect(migrate.restart).toBe('no');
    expect(migrate.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    for (const name of ['dashboard', 'webhook', 'scheduler', ...ROLES]) {
      expect(service(name).image).toBe(migrate.image);
      expect(service(name).depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        migrate: { condition: 'service_completed_successfully' },
      });
    }
  });

  it('gives each process its autodev command and a health check of its /ready', () => {
    const health = (name: string) => service(name).environment?.AUTODEV_HEALTHCHECK;
    expect(service('dashboard').command).toEqual(['serve', 'dashboard', '--host', '0.0.0.0', '--port', '8080']);
    expect(health('dashboard')).toBe('http://127.0.0.1:8080/ready');
    expect(service('webhook').command).toEqual(['serve', 'webhook', '--host', '0.0.0.0', '--port', '8081']);
    expect(health('webhook')).toBe('http://127.0.0.1:8081/ready');
    const healthPort = ['--host', '0.0.0.0', '--health-port', '8090'];
    expect(service('scheduler').command).toEqual(['serve', 'scheduler', ...healthPort]);
    expect(health('scheduler')).toBe('http://127.0.0.1:8090/ready');
    for (const role of ROLES) {
      expect(service(role).command).toEqual(['serve', `agent:${role}`, ...healthPort]);
      expect(health(role)).toBe('http://127.0.0.1:8090/ready');
    }
    for (const name of ['dashboard', 'webhook', 'scheduler', ...ROLES]) {
      expect(service(name).healthcheck?.test).toEqual(['CMD', 'node', '/app/deploy/healthcheck.mjs']);
      // SIGTERM, then this long before SIGKILL: the process hands its running tasks back within seconds.
      expect(service(name).stop_grace_period).toBe('60s');
    }
  });

  it('gives every Auto-Dev process a data volume of its own and the same PostgreSQL', () => {
    const volumes = ['dashboard', 'webhook', 'scheduler', ...ROLES].map((name) => {
      const dataVolume = (service(name).volumes ?? []).find((v) => v.endsWith(':/data'));
      expect(dataVolume, name).toBeDefined();
      expect(service(name).environment?.DATABASE_URL).toMatch(/^postgres:\/\/autodev:.*@postgres:5432\/autodev$/);
      return (dataVolume as string).split(':')[0] as string;
    });
    expect(new Set(volumes).size).toBe(volumes.length);
    for (const volume of volumes) expect(Object.keys(compose.volumes ?? {})).toContain(volume);
  });

  it('lets the agents run bubblewrap (user namespaces, a fresh /proc) and nobody else', () => {
    for (const role of ROLES) {
      expect(service(role).security_opt).toEqual([
        'seccomp=unconfined',
        'apparmor=unconfined',
        'systempaths=unconfined',
      ]);
    }
    for (const name of ['postgres', 'migrate', 'dashboard', 'webhook', 'scheduler']) {
      expect(service(name).security_opt).toBeUndefined();
    }
  });

  it('breaks none of the compose rules', () => {
    expect(checkCompose(compose)).toEqual([]);
  });

  const bad = (services: ComposeFile['services']): ComposeFile => ({ services });
  const BAD_EXAMPLES: Record<ComposeRule, ComposeFile> = {
    'waits-for-migrate': bad({
      migrate: { image: 'app', restart: 'no', command: ['db', 'migrate'] },
      web: { image: 'app', depends_on: { migrate: { condition: 'service_started' } }, healthcheck: { test: ['CMD'] } },
    }),
    healthcheck: bad({ web: { image: 'web' } }),
    'inline-secret': bad({
      web: {
        image: 'web',
        healthcheck: { test: ['CMD'] },
        environment: { DATABASE_URL: 'postgres://app:hunter2@db/app', API_TOKEN: '${API_TOKEN:-default-token}' },
      },
    }),
    'public-port': bad({ web: { image: 'web', healthcheck: { test: ['CMD'] }, ports: ['8080:8080'] } }),
  };

  it.each(COMPOSE_RULES)('rule %s fires on a bad example', (rule) => {
    const findings = checkCompose(BAD_EXAMPLES[rule]);
    expect(findings.map((f) => f.rule)).toContain(rule);
    if (rule === 'inline-secret') {
      expect(findings.map((f) => f.message)).toEqual([
        'DATABASE_URL has a password written inline',
        'API_TOKEN is written inline',
      ]);
    }
  });
});
