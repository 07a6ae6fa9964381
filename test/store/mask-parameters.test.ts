/**
 * @module A handle opened with `transformParameter` passes every string parameter through it, whatever built the
 * statement: the query builder, a `sql` template, a raw compiled query (the PostgreSQL hot path), inside and outside
 * transactions, on both databases. Numbers and nulls pass untouched.
 */
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/store/open-database.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';

const SECRET = 'secret-value-123456';
const mask = (text: string) => text.replaceAll(SECRET, '[masked]');

describe.each(DIALECTS)('%s: transformParameter', (dialect) => {
  const t = useTestDatabase(dialect);
  let masked: DatabaseHandle;
  beforeAll(async () => {
    const where = t.databaseUrl ? { databaseUrl: t.databaseUrl, poolSize: 2 } : { sqlitePath: t.sqlitePath! };
    masked = await openDatabase({ ...where, transformParameter: mask });
  });
  afterAll(async () => {
    await masked.close();
  });

  const event = (kind: string, data: string) => ({
    kind,
    subject_type: 'test',
    subject_id: '1',
    actor: 'test',
    data,
    created_at: 42,
  });
  const stored = async (kind: string) =>
    (await t.handle.db.selectFrom('events').select(['data', 'created_at']).where('kind', '=', kind).execute()).map(
      (row) => ({ data: row.data, created_at: Number(row.created_at) }),
    );

  it('masks what the query builder, a sql template and a raw compiled query write, also in a transaction', async () => {
    await masked.db
      .insertInto('events')
      .values(event('builder', `{"key":"${SECRET}"}`))
      .execute();
    await masked.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('events')
        .values([event('in_tx', `a ${SECRET}`), event('in_tx', 'clean')])
        .execute();
      await sql`update events set data = ${`b ${SECRET} c`} where kind = 'in_tx' and data = 'clean'`.execute(tx);
    });
    const insert =
      dialect === 'postgres'
        ? 'insert into events (kind, subject_type, subject_id, actor, data, created_at) values ($1, $2, $3, $4, $5, $6)'
        : 'insert into events (kind, subject_type, subject_id, actor, data, created_at) values (?, ?, ?, ?, ?, ?)';
    await masked.db.executeQuery(CompiledQuery.raw(insert, ['raw', 'test', '1', 'test', `x${SECRET}x`, 42]));

    expect(await stored('builder')).toEqual([{ data: '{"key":"[masked]"}', created_at: 42 }]);
    expect((await stored('in_tx')).map((r) => r.data).sort()).toEqual(['a [masked]', 'b [masked] c']);
    expect(await stored('raw')).toEqual([{ data: 'x[masked]x', created_at: 42 }]);
  });

  it('a rolled-back transaction writes nothing, and reads through the masked handle work', async () => {
    await expect(
      masked.db.transaction().execute(async (tx) => {
        await tx.insertInto('events').values(event('rolled_back', SECRET)).execute();
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await stored('rolled_back')).toEqual([]);
    await masked.db.insertInto('events').values(event('read_back', 'plain')).execute();
    const rows = await masked.db.selectFrom('events').select('data').where('kind', '=', 'read_back').execute();
    expect(rows).toEqual([{ data: 'plain' }]);
  });
});
