/**
 * @module What a command runs against: its dependencies on the outside world (`CliDeps`), the global options, and
 * the opened settings, database and queue (`CommandContext`), closed again when the command ends.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LevelWithSilent } from 'pino';
import { loadSettings, queueSettingsFrom, type LoadedSettings } from '../config/load-settings.js';
import { LLM_PROVIDERS, type Settings } from '../config/settings-schema.js';
import { credentialsFile } from '../llm/provider-status.js';
import { isLogLevel } from '../log-levels.js';
import { TaskQueue } from '../queue/task-queue.js';
import { migrateToLatest } from '../store/migrate.js';
import { knownSecretValues } from '../secrets/known-secrets.js';
import { SecretMasker } from '../secrets/secret-masker.js';
import { ADMIN_TOKEN_FILE } from '../server/api-tokens.js';
import { openDatabase, type DatabaseHandle } from '../store/open-database.js';
import { DEFAULT_DATA_DIR, resolveDataDir } from './data-dir.js';
import { writeLine } from './format.js';
import { makeDataDirPrivate } from './private-data-dir.js';

/** Where a command's text goes. */
export interface Output {
  write(text: string): unknown;
}

/** Standard input (`autodev secrets set` reads a value from it). */
export type InputStream = NodeJS.ReadableStream & { isTTY?: boolean };

/** Everything a command may take from the process; `bin/` passes the real ones, tests may pass others. */
export interface CliDeps {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdout: Output;
  stderr: Output;
  now: () => number;
  /** Standard input; commands that read none leave it alone (absent: nothing can be read). */
  stdin?: InputStream;
  /**
   * For long-running commands (`up`): a signal that aborts when the user asks to stop (SIGINT, SIGTERM). Until a
   * command calls this, those signals end the process at once, which is right for short commands.
   */
  listenForShutdown(): AbortSignal;
}

/** The options every command accepts. */
export interface GlobalOptions {
  dataDir?: string | undefined;
  config?: string | undefined;
  logLevel?: LevelWithSilent | undefined;
}

export { DEFAULT_DATA_DIR, resolveDataDir };
/** How often the secret masker reads the environment and the credential files again. */
const SECRET_SOURCES_REFRESH_MS = 5_000;

export function loadCliSettings(globals: GlobalOptions, deps: CliDeps): LoadedSettings & { dataDir: string } {
  const dataDir = resolveDataDir(globals, deps);
  const configFile = globals.config === undefined ? undefined : path.resolve(deps.cwd, globals.config);
  return { ...loadSettings({ dataDir, configFile, env: deps.env }), dataDir };
}

/** `--log-level`, else LOG_LEVEL, else `log.level` from the settings. */
export function effectiveLogLevel(globals: GlobalOptions, settings: Settings, deps: CliDeps): LevelWithSilent {
  const fromEnv = deps.env.LOG_LEVEL;
  return globals.logLevel ?? (fromEnv && isLogLevel(fromEnv) ? fromEnv : settings.log.level);
}

export interface CommandContext extends LoadedSettings {
  dataDir: string;
  handle: DatabaseHandle;
  queue: TaskQueue;
}

/**
 * The masker of everything this process stores: the secret-looking variables of its environment, the database
 * password, every `llm.providers.*.env` value, the CLIs' login files and the admin token (`secrets/`).
 */
export function cliSecretMasker(
  dataDir: string,
  env: Readonly<Record<string, string | undefined>>,
  settings: Settings,
): SecretMasker {
  const home = env.HOME ?? os.homedir();
  const collect = () =>
    knownSecretValues({
      env,
      providerEnvs: LLM_PROVIDERS.map((name) => settings.llm.providers[name].env),
      credentialFiles: LLM_PROVIDERS.map((name) =>
        credentialsFile(name, { ...env, ...settings.llm.providers[name].env }, home),
      ),
      secretFiles: [path.join(dataDir, ADMIN_TOKEN_FILE)],
      // A webhook URL is a credential (notify.webhooks): never stored or logged whole.
      extra: settings.notify.webhooks.map((hook) => hook.url),
    });
  const masker = new SecretMasker();
  // Read again now and then: a `claude login` while Auto-Dev runs writes credentials that must be masked too.
  masker.addSource({ read: collect, everyMs: SECRET_SOURCES_REFRESH_MS });
  return masker;
}

/**
 * PostgreSQL when DATABASE_URL is set, else SQLite at `<data-dir>/autodev.db`. The data dir is made private first
 * (created 0700 for SQLite, database files 0600; what was tightened goes to stderr), and every string written goes
 * through `masker`. `connect: 'lazy'` (PostgreSQL): no connection before the first statement (`serve` waits for the
 * database itself, see `store/wait-for-database.ts`).
 */
export function openCliDatabase(
  dataDir: string,
  deps: CliDeps,
  masker?: SecretMasker,
  connect: 'now' | 'lazy' = 'now',
): Promise<DatabaseHandle> {
  const databaseUrl = deps.env.DATABASE_URL || undefined;
  // On PostgreSQL a command that keeps no files creates no data dir; one that exists is still made private.
  if (databaseUrl === undefined || fs.existsSync(dataDir)) {
    for (const note of makeDataDirPrivate(dataDir)) writeLine(deps.stderr, `autodev: ${note}`);
  }
  return openDatabase({
    databaseUrl,
    sqlitePath: path.join(dataDir, 'autodev.db'),
    connect,
    ...(masker ? { transformParameter: (text: string) => masker.maskText(text) } : {}),
  });
}

/**
 * Runs `fn` with settings, a migrated database and a queue, and closes them afterwards, also when `fn` throws.
 *
 * ### Examples
 * ```ts
 * const task = await withContext(globals, deps, (ctx) => ctx.queue.get(12));
 * ```
 */
export async function withContext<T>(
  globals: GlobalOptions,
  deps: CliDeps,
  fn: (context: CommandContext) => Promise<T>,
  options: { migrate?: boolean } = {},
): Promise<T> {
  const loaded = loadCliSettings(globals, deps);
  const handle = await openCliDatabase(
    loaded.dataDir,
    deps,
    cliSecretMasker(loaded.dataDir, deps.env, loaded.settings),
  );
  let queue: TaskQueue | undefined;
  try {
    if (options.migrate !== false) await migrateToLatest(handle);
    queue = new TaskQueue(handle, queueSettingsFrom(loaded.settings), deps.now);
    return await fn({ ...loaded, handle, queue });
  } finally {
    await queue?.close();
    await handle.close();
  }
}
