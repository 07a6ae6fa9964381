/**
 * @module Effective settings: the shipped `config/settings.yaml`, deep-merged with the user's file (`--config FILE`,
 * else `<data-dir>/settings.yaml`), then `AUTODEV_<SECTION>__<KEY>` environment overrides, validated at each step so
 * an error names the file (or variable) and the key at fault. The caller passes the environment in.
 *
 * ### Examples
 * ```ts
 * const { settings, sources } = loadSettings({ dataDir: '.autodev', env: process.env });
 * const queue = new TaskQueue(handle, queueSettingsFrom(settings));
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { AutodevError } from '../errors.js';
import type { QueueSettings } from '../queue/task-queue.js';
import { findPackageRoot } from './package-root.js';
import { SettingsSchema, type Settings } from './settings-schema.js';

export interface SettingsSource {
  kind: 'defaults' | 'file' | 'env';
  /** A file path, or the names of the environment variables applied. */
  location: string;
}

export interface LoadedSettings {
  settings: Settings;
  /** Where the settings came from, in the order applied (later wins). */
  sources: SettingsSource[];
}

export interface LoadSettingsOptions {
  dataDir: string;
  /** `--config FILE`; when given, `<data-dir>/settings.yaml` is not read. It must exist. */
  configFile?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  /** The shipped defaults; tests may point elsewhere. */
  defaultsFile?: string;
}

export const ENV_PREFIX = 'AUTODEV_';
const ENV_LEVEL_SEPARATOR = '__';

type Tree = Record<string, unknown>;

export function shippedSettingsFile(): string {
  return path.join(findPackageRoot(), 'config', 'settings.yaml');
}

export function loadSettings(options: LoadSettingsOptions): LoadedSettings {
  const defaultsFile = options.defaultsFile ?? shippedSettingsFile();
  const sources: SettingsSource[] = [{ kind: 'defaults', location: defaultsFile }];
  let merged = readSettingsFile(defaultsFile);
  let settings = validate(merged, (keyPath) => `${defaultsFile}: ${keyPath}`);

  const userFile = options.configFile ?? path.join(options.dataDir, 'settings.yaml');
  if (options.configFile !== undefined || fs.existsSync(userFile)) {
    merged = deepMerge(merged, readSettingsFile(userFile, options.configFile !== undefined));
    sources.push({ kind: 'file', location: userFile });
    settings = validate(merged, (keyPath) => `${userFile}: ${keyPath}`);
  }

  const overrides = environmentOverrides(options.env);
  if (overrides.length > 0) {
    for (const override of overrides) merged = deepMerge(merged, nest(override.path, override.value));
    sources.push({ kind: 'env', location: overrides.map((o) => o.variable).join(', ') });
    settings = validate(merged, (keyPath) => `${variablesFor(keyPath, overrides)}: ${keyPath}`);
  }
  return { settings, sources };
}

/** The queue's settings in the units it uses (ms). */
export function queueSettingsFrom(settings: Settings): QueueSettings {
  const ms = (seconds: number) => Math.round(seconds * 1000);
  return {
    leaseMs: ms(settings.queue.lease_seconds),
    heartbeatMs: ms(settings.queue.heartbeat_seconds),
    reclaimMs: ms(settings.queue.reclaim_seconds),
    maxAttempts: settings.queue.max_attempts,
    backoff: { baseMs: ms(settings.queue.retry_base_seconds), maxMs: ms(settings.queue.retry_max_seconds) },
  };
}

function invalid(message: string): AutodevError {
  return new AutodevError('CONFIG_INVALID', message);
}

function readSettingsFile(file: string, userNamedIt = false): Tree {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw invalid(`${file}: cannot read it (${reason})${userNamedIt ? '; check the path' : ''}`);
  }
  const document = YAML.parseDocument(text, { uniqueKeys: true });
  const problem = document.errors[0];
  if (problem) {
    const where = problem.linePos ? `line ${problem.linePos[0].line}, column ${problem.linePos[0].col}` : 'somewhere';
    const reason = (problem.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw invalid(`${file}: invalid YAML at ${where}: ${reason}`);
  }
  const content: unknown = document.toJS();
  if (content === null || content === undefined) return {};
  if (!isTree(content)) {
    throw invalid(
      `${file}: must be a YAML mapping of settings (like "server:\\n  port: 9000"), not ${describe(content)}`,
    );
  }
  return content;
}

interface EnvOverride {
  variable: string;
  path: string[];
  value: unknown;
}

/** `AUTODEV_SERVER__PORT=9000` -> server.port = 9000. Keys under a free-form map (`env`, `config`) keep their case. */
function environmentOverrides(env: LoadSettingsOptions['env']): EnvOverride[] {
  const overrides: EnvOverride[] = [];
  for (const variable of Object.keys(env).sort()) {
    const raw = env[variable];
    if (raw === undefined || !variable.startsWith(ENV_PREFIX)) continue;
    const rest = variable.slice(ENV_PREFIX.length);
    if (!rest.includes(ENV_LEVEL_SEPARATOR)) continue; // AUTODEV_DATA_DIR and the like are not settings
    const segments = rest.split(ENV_LEVEL_SEPARATOR);
    if (segments.some((s) => s === '')) {
      throw invalid(
        `environment variable ${variable}: not a settings override; name settings as AUTODEV_<SECTION>__<KEY>, e.g. AUTODEV_SERVER__PORT=9000`,
      );
    }
    const keyPath: string[] = [];
    for (const segment of segments) keyPath.push(insideFreeFormMap(keyPath) ? segment : segment.toLowerCase());
    overrides.push({ variable, path: keyPath, value: parseScalar(raw) });
  }
  return overrides;
}

function insideFreeFormMap(keyPath: string[]): boolean {
  return keyPath[0] === 'llm' && keyPath[1] === 'providers' && (keyPath[3] === 'env' || keyPath[3] === 'config');
}

/** A value as YAML reads a scalar: `9000` a number, `true` a boolean, `null` or empty null, anything else a string. */
function parseScalar(raw: string): unknown {
  try {
    const value: unknown = YAML.parse(raw);
    return value !== null && typeof value === 'object' ? raw : value;
  } catch {
    return raw;
  }
}

function variablesFor(keyPath: string, overrides: EnvOverride[]): string {
  const related = overrides.filter((o) => {
    const own = o.path.join('.');
    return own === keyPath || keyPath.startsWith(`${own}.`) || own.startsWith(`${keyPath}.`);
  });
  const names = (related.length > 0 ? related : overrides).map((o) => o.variable);
  return names.length === 1 ? `environment variable ${names[0]}` : `environment variables ${names.join(', ')}`;
}

function validate(candidate: Tree, locate: (keyPath: string) => string): Settings {
  const result = SettingsSchema.safeParse(candidate, { reportInput: true });
  if (result.success) return result.data;
  const [first, ...rest] = result.error.issues;
  if (!first) throw invalid(locate('(settings)') + ': invalid');
  const { keyPath, reason } = explainIssue(first);
  const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
  throw new AutodevError(
    'CONFIG_INVALID',
    `${locate(keyPath || '(top level)')}: ${reason}${more}`,
    result.error.issues,
  );
}

function explainIssue(issue: z.core.$ZodIssue): { keyPath: string; reason: string } {
  const at = issue.path.map(String);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const [key, ...others] = issue.keys;
      const known = knownKeysAt(at);
      const also = others.length > 0 ? ` (also unknown: ${others.join(', ')})` : '';
      const hint = known.length > 0 ? `; known keys here: ${known.join(', ')}` : '';
      return { keyPath: [...at, key].join('.'), reason: `unknown key${also}${hint}` };
    }
    case 'invalid_type':
      return {
        keyPath: at.join('.'),
        reason: `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describe(issue.input)}`,
      };
    case 'invalid_value':
      return {
        keyPath: at.join('.'),
        reason: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(issue.input)}`,
      };
    case 'too_small':
      return {
        keyPath: at.join('.'),
        reason: `must be ${issue.inclusive ? 'at least' : 'more than'} ${String(issue.minimum)}, got ${describe(issue.input)}`,
      };
    case 'too_big':
      return {
        keyPath: at.join('.'),
        reason: `must be ${issue.inclusive ? 'at most' : 'less than'} ${String(issue.maximum)}, got ${describe(issue.input)}`,
      };
    case 'invalid_union':
      return { keyPath: at.join('.'), reason: `expected a string, number or boolean, got ${describe(issue.input)}` };
    default:
      return { keyPath: at.join('.'), reason: issue.message };
  }
}

const EXPECTED: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping of keys',
  record: 'a mapping of keys',
};

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The keys the schema allows at a path, for "unknown key" hints. */
function knownKeysAt(keyPath: string[]): string[] {
  let schema: unknown = SettingsSchema;
  for (const key of [...keyPath, null]) {
    // Unwrap prefault/default/optional/nullable/pipe wrappers down to the object.
    for (let def = defOf(schema); def && !('shape' in def); def = defOf(schema)) {
      const inner = def.innerType ?? def.in;
      if (!inner) return [];
      schema = inner;
    }
    const shape = defOf(schema)?.shape as Record<string, unknown> | undefined;
    if (!shape) return [];
    if (key === null) return Object.keys(shape);
    schema = shape[key];
  }
  return [];
}

function defOf(schema: unknown): { shape?: unknown; innerType?: unknown; in?: unknown } | undefined {
  return (schema as { _zod?: { def?: { shape?: unknown; innerType?: unknown; in?: unknown } } } | undefined)?._zod?.def;
}

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Mappings merge key by key; anything else replaces. A null where a mapping was (a section left empty) keeps it. */
export function deepMerge(base: Tree, override: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    if (isTree(current) && value === null) continue;
    out[key] = isTree(current) && isTree(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function nest(keyPath: string[], value: unknown): Tree {
  return keyPath.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Tree;
}
