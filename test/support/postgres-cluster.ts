/**
 * @module Starts a throwaway PostgreSQL cluster from the machine's binaries (initdb into a temp dir, a free port,
 * removed on stop), for the test suite and the benchmarks. As root it runs the server as the `postgres` user,
 * because PostgreSQL refuses to run as root.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runWhenGone } from './run-when-gone.js';

export interface PostgresCluster {
  /** Connection URL of the `postgres` database as superuser. */
  readonly adminUrl: string;
  readonly dataDir: string;
  /**
   * `pg_ctl restart` with the same settings: `fast` ends every session (a clean shutdown), `immediate` kills the
   * server without one (crash recovery at start). Resolves once the server accepts connections again.
   */
  restart(mode: 'fast' | 'immediate'): Promise<void>;
  /** `pg_ctl stop -m fast`, keeping the data: nothing listens on the port until `startServer`. */
  stopServer(): Promise<void>;
  /** `pg_ctl start` again with the same settings; resolves once it accepts connections. */
  startServer(): Promise<void>;
  stop(): void;
}

/** The directory holding pg_ctl/initdb, or undefined when PostgreSQL is not installed. */
export function findPostgresBinDir(): string | undefined {
  const candidates: string[] = [];
  const onPath = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) candidates.push(path.dirname(fs.realpathSync(onPath)));
  const debianRoot = '/usr/lib/postgresql';
  if (fs.existsSync(debianRoot)) {
    const versions = fs
      .readdirSync(debianRoot)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) candidates.push(path.join(debianRoot, version, 'bin'));
  }
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl')));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface StartClusterOptions {
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  /** Durable (fsync on) for benchmarks that should reflect real commits; tests turn it off for speed. */
  durable?: boolean;
}

export async function startPostgresCluster(options: StartClusterOptions = {}): Promise<PostgresCluster> {
  const binDir = findPostgresBinDir();
  if (!binDir) throw new Error('PostgreSQL is not installed: no initdb/pg_ctl found on PATH or in /usr/lib/postgresql');
  const asRoot = process.getuid?.() === 0;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-pg-'));
  fs.chmodSync(dataDir, 0o700);
  if (asRoot) execFileSync('chown', ['postgres:postgres', dataDir]);

  const commandLine = (bin: string, args: string[]): [string, string[]] => {
    const command = path.join(binDir, bin);
    return asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  };
  const run = (bin: string, args: string[]) => {
    const [file, argv] = commandLine(bin, args);
    const result = spawnSync(file, argv, { encoding: 'utf8', cwd: dataDir });
    if (result.status !== 0) {
      throw new Error(`${bin} ${args.join(' ')} failed (exit ${result.status}): ${result.stderr || result.stdout}`);
    }
  };

  const clusterDir = path.join(dataDir, 'data');
  run('initdb', ['-D', clusterDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-sync', '-A', 'trust']);
  const port = await freePort();
  const settings: Record<string, string | number> = {
    port,
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dataDir,
    max_connections: 400,
    shared_buffers: '128MB',
    ...(options.durable ? {} : { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }),
    ...options.settings,
  };
  const serverOptions = Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
  const logFile = path.join(dataDir, 'server.log');
  run('pg_ctl', ['-D', clusterDir, '-o', serverOptions, '-l', logFile, '-w', 'start']);
  // Stopped and removed even when the process that started it dies without its teardown (SIGTERM, SIGKILL).
  const guard = runWhenGone([
    commandLine('pg_ctl', ['-D', clusterDir, '-m', 'immediate', '-w', 'stop']).flat(),
    ['rm', '-rf', dataDir],
  ]);

  const pgCtl = (args: string[]) => {
    const [file, argv] = commandLine('pg_ctl', ['-D', clusterDir, ...args]);
    return new Promise<void>((resolve, reject) => {
      execFile(file, argv, { cwd: dataDir }, (error, stdout, stderr) => {
        if (error) reject(new Error(`pg_ctl ${args.join(' ')} failed: ${stderr || stdout || error.message}`));
        else resolve();
      });
    });
  };
  let stopped = false;
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dataDir,
    restart(mode) {
      // Asynchronous: the caller's event loop keeps running (its children's exits are timed) while the server is down.
      return pgCtl(['-o', serverOptions, '-l', logFile, '-m', mode, '-w', 'restart']);
    },
    stopServer: () => pgCtl(['-m', 'fast', '-w', 'stop']),
    startServer: () => pgCtl(['-o', serverOptions, '-l', logFile, '-w', 'start']),
    stop() {
      if (stopped) return;
      stopped = true;
      guard.cancel();
      try {
        run('pg_ctl', ['-D', clusterDir, '-m', 'immediate', '-w', 'stop']);
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** `postgres://u@h:p/db` with the database name replaced. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
