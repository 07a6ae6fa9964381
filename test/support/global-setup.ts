/**
 * @module Vitest global setup: makes PostgreSQL available to every database test.
 * Uses AUTODEV_TEST_DATABASE_URL when given; otherwise starts a throwaway cluster. With no PostgreSQL installed it
 * warns loudly and runs only the SQLite half — except under CI=true, where that is a failure.
 * It migrates a template database once per engine (a SQLite file, a PostgreSQL database); each test database is a copy. It also starts moto's server mode (an AWS
 * emulator, `moto-server.ts`) for the SSM secret provider's tests; under CI=true a moto that cannot start fails.
 * The cluster, moto and the template are removed by the teardown, or, when vitest dies without it (SIGTERM, SIGKILL),
 * by their `runWhenGone` guards.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { findPostgresBinDir, startPostgresCluster, withDatabase, type PostgresCluster } from './postgres-cluster.js';
import { openDatabase } from '../../src/store/open-database.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { startMotoServer, type MotoServer } from './moto-server.js';
import { runWhenGone } from './run-when-gone.js';

export const TEMPLATE_DATABASE = 'autodev_template';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string | null;
    /** moto's server mode (an AWS emulator) for the SSM secret provider; null with the reason in `motoError`. */
    motoEndpoint: string | null;
    motoError: string | null;
    /** The migrated SQLite file each SQLite test database is copied from, made once per run and removed after it. */
    sqliteTemplatePath: string;
    /** This run's mark on the PostgreSQL test databases a test process keeps for reuse (`dialects.ts`). */
    pooledDatabasePrefix: string;
  }
}

let cluster: PostgresCluster | undefined;
let moto: MotoServer | undefined;
let externalAdminUrl: string | undefined;

export default async function setup(project: TestProject) {
  // The tests make no TLS connection to anything a machine-wide extra CA would vouch for: every server they reach is a
  // local stand-in over plain HTTP. Node parses NODE_EXTRA_CA_CERTS at every start (0.1 CPU-s for the 144 certificates
  // of Debian's bundle on this machine), and a run starts ~800 node processes; the workers and their children start
  // without it. The product passes it on untouched.
  delete process.env.NODE_EXTRA_CA_CERTS;
  // moto starts beside PostgreSQL; the SSM tests fail (never skip) when it could not start, saying why.
  const motoStarted = startMotoServer().then(
    (server) => {
      moto = server;
      project.provide('motoEndpoint', server.endpoint);
      project.provide('motoError', null);
    },
    (error: unknown) => {
      project.provide('motoEndpoint', null);
      project.provide('motoError', error instanceof Error ? error.message : String(error));
      if (process.env.CI === 'true') throw error;
    },
  );
  const templateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-test-sqlite-template-'));
  const templateGuard = runWhenGone([['rm', '-rf', templateDir]]);
  const pooledPrefix = `autodev_pool_${randomBytes(4).toString('hex')}_`;
  project.provide('pooledDatabasePrefix', pooledPrefix);
  const stopAll = async () => {
    moto?.stop();
    // A server of our own goes with its databases; on a given one, this run's pooled databases are dropped.
    if (!cluster && externalAdminUrl) await dropPooledDatabases(externalAdminUrl, pooledPrefix).catch(() => undefined);
    cluster?.stop();
    fs.rmSync(templateDir, { recursive: true, force: true });
    templateGuard.cancel();
  };
  try {
    project.provide('sqliteTemplatePath', await migratedSqliteFile(templateDir));
    await setupPostgres(project);
    await motoStarted;
  } catch (error) {
    await motoStarted.catch(() => undefined);
    await stopAll();
    throw error;
  }
  return stopAll;
}

/** A migrated SQLite file in `dir` (the WAL checkpointed into it on close), for the tests to copy. */
async function migratedSqliteFile(dir: string): Promise<string> {
  const file = path.join(dir, 'template.db');
  const handle = await openDatabase({ sqlitePath: file });
  await migrateToLatest(handle);
  await handle.close();
  return file;
}

async function setupPostgres(project: TestProject): Promise<void> {
  const wanted = (process.env.AUTODEV_TEST_DIALECTS ?? 'sqlite,postgres').split(',');
  if (!wanted.includes('postgres')) {
    project.provide('pgAdminUrl', null);
    return;
  }
  let adminUrl = process.env.AUTODEV_TEST_DATABASE_URL;
  if (!adminUrl) {
    if (!findPostgresBinDir()) {
      const message =
        'PostgreSQL is not installed, so the PostgreSQL half of the suite cannot run. ' +
        'Install it (apt-get install postgresql) or set AUTODEV_TEST_DATABASE_URL.';
      if (process.env.CI === 'true') throw new Error(`${message} Under CI=true this is a failure.`);
      console.warn(`\n${'!'.repeat(100)}\n!! ${message}\n!! Running the SQLite half only.\n${'!'.repeat(100)}\n`);
      project.provide('pgAdminUrl', null);
      return;
    }
    cluster = await startPostgresCluster();
    adminUrl = cluster.adminUrl;
  }

  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${TEMPLATE_DATABASE}`);
    await admin.query(`create database ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const template = await openDatabase({ databaseUrl: withDatabase(adminUrl, TEMPLATE_DATABASE), poolSize: 1 });
  await migrateToLatest(template);
  await template.close();

  project.provide('pgAdminUrl', adminUrl);
  if (!cluster) externalAdminUrl = adminUrl;
}

async function dropPooledDatabases(adminUrl: string, prefix: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(
      'select datname from pg_database where starts_with(datname, $1)',
      [prefix],
    );
    for (const { datname } of rows) await admin.query(`drop database if exists ${datname} with (force)`);
  } finally {
    await admin.end();
  }
}
