/**
 * @module Reads a Terraform module for the deployment tests: every `.tf` file of a directory parsed with
 * `@cdktf/hcl2json` (HashiCorp's HCL parser compiled to WebAssembly, no network, no terraform binary) and merged into
 * one view: resources and data sources by address, variables, outputs and locals. Expressions stay as hcl2json gives
 * them (`"${var.x}"` strings); `resolveText` substitutes the literal locals and variable defaults they name.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

/**
 * hcl2json loaded untyped: its declarations pull in the DOM's lib, whose `fetch` types then clash with Node's across
 * the whole program. The one function used, typed here.
 */
const { parse } = createRequire(import.meta.url)('@cdktf/hcl2json') as {
  parse(fileName: string, text: string): Promise<Record<string, unknown>>;
};

export type HclBody = Record<string, unknown>;

export interface TerraformBlock {
  /** `resource` or `data`. */
  kind: 'resource' | 'data';
  type: string;
  name: string;
  body: HclBody;
  /** `aws_lb.this`, `data.aws_iam_policy_document.task`. */
  address: string;
}

export interface TerraformConfig {
  files: string[];
  blocks: TerraformBlock[];
  variables: Record<string, HclBody>;
  outputs: Record<string, HclBody>;
  locals: Record<string, unknown>;
}

/** Parses one HCL text (a `.tf` or `.tfvars` file) to hcl2json's JSON shape. */
export function parseHcl(fileName: string, text: string): Promise<Record<string, unknown>> {
  return parse(fileName, text);
}

/** Every `.tf` file of `dir`, parsed and merged. */
export async function loadTerraformDir(dir: string): Promise<TerraformConfig> {
  const files = fs
    .readdirSync(dir)
    .filter((file) => file.endsWith('.tf'))
    .sort();
  const parsed = [];
  for (const file of files) parsed.push(await parseHcl(file, fs.readFileSync(path.join(dir, file), 'utf8')));
  return mergeTerraform(files, parsed);
}

/** Parses one module given as text (the policy tests' bad examples). */
export async function terraformFromText(text: string): Promise<TerraformConfig> {
  return mergeTerraform(['example.tf'], [await parseHcl('example.tf', text)]);
}

function mergeTerraform(files: string[], parsed: Record<string, unknown>[]): TerraformConfig {
  const config: TerraformConfig = { files, blocks: [], variables: {}, outputs: {}, locals: {} };
  for (const json of parsed) {
    for (const kind of ['resource', 'data'] as const) {
      const byType = (json[kind] ?? {}) as Record<string, Record<string, HclBody[]>>;
      for (const [type, byName] of Object.entries(byType)) {
        for (const [name, bodies] of Object.entries(byName)) {
          for (const body of bodies) {
            const address = kind === 'data' ? `data.${type}.${name}` : `${type}.${name}`;
            config.blocks.push({ kind, type, name, body, address });
          }
        }
      }
    }
    for (const [name, bodies] of Object.entries((json.variable ?? {}) as Record<string, HclBody[]>)) {
      config.variables[name] = bodies[0] ?? {};
    }
    for (const [name, bodies] of Object.entries((json.output ?? {}) as Record<string, HclBody[]>)) {
      config.outputs[name] = bodies[0] ?? {};
    }
    for (const locals of (json.locals ?? []) as Record<string, unknown>[]) Object.assign(config.locals, locals);
  }
  return config;
}

/** The blocks of one type (resources by default). */
export function blocksOf(config: TerraformConfig, type: string, kind: 'resource' | 'data' = 'resource') {
  return config.blocks.filter((block) => block.kind === kind && block.type === type);
}

/** The one block at `address`; throws when it is not there. */
export function blockAt(config: TerraformConfig, address: string): HclBody {
  const block = config.blocks.find((b) => b.address === address);
  if (!block) throw new Error(`no ${address} in ${config.files.join(', ')}`);
  return block.body;
}

/** The first nested block `name` of `body` (hcl2json gives nested blocks as arrays). */
export function nested(body: HclBody, name: string): HclBody {
  const value = body[name];
  if (!Array.isArray(value) || value.length === 0) throw new Error(`no "${name}" block`);
  return value[0] as HclBody;
}

/**
 * Substitutes `${local.X}` (a literal string local) and `${var.X}` (a variable's string or number default) in
 * `text`, until nothing changes; other expressions stay as they are.
 *
 * ### Example
 * ```ts
 * resolveText(config, '/ecs/${local.name}') // '/ecs/auto-dev'
 * ```
 */
export function resolveText(config: TerraformConfig, text: string): string {
  let current = text;
  for (let round = 0; round < 10; round++) {
    const next = current.replace(
      /\$\{(local|var)\.([A-Za-z_][A-Za-z0-9_-]*)\}/g,
      (whole, scope: string, name: string) => {
        const value = scope === 'local' ? config.locals[name] : config.variables[name]?.default;
        return typeof value === 'string' || typeof value === 'number' ? String(value) : whole;
      },
    );
    if (next === current) return current;
    current = next;
  }
  return current;
}

/**
 * The variables an expression depends on, following locals (a local's value is scanned as text, so a local built
 * from other locals or variables leads to those too).
 */
export function variablesReferenced(config: TerraformConfig, expression: unknown): string[] {
  const variables = new Set<string>();
  const seenLocals = new Set<string>();
  const pending = [JSON.stringify(expression ?? null)];
  while (pending.length > 0) {
    const text = pending.pop() as string;
    for (const match of text.matchAll(/\bvar\.([A-Za-z_][A-Za-z0-9_-]*)/g)) variables.add(match[1] as string);
    for (const match of text.matchAll(/\blocal\.([A-Za-z_][A-Za-z0-9_-]*)/g)) {
      const name = match[1] as string;
      if (seenLocals.has(name)) continue;
      seenLocals.add(name);
      pending.push(JSON.stringify(config.locals[name] ?? null));
    }
  }
  return [...variables].sort();
}
