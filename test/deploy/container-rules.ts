/**
 * @module Static rules for the container artefacts, for the deployment tests: a Dockerfile read into stages and
 * instructions (continuation lines joined, comments dropped) and a compose file as the `yaml` package parses it.
 *
 * Dockerfile rules: every stage pinned to linux/amd64; multi-stage, the final stage copying from an earlier one; the
 * final stage's user not root; a HEALTHCHECK; nothing downloaded with curl/wget, piped into a shell or ADDed from a
 * URL. Compose rules: every Auto-Dev service waits for the one-shot migrate step to finish successfully; every
 * long-running service has a health check; no secret written inline (a secret-named variable or a URL's password
 * must come from `${VARIABLE}` with no literal default); ports published on 127.0.0.1 only.
 */
import { parse } from 'yaml';

export interface DockerInstruction {
  keyword: string;
  args: string;
}

export interface DockerStage {
  from: string;
  name: string | undefined;
  instructions: DockerInstruction[];
}

/** Stages of a Dockerfile, each with its instructions (FROM first). */
export function parseDockerfile(text: string): DockerStage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(`${pending}${line}`.trim());
    pending = '';
  }
  if (pending.trim() !== '') logical.push(pending.trim());
  const stages: DockerStage[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    if (!match) continue;
    const instruction = { keyword: (match[1] as string).toUpperCase(), args: (match[2] as string).trim() };
    if (instruction.keyword === 'FROM') {
      const name = /\sAS\s+(\S+)\s*$/i.exec(instruction.args)?.[1];
      stages.push({ from: instruction.args, name, instructions: [instruction] });
    } else if (stages.length > 0) {
      (stages[stages.length - 1] as DockerStage).instructions.push(instruction);
    }
  }
  return stages;
}

export const DOCKERFILE_RULES = ['platform', 'multi-stage', 'non-root', 'healthcheck', 'remote-download'] as const;
export type DockerfileRule = (typeof DOCKERFILE_RULES)[number];

export interface DockerfileFinding {
  rule: DockerfileRule;
  message: string;
}

export function checkDockerfile(text: string): DockerfileFinding[] {
  const stages = parseDockerfile(text);
  const findings: DockerfileFinding[] = [];
  for (const stage of stages) {
    if (!/--platform=linux\/amd64\b/.test(stage.from)) {
      findings.push({ rule: 'platform', message: `FROM ${stage.from} is not pinned to linux/amd64` });
    }
  }
  const final = stages[stages.length - 1];
  if (!final) return [{ rule: 'multi-stage', message: 'no FROM' }];
  const earlier = stages.slice(0, -1).map((stage) => stage.name);
  const copiesFromEarlier = final.instructions.some((i) => {
    const from = /--from=(\S+)/.exec(i.args)?.[1];
    return i.keyword === 'COPY' && from !== undefined && earlier.includes(from);
  });
  if (stages.length < 2 || !copiesFromEarlier) {
    findings.push({ rule: 'multi-stage', message: 'the final stage must copy its build from an earlier stage' });
  }
  const users = final.instructions.filter((i) => i.keyword === 'USER');
  const user = users[users.length - 1]?.args.split(':')[0];
  if (user === undefined || user === 'root' || user === '0') {
    findings.push({ rule: 'non-root', message: `the final stage runs as ${user ?? 'root (no USER)'}` });
  }
  const health = final.instructions.find((i) => i.keyword === 'HEALTHCHECK');
  if (!health || /^NONE\b/i.test(health.args)) {
    findings.push({ rule: 'healthcheck', message: 'the final stage has no HEALTHCHECK' });
  }
  for (const stage of stages) {
    for (const i of stage.instructions) {
      if (i.keyword === 'RUN' && /\b(curl|wget)\b/.test(i.args)) {
        findings.push({ rule: 'remote-download', message: `RUN downloads with curl/wget: ${i.args}` });
      }
      if (i.keyword === 'RUN' && /\|\s*(sudo\s+)?(ba|z|da)?sh\b/.test(i.args)) {
        findings.push({ rule: 'remote-download', message: `RUN pipes into a shell: ${i.args}` });
      }
      if (i.keyword === 'ADD' && /https?:\/\//.test(i.args)) {
        findings.push({ rule: 'remote-download', message: `ADD from a URL: ${i.args}` });
      }
    }
  }
  return findings;
}

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  restart?: string;
  stop_grace_period?: string;
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string | number | boolean | null>;
  healthcheck?: { test?: string[]; disable?: boolean };
  ports?: string[];
  volumes?: string[];
  security_opt?: string[];
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** A compose file as compose reads it (YAML merge keys `<<:` applied). */
export function parseCompose(text: string): ComposeFile {
  return parse(text, { merge: true }) as ComposeFile;
}

export const COMPOSE_RULES = ['waits-for-migrate', 'healthcheck', 'inline-secret', 'public-port'] as const;
export type ComposeRule = (typeof COMPOSE_RULES)[number];

export interface ComposeFinding {
  rule: ComposeRule;
  service: string;
  message: string;
}

/** The name of the one-shot migration service. */
export const MIGRATE_SERVICE = 'migrate';

/** A variable named like a secret: ends in PASSWORD, SECRET, TOKEN, API_KEY, ACCESS_KEY or CREDENTIALS. */
const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY|CREDENTIALS?)$/i;
/** `${NAME}`, `${NAME:-}` or `${NAME:?message}`: from the environment, with no literal default. */
const FROM_ENVIRONMENT = /^\$\{[A-Z_][A-Z0-9_]*(:-|:\?[^}]*)?\}$/;

function isAutodevService(file: ComposeFile, name: string): boolean {
  const migrate = file.services[MIGRATE_SERVICE];
  const service = file.services[name] as ComposeService;
  return name !== MIGRATE_SERVICE && migrate !== undefined && service.image === migrate.image;
}

export function checkCompose(file: ComposeFile): ComposeFinding[] {
  const findings: ComposeFinding[] = [];
  for (const [name, service] of Object.entries(file.services)) {
    if (isAutodevService(file, name)) {
      const condition = service.depends_on?.[MIGRATE_SERVICE]?.condition;
      if (condition !== 'service_completed_successfully') {
        findings.push({ rule: 'waits-for-migrate', service: name, message: `waits for migrate: ${condition ?? 'no'}` });
      }
    }
    const oneShot = service.restart === 'no';
    if (!oneShot && (service.healthcheck?.disable === true || (service.healthcheck?.test ?? []).length === 0)) {
      findings.push({ rule: 'healthcheck', service: name, message: 'a long-running service without a health check' });
    }
    for (const [variable, value] of Object.entries(service.environment ?? {})) {
      const text = String(value ?? '');
      if (SECRET_NAME.test(variable) && text !== '' && !FROM_ENVIRONMENT.test(text)) {
        findings.push({ rule: 'inline-secret', service: name, message: `${variable} is written inline` });
      }
      const password = /^[a-z][a-z0-9+.-]*:\/\/[^/:@]*:([^@]*)@/i.exec(text)?.[1];
      if (password !== undefined && !FROM_ENVIRONMENT.test(password)) {
        findings.push({ rule: 'inline-secret', service: name, message: `${variable} has a password written inline` });
      }
    }
    for (const port of service.ports ?? []) {
      if (!String(port).startsWith('127.0.0.1:')) {
        findings.push({ rule: 'public-port', service: name, message: `port ${port} is published on every interface` });
      }
    }
  }
  return findings;
}
