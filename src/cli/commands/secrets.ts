/**
 * @module `autodev secrets set|get|list|delete|check`: the configured secret store (`secrets.provider`) by hand.
 * `set NAME` reads the value from standard input (a pipe, or a prompt that does not echo on a terminal), never from
 * the command line, so it stays out of shell history and `ps`; `get NAME` says whether it is set and prints the value
 * only with `--reveal`; `list` prints names only; `check` says what each feature (and each repository's deploy)
 * still lacks, e.g. "npm publishing: /auto-dev/npm/token missing".
 */
import { Writable } from 'node:stream';
import readline from 'node:readline';
import { AutodevError } from '../../errors.js';
import { repositorySettings } from '../../forge/repositories.js';
import { SECRET_FEATURES } from '../../secrets/secret-catalogue.js';
import { openSecretProvider } from '../../secrets/secret-providers.js';
import { fullSecretName, type SecretProvider } from '../../secrets/secret-provider.js';
import { loadCliSettings, withContext, type CliDeps, type GlobalOptions, type InputStream } from '../context.js';
import { writeJson, writeLine } from '../format.js';

export interface SecretsArgs {
  globals: GlobalOptions;
  action: 'set' | 'get' | 'list' | 'delete' | 'check';
  name?: string | undefined;
  reveal?: boolean | undefined;
  json?: boolean | undefined;
}

/** A secret value is at most this long (SSM's advanced tier allows 8 KiB). */
const MAX_VALUE_BYTES = 8_192;

export async function run(args: SecretsArgs, deps: CliDeps): Promise<number> {
  const { settings, dataDir } = loadCliSettings(args.globals, deps);
  const prefix = settings.secrets.prefix;
  const provider = openSecretProvider({ settings: settings.secrets, dataDir, env: deps.env });
  const name = args.name === undefined ? '' : fullSecretName(prefix, args.name);
  switch (args.action) {
    case 'set': {
      if (!provider.writable) await provider.set(name, '');
      const value = await readValue(deps, name);
      await provider.set(name, value);
      if (args.json) writeJson(deps.stdout, { name, set: true, provider: provider.kind });
      else writeLine(deps.stdout, `${name} set (${provider.kind})`);
      return 0;
    }
    case 'get': {
      const value = await provider.get(name);
      if (value === undefined) throw new AutodevError('SECRET_NOT_FOUND', `${name} is not set (${provider.kind})`);
      if (args.json) writeJson(deps.stdout, { name, set: true, ...(args.reveal ? { value } : {}) });
      else if (args.reveal) writeLine(deps.stdout, value);
      else writeLine(deps.stdout, `${name} is set (${provider.kind}); pass --reveal to print its value`);
      return 0;
    }
    case 'list': {
      const names = await provider.list();
      if (args.json) writeJson(deps.stdout, { names, provider: provider.kind });
      else if (names.length === 0) writeLine(deps.stdout, `no secrets under ${prefix} (${provider.kind})`);
      else for (const listed of names) writeLine(deps.stdout, listed);
      return 0;
    }
    case 'delete': {
      if (!(await provider.delete(name))) {
        throw new AutodevError('SECRET_NOT_FOUND', `${name} is not set (${provider.kind}); nothing was deleted`);
      }
      if (args.json) writeJson(deps.stdout, { name, deleted: true });
      else writeLine(deps.stdout, `${name} deleted (${provider.kind})`);
      return 0;
    }
    case 'check':
      return check(args, deps, provider, prefix);
  }
}

interface CheckLine {
  feature: string;
  missing: string[];
}

async function check(args: SecretsArgs, deps: CliDeps, provider: SecretProvider, prefix: string): Promise<number> {
  const repos = await withContext(args.globals, deps, (ctx) =>
    ctx.handle.db.selectFrom('repositories').select(['name', 'settings']).orderBy('name').execute(),
  );
  const wanted = [
    ...SECRET_FEATURES.map((feature) => ({ feature: feature.feature, names: feature.names })),
    ...repos
      .map((repo) => ({ feature: `deploy of ${repo.name}`, names: repositorySettings(repo).deploy_secrets ?? [] }))
      .filter((entry) => entry.names.length > 0),
  ];
  const lines: CheckLine[] = [];
  for (const entry of wanted) {
    const missing: string[] = [];
    for (const relative of entry.names) {
      const full = fullSecretName(prefix, relative);
      if ((await provider.get(full)) === undefined) missing.push(full);
    }
    lines.push({ feature: entry.feature, missing });
  }
  if (args.json) {
    writeJson(deps.stdout, {
      provider: provider.kind,
      features: lines.map((line) => ({ ...line, ready: line.missing.length === 0 })),
    });
  } else {
    writeLine(deps.stdout, `secret store: ${provider.kind} (${prefix})`);
    for (const line of lines) {
      writeLine(
        deps.stdout,
        line.missing.length === 0 ? `${line.feature}: ready` : `${line.feature}: ${line.missing.join(', ')} missing`,
      );
    }
  }
  return 0;
}

/** The value from standard input: piped (one trailing newline dropped), or typed at a prompt that does not echo. */
async function readValue(deps: CliDeps, name: string): Promise<string> {
  const stdin = deps.stdin;
  if (!stdin) {
    throw new AutodevError('VALIDATION_FAILED', `pipe the value of ${name} into "autodev secrets set ${name}"`);
  }
  const value = stdin.isTTY ? await prompt(stdin, deps, name) : await readAll(stdin);
  if (value === '') throw new AutodevError('VALIDATION_FAILED', `the value of ${name} is empty; nothing was set`);
  if (Buffer.byteLength(value) > MAX_VALUE_BYTES) {
    throw new AutodevError('VALIDATION_FAILED', `the value of ${name} is over ${MAX_VALUE_BYTES} bytes`);
  }
  if (value.includes('\u0000')) {
    throw new AutodevError('VALIDATION_FAILED', `the value of ${name} contains a NUL byte; nothing was set`);
  }
  return value;
}

async function readAll(stdin: InputStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function prompt(stdin: InputStream, deps: CliDeps, name: string): Promise<string> {
  deps.stderr.write(`value of ${name} (not shown): `);
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = readline.createInterface({ input: stdin, output: silent, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.once('line', resolve));
  } finally {
    rl.close();
    deps.stderr.write('\n');
  }
}
