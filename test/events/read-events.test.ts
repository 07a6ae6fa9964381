import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  eventCursorAfter,
  eventLogNow,
  readEvents,
  START_OF_LOG,
  type EventCursor,
} from '../../src/events/read-events.js';
import { advanceStoredCursor, loadStoredCursor, startStoredCursor } from '../../src/events/stored-event-cursor.js';
import { DIALECTS, useTestDatabase, type TestDatabase } from '../support/dialects.js';

const INSERT_EVENT = `insert into events (kind, subject_type, subject_id, actor, data, created_at)
  values ($1, 'test', '1', 'test', '{}', 0) returning id`;

/** A writer on its own connection, holding its transaction open between calls (as a slow worker would). */
interface Writer {
  begin(): Promise<void>;
  /** Inserts an event; its id. */
  insert(kind: string): Promise<number>;
  commit(): Promise<void>;
  close(): Promise<void>;
}

function postgresWriter(t: TestDatabase): Writer {
  const client = new pg.Client({ connectionString: t.databaseUrl });
  const connected = client.connect();
  return {
    async begin() {
      await connected;
      await client.query('begin');
      // The transaction takes its id now, before it writes an event (as a state change before its event row does).
      await client.query('select pg_current_xact_id()');
    },
    async insert(kind) {
      const result = await client.query<{ id: string }>(INSERT_EVENT, [kind]);
      return Number(result.rows[0]!.id);
    },
    async commit() {
      await client.query('commit');
    },
    async close() {
      await connected;
      await client.end();
    },
  };
}

function sqliteWriter(t: TestDatabase): Writer {
  // No busy wait: a second writer is refused at once while another's transaction is open (SQLite's one writer).
  const db = new SqliteDatabase(t.sqlitePath!, { timeout: 0 });
  const insert = db.prepare<[string], { id: number }>(INSERT_EVENT.replace('$1', '?'));
  return {
    begin: async () => void db.exec('begin immediate'),
    insert: async (kind) => insert.get(kind)!.id,
    commit: async () => void db.exec('commit'),
    close: async () => void db.close(),
  };
}

/** Reads everything after `cursor` (in batches of 2, to cross batch ends); the ids and the cursor after. */
async function readAllOf(t: TestDatabase, cursor: EventCursor) {
  const ids: number[] = [];
  for (;;) {
    const page = await readEvents(t.handle, cursor, 2);
    cursor = page.cursor;
    ids.push(...page.rows.map((row) => row.id));
    if (page.rows.length < 2) return { ids, cursor };
  }
}

/**
 * Reads after `cursor` until `count` rows came (or 10 s passed): on PostgreSQL the horizon is the cluster's oldest
 * open transaction, so a row shows once every older transaction on the cluster (other test files' too) has ended.
 */
async function readUntil(t: TestDatabase, cursor: EventCursor, count: number) {
  const ids: number[] = [];
  const deadline = Date.now() + 10_000;
  for (;;) {
    const page = await readAllOf(t, cursor);
    cursor = page.cursor;
    ids.push(...page.ids);
    if (ids.length >= count || Date.now() > deadline) return { ids, cursor };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(DIALECTS)('%s: reading the change log', (dialect) => {
  const t = useTestDatabase(dialect);
  const writers: Writer[] = [];
  const writer = () => {
    const w = dialect === 'postgres' ? postgresWriter(t) : sqliteWriter(t);
    writers.push(w);
    return w;
  };
  afterEach(async () => {
    for (const w of writers.splice(0)) await w.close();
  });

  const readAll = (cursor: EventCursor) => readAllOf(t, cursor);
  const readAtLeast = (cursor: EventCursor, count: number) => readUntil(t, cursor, count);

  it('does not skip an event whose transaction commits after a later id committed', async () => {
    const a = writer();
    const b = writer();
    await a.begin();
    const first = await a.insert('test.a');
    let cursor = START_OF_LOG;
    if (dialect === 'postgres') {
      // B takes the next id and commits while A is still open.
      await b.begin();
      const second = await b.insert('test.b');
      await b.commit();
      expect(second).toBeGreaterThan(first);
      const whileAOpen = await readAll(cursor);
      expect(whileAOpen.ids).toEqual([]); // id 2 waits for A: reading it now would leave id 1 behind the cursor
      cursor = whileAOpen.cursor;
      await a.commit();
      expect((await readAtLeast(cursor, 2)).ids).toEqual([first, second]);
    } else {
      // SQLite: B cannot even begin while A is open, so ids commit in order and `id > last` is safe.
      await expect(b.begin()).rejects.toThrow(/database is locked/);
      const whileAOpen = await readAll(cursor);
      expect(whileAOpen.ids).toEqual([]);
      await a.commit();
      const afterA = await readAtLeast(whileAOpen.cursor, 1);
      expect(afterA.ids).toEqual([first]);
      await b.begin();
      const second = await b.insert('test.b');
      await b.commit();
      expect((await readAtLeast(afterA.cursor, 1)).ids).toEqual([second]);
    }
  });

  it('starts "now" after every committed event and before any still open', async () => {
    const before = writer();
    await before.begin();
    const committedBefore = await before.insert('test.before');
    await before.commit();
    const open = writer();
    const later = writer();
    let openId: number | undefined;
    if (dialect === 'postgres') {
      await open.begin();
      openId = await open.insert('test.open');
    }
    const now = await eventLogNow(t.handle);
    if (openId !== undefined) await open.commit();
    await later.begin();
    const laterId = await later.insert('test.later');
    await later.commit();
    const read = await readAtLeast(now, openId === undefined ? 1 : 2);
    expect(read.ids).not.toContain(committedBefore);
    expect(read.ids).toEqual(openId === undefined ? [laterId] : [openId, laterId]);
  });

  it('resumes after an event id a client received, and after a made-up one', async () => {
    const w = writer();
    const ids: number[] = [];
    for (const kind of ['test.1', 'test.2', 'test.3']) {
      await w.begin();
      ids.push(await w.insert(kind));
      await w.commit();
    }
    expect((await readAtLeast(await eventCursorAfter(t.handle, 0), 3)).ids).toEqual(ids);
    // All three are below the horizon now: the reads below see the whole log.
    expect((await readAll(await eventCursorAfter(t.handle, ids[0]!))).ids).toEqual(ids.slice(1));
    expect((await readAll(await eventCursorAfter(t.handle, ids[2]! + 1000))).ids).toEqual([]);
  });
});

describe.each(DIALECTS)('%s: a cursor stored in event_log_cursors', (dialect) => {
  const t = useTestDatabase(dialect);
  const writers: Writer[] = [];
  const writer = () => {
    const w = dialect === 'postgres' ? postgresWriter(t) : sqliteWriter(t);
    writers.push(w);
    return w;
  };
  afterEach(async () => {
    for (const w of writers.splice(0)) await w.close();
  });
  const commitOne = async (kind: string) => {
    const w = writer();
    await w.begin();
    const id = await w.insert(kind);
    await w.commit();
    return id;
  };

  it('stores "now" on the first start; a restarted follower resumes there, the event open then included', async () => {
    const committedBefore = await commitOne('test.before');
    const open = writer();
    let openId: number | undefined;
    if (dialect === 'postgres') {
      await open.begin();
      openId = await open.insert('test.open');
    }
    const first = await startStoredCursor(t.handle, 'test-follower', 1);
    if (openId !== undefined) await open.commit();
    const whileDown = await commitOne('test.while-down');
    // A restart: the stored row, not a new "now", is where it reads from (its snapshot kept on PostgreSQL).
    const resumed = await startStoredCursor(t.handle, 'test-follower', 2);
    expect(resumed).toEqual(first);
    const expected = openId === undefined ? [whileDown] : [openId, whileDown];
    const read = await readUntil(t, resumed, expected.length);
    expect(read.ids).not.toContain(committedBefore);
    expect(read.ids).toEqual(expected);
    expect(await advanceStoredCursor(t.handle.db, 'test-follower', read.cursor, 3)).toBe(true);
    const after = await commitOne('test.after');
    expect((await readUntil(t, (await loadStoredCursor(t.handle.db, 'test-follower'))!, 1)).ids).toEqual([after]);
  });

  it('racing first starts store one row and all follow it', async () => {
    const starts = await Promise.all([1, 2, 3, 4, 5].map((n) => startStoredCursor(t.handle, 'test-race', n)));
    for (const cursor of starts) expect(cursor).toEqual(starts[0]);
    const rows = await t.handle.db
      .selectFrom('event_log_cursors')
      .selectAll()
      .where('name', '=', 'test-race')
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('moves the stored cursor forward only', async () => {
    await startStoredCursor(t.handle, 'test-forward', 1);
    const ids = [await commitOne('test.1'), await commitOne('test.2')];
    const read = await readUntil(t, START_OF_LOG, 2);
    const [one, two] = [read.ids.indexOf(ids[0]!), read.ids.indexOf(ids[1]!)];
    const page = await readEvents(t.handle, START_OF_LOG, read.ids.length);
    const atFirst = page.positions[one]!;
    const atSecond = page.positions[two]!;
    expect(await advanceStoredCursor(t.handle.db, 'test-forward', atSecond, 2)).toBe(true);
    // An older position (a slower follower's) and the same one leave the row as it is.
    expect(await advanceStoredCursor(t.handle.db, 'test-forward', atFirst, 3)).toBe(false);
    expect(await advanceStoredCursor(t.handle.db, 'test-forward', atSecond, 4)).toBe(false);
    expect(await loadStoredCursor(t.handle.db, 'test-forward')).toEqual(atSecond);
    const row = await t.handle.db
      .selectFrom('event_log_cursors')
      .selectAll()
      .where('name', '=', 'test-forward')
      .executeTakeFirstOrThrow();
    expect(Number(row.updated_at)).toBe(2);
    // A name nobody started has no row to move.
    expect(await advanceStoredCursor(t.handle.db, 'test-never', atSecond, 5)).toBe(false);
    expect(await loadStoredCursor(t.handle.db, 'test-never')).toBeUndefined();
  });
});

// Only PostgreSQL lets two writers interleave: SQLite refuses the second (above).
describe.each(DIALECTS.filter((d) => d === 'postgres'))('%s: reading the change log, out of transaction order', () => {
  const t = useTestDatabase('postgres');
  const writers: Writer[] = [];
  const writer = () => {
    const w = postgresWriter(t);
    writers.push(w);
    return w;
  };
  afterEach(async () => {
    for (const w of writers.splice(0)) await w.close();
  });

  it('does not skip the lower id of a younger transaction that commits after an older one wrote a higher id', async () => {
    // A is older (its transaction id is lower) but writes its event after B took an id: `id > last` with an
    // "older than every open transaction" filter alone would deliver A's id 2 and never B's id 1.
    const a = writer();
    const b = writer();
    await a.begin();
    await b.begin();
    const bId = await b.insert('test.b');
    const aId = await a.insert('test.a');
    expect(aId).toBeGreaterThan(bId);
    await a.commit();
    const first = await readUntil(t, START_OF_LOG, 1);
    expect(first.ids).toEqual([aId]);
    await b.commit();
    expect((await readUntil(t, first.cursor, 1)).ids).toEqual([bId]);
  });
});
