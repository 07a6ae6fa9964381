/**
 * @module A fingerprint of a whole database: per table the row count, the largest id and a hash of every row, so a
 * test can show that a refused request or command changed nothing at all (not even a row it then deleted).
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { DatabaseHandle } from '../../src/store/open-database.js';
import { domainTables } from './dialects.js';

export interface TableFingerprint {
  rows: number;
  maxId: number | null;
  hash: string;
}

/**
 * Rows are normalized (numbers as numbers, keys sorted) and sorted, so the hash does not depend on read order. On
 * PostgreSQL every table is read in one statement (one round trip instead of one per table: under a CPU hog each
 * round trip waits for the scheduler, and the fuzz tests take two fingerprints per request).
 */
export async function databaseFingerprint(handle: DatabaseHandle): Promise<Record<string, TableFingerprint>> {
  const tables = await domainTables(handle);
  const result: Record<string, TableFingerprint> = {};
  if (handle.dialect.name === 'postgres') {
    const { rows } = await sql<Record<string, Record<string, unknown>[]>>`select ${sql.join(
      tables.map(
        (table) => sql`(select coalesce(json_agg(r), '[]'::json) from ${sql.table(table)} r) as ${sql.ref(table)}`,
      ),
    )}`.execute(handle.db);
    for (const table of tables) result[table] = tableFingerprint(rows[0]![table]!);
    return result;
  }
  for (const table of tables) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(handle.db);
    result[table] = tableFingerprint(rows);
  }
  return result;
}

function tableFingerprint(rows: Record<string, unknown>[]): TableFingerprint {
  const lines = rows.map((row) =>
    JSON.stringify(
      Object.keys(row)
        .sort()
        .map((key) => [key, normalize(row[key])]),
    ),
  );
  lines.sort();
  const ids = rows.map((row) => Number(row.id)).filter((id) => Number.isFinite(id));
  return {
    rows: rows.length,
    maxId: ids.length === 0 ? null : Math.max(...ids),
    hash: createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16),
  };
}

function normalize(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^-?\d{1,15}$/.test(value)) return Number(value);
  if (value instanceof Date) return value.getTime();
  if (Buffer.isBuffer(value)) return value.toString('hex');
  return value;
}
