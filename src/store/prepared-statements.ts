/**
 * @module Named (prepared) statements on PostgreSQL for the queue's hot path. A statement whose text starts with
 * `preparedMarker(name)` is sent by node-postgres as `{ name, text, values }`: each pool connection parses and plans
 * it once, then only binds and executes (PostgreSQL switches to a generic plan after five runs when it costs no
 * more). Every other statement goes through unchanged. Kysely only hands `(sql, parameters)` to the pool client, so
 * the name travels in the text; `withPreparedStatements` wraps the pool Kysely is given.
 *
 * The name is the marker's name plus a hash of the whole text: node-postgres refuses one name for two texts on a
 * connection, and a text that changes (a new release) gets a new name.
 */
import { createHash } from 'node:crypto';
import type { PostgresCursor, PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

const MARKER = /^\/\* autodev:prepare ([a-z_]+) \*\//;

/** The comment that opens a statement to be prepared; `name` is lower-case letters and underscores. */
export function preparedMarker(name: string): string {
  if (!/^[a-z_]+$/.test(name)) throw new Error(`prepared statement name must be [a-z_]+ (got ${name})`);
  return `/* autodev:prepare ${name} */`;
}

const names = new Map<string, string | null>();

/** The statement name for `text`, or null when it is not marked. Cached: the hot texts are few and constant. */
export function preparedStatementName(text: string): string | null {
  let name = names.get(text);
  if (name === undefined) {
    const match = MARKER.exec(text);
    name = match ? `autodev_${match[1]}_${createHash('sha1').update(text).digest('hex').slice(0, 10)}` : null;
    // Unmarked texts are not remembered: dynamic SQL must not grow this map.
    if (name !== null) names.set(text, name);
  }
  return name;
}

/**
 * A pool for Kysely's PostgresDialect that sends marked statements as named (prepared) statements, and keeps a
 * connection lost while checked out from crashing the process.
 */
export function withPreparedStatements(pool: pg.Pool): PostgresPool {
  const wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => ({
    query: ((textOrCursor: string | PostgresCursor<unknown>, parameters?: readonly unknown[]) => {
      if (typeof textOrCursor !== 'string') return client.query(textOrCursor as never);
      const values = parameters ? [...parameters] : [];
      const name = textOrCursor.startsWith('/*') ? preparedStatementName(textOrCursor) : null;
      return name ? client.query({ name, text: textOrCursor, values }) : client.query(textOrCursor, values);
    }) as unknown as PostgresPoolClient['query'],
    release: () => client.release(),
  });
  return {
    async connect() {
      const client = await pool.connect();
      let facade = wrapped.get(client);
      if (!facade) {
        // pg-pool listens for errors only on idle clients: a checked-out one whose server goes away would emit an
        // unhandled 'error' and end the process. Its query fails anyway, and the pool drops it on release.
        client.on('error', () => undefined);
        facade = wrap(client);
        wrapped.set(client, facade);
      }
      return facade;
    },
    end: () => pool.end(),
  };
}
