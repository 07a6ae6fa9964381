/**
 * @module A scratch PostgreSQL database for a benchmark: on AUTODEV_BENCH_DATABASE_URL's server, else on a throwaway
 * durable cluster (fsync on) started from the machine's binaries; dropped (and the cluster stopped) on release.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { redactUrl } from '../src/store/open-database.js';
import { findPostgresBinDir, startPostgresCluster, withDatabase } from '../test/support/postgres-cluster.js';
import { progress } from './bench-report.js';

export interface ScratchPostgres {
  url: string;
  release(): Promise<void>;
}

/** A scratch database on AUTODEV_BENCH_DATABASE_URL's server, or on a throwaway durable cluster; undefined if neither. */
export async function scratchPostgres(): Promise<ScratchPostgres | undefined> {
  let adminUrl = process.env.AUTODEV_BENCH_DATABASE_URL;
  let stopCluster: (() => void) | undefined;
  if (!adminUrl) {
    if (!findPostgresBinDir()) return undefined;
    progress('postgres: starting a throwaway cluster (fsync on)');
    const cluster = await startPostgresCluster({ durable: true });
    adminUrl = cluster.adminUrl;
    stopCluster = () => cluster.stop();
    // Ctrl-C must not leave a server running.
    process.once('SIGINT', () => {
      stopCluster?.();
      process.exit(130);
    });
  }
  const name = `autodev_bench_${randomBytes(4).toString('hex')}`;
  const admin = async (text: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  progress(`postgres: scratch database ${name} on ${redactUrl(adminUrl)}`);
  return {
    url: withDatabase(adminUrl, name),
    async release() {
      try {
        await admin(`drop database if exists ${name} with (force)`);
      } finally {
        stopCluster?.();
      }
    },
  };
}
