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

/** Rows are normalized (numbers as numbers, keys sorted) and sorted, so the hash does not depend on read order. */
export async function databaseFingerprint(handle: DatabaseHandle): Promise<Record<string, TableFingerprint>> {
  const result: Record<string, TableFingerprint> = {};
  for (const table of await domainTables(handle)) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(handle.db);
    const lines = rows.map((row) =>
      JSON.stringify(
        Object.keys(row)
          .sort()
          .map((key) => [key, normalize(row[key])]),
      ),
    );
    lines.sort();
    const ids = rows.map((row) => Number(row.id)).filter((id) => Number.isFinite(id));
    result[table] = {
      rows: rows.length,
      maxId: ids.length === 0 ? null : Math.max(...ids),
      hash: createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16),
    };
  }
  return result;
}

function normalize(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^-?\d{1,15}$/.test(value)) return Number(value);
  if (value instanceof Date) return value.getTime();
  if (Buffer.isBuffer(value)) return value.toString('hex');
  return value;
}
