/**
 * The Dockerfile and .dockerignore, read statically (no docker engine runs on this machine): multi-stage,
 * linux/amd64, non-root, HEALTHCHECK, nothing downloaded beyond Debian packages and npm (the rules of
 * container-rules.ts, each first shown to fire on a bad example); the build stage builds and prunes; the runtime stage
 * has bubblewrap, git and the agent CLIs at the paths where the npm packages put them (checked in node_modules here).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkDockerfile, DOCKERFILE_RULES, parseDockerfile, type DockerfileRule } from './container-rules.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCKERFILE = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(DOCKERFILE);
const stage = (name: string) => {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage ${name}`);
  return found;
};
const runs = (name: string) =>
  stage(name)
    .instructions.filter((i) => i.keyword === 'RUN')
    .map((i) => i.args);

describe('Dockerfile', () => {
  it('has a build stage and a runtime stage, the runtime last', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
  });

  it('breaks none of the Dockerfile rules', () => {
    expect(checkDockerfile(DOCKERFILE)).toEqual([]);
  });

  it('builds with npm ci and npm run build, then keeps production dependencies only', () => {
    const build = runs('build').join('\n');
    expect(build).toMatch(/\bnpm ci\b/);
    expect(build).toMatch(/\bnpm run build\b.*\bnpm prune --omit=dev\b/);
    // better-sqlite3 compiled against the image's Node headers: no prebuilt binary or header download.
    const env = stage('build')
      .instructions.filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toContain('npm_config_build_from_source=true');
    expect(env).toContain('npm_config_nodedir=/usr/local');
  });

  it('copies every directory tsconfig.build.json compiles into the build stage', () => {
    const include = (
      JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] }
    ).include;
    const copied = stage('build')
      .instructions.filter((i) => i.keyword === 'COPY')
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const dir of include) expect(copied).toContain(dir);
    for (const source of copied) expect(fs.existsSync(path.join(ROOT, source)), source).toBe(true);
  });

  it('installs bubblewrap and git from Debian in the runtime stage', () => {
    expect(runs('runtime').join('\n')).toMatch(/apt-get install -y --no-install-recommends bubblewrap git/);
  });

  it('puts the Claude Code and Codex CLIs of the npm packages on PATH, at paths that exist in node_modules', () => {
    const links = [
      ...runs('runtime')
        .join('\n')
        .matchAll(/ln -s \/app\/(\S+) \/usr\/local\/bin\/(\S+)/g),
    ].map((m) => [m[2] as string, m[1] as string] as const);
    expect(links.map(([name]) => name)).toEqual(['autodev', 'claude', 'codex']);
    for (const [name, target] of links) {
      if (name === 'autodev') expect(target).toBe('dist/cli/autodev.js');
      else expect(fs.existsSync(path.join(ROOT, target)), target).toBe(true);
    }
    expect(fs.existsSync(path.join(ROOT, 'src/cli/bin/autodev.ts'))).toBe(true);
    // The build fails when a CLI is missing or broken.
    expect(runs('runtime').join('\n')).toMatch(/claude --version.*codex --version.*bwrap --version/);
  });

  it('runs as the node user with a health check of deploy/healthcheck.mjs', () => {
    const runtime = stage('runtime').instructions;
    expect(runtime.filter((i) => i.keyword === 'USER').map((i) => i.args)).toEqual(['node']);
    const health = runtime.find((i) => i.keyword === 'HEALTHCHECK')?.args ?? '';
    expect(health).toContain('CMD ["node", "/app/deploy/healthcheck.mjs"]');
    expect(
      runtime.some((i) => i.keyword === 'COPY' && i.args.endsWith('deploy/healthcheck.mjs ./deploy/healthcheck.mjs')),
    ).toBe(true);
  });

  it('.dockerignore keeps local data, credentials and dependencies out of the build', () => {
    const ignored = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', '.git', '.autodev', '.env', '**/.npmrc', '**/.aws']) {
      expect(ignored).toContain(entry);
    }
  });

  const BAD_EXAMPLES: Record<DockerfileRule, string> = {
    platform: 'FROM node:20 AS build\nFROM node:20\nCOPY --from=build /a /a\nUSER node\nHEALTHCHECK CMD true\n',
    'multi-stage': 'FROM --platform=linux/amd64 node:20\nUSER node\nHEALTHCHECK CMD true\n',
    'non-root':
      'FROM --platform=linux/amd64 node:20 AS build\nFROM --platform=linux/amd64 node:20\nCOPY --from=build /a /a\nHEALTHCHECK CMD true\n',
    healthcheck:
      'FROM --platform=linux/amd64 node:20 AS build\nFROM --platform=linux/amd64 node:20\nCOPY --from=build /a /a\nUSER node\n',
    'remote-download':
      'FROM --platform=linux/amd64 node:20 AS build\nRUN apt-get update && \\\n  curl -fsSL https://example.com/install.sh | sh\n' +
      'FROM --platform=linux/amd64 node:20\nCOPY --from=build /a /a\nUSER node\nHEALTHCHECK CMD true\n',
  };

  it.each(DOCKERFILE_RULES)('rule %s fires on a bad example', (rule) => {
    expect(new Set(checkDockerfile(BAD_EXAMPLES[rule]).map((f) => f.rule))).toEqual(new Set([rule]));
  });
});
