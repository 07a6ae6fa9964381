/**
 * @module Vitest global setup: makes PostgreSQL available to every database test.
 * Uses AUTODEV_TEST_DATABASE_URL when given; otherwise starts a throwaway cluster. With no PostgreSQL installed it
 * warns loudly and runs only the SQLite half — except under CI=true, where that is a failure.
 * It migrates a template database once; each test file clones it.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { findPostgresBinDir, startPostgresCluster, withDatabase, type PostgresCluster } from './postgres-cluster.js';
import { openDatabase } from '../../src/store/open-database.js';
import { migrateToLatest } from '../../src/store/migrate.js';

export const TEMPLATE_DATABASE = 'autodev_template';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string | null;
  }
}

let cluster: PostgresCluster | undefined;

export default async function setup(project: TestProject) {
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
  return () => cluster?.stop();
}
