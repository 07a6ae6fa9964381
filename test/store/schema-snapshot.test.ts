import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/store/open-database.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';

/**
 * The migrated schema of each engine is committed under test/store/__snapshots__/, so a review shows every change
 * to tables and indexes as a diff. After adding a migration: AUTODEV_UPDATE_SCHEMA=1 npx vitest run test/store
 */
const SNAPSHOT_DIR = path.join(import.meta.dirname, '__snapshots__');

async function describeSchema(handle: DatabaseHandle): Promise<string> {
  if (handle.dialect.name === 'sqlite') {
    const rows = await sql<{ type: string; name: string; sql: string | null }>`
      select type, name, sql from sqlite_master
      where name not like 'sqlite_%' and name not like 'autodev_migrations%'
      order by type desc, name`.execute(handle.db);
    return rows.rows.map((r) => `${r.sql ?? `-- ${r.type} ${r.name}`};`).join('\n') + '\n';
  }
  const columns = await sql<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>`
    select table_name, column_name, data_type, is_nullable from information_schema.columns
    where table_schema = 'public' and table_name not like 'autodev_migrations%'
    order by table_name, ordinal_position`.execute(handle.db);
  const indexes = await sql<{ indexdef: string }>`
    select indexdef from pg_indexes where schemaname = 'public' and tablename not like 'autodev_migrations%'
    order by indexname`.execute(handle.db);
  const lines = columns.rows.map(
    (c) => `${c.table_name}.${c.column_name} ${c.data_type}${c.is_nullable === 'NO' ? ' not null' : ''}`,
  );
  return [...lines, '', ...indexes.rows.map((i) => `${i.indexdef};`)].join('\n') + '\n';
}

describe.each(DIALECTS)('%s: schema', (dialect) => {
  const t = useTestDatabase(dialect);

  it('matches the committed snapshot of the migrated schema', async () => {
    const actual = await describeSchema(t.handle);
    const file = path.join(SNAPSHOT_DIR, `schema.${dialect}.sql`);
    if (process.env.AUTODEV_UPDATE_SCHEMA === '1') {
      fs.mkdirSync(SNAPSHOT_DIR, { recursive: true });
      fs.writeFileSync(file, actual);
    }
    expect(fs.existsSync(file), `missing ${file}; run with AUTODEV_UPDATE_SCHEMA=1 once`).toBe(true);
    expect(actual).toBe(fs.readFileSync(file, 'utf8'));
  });

  it('migrating again is a no-op', async () => {
    expect(await migrateToLatest(t.handle)).toEqual({ applied: [] });
  });
});
