/**
 * @module Runs a function in the caller's transaction when it has one, else in a new one: every multi-statement
 * change is atomic, and a caller can still make it part of a larger transaction.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export function inTransaction<T>(db: Kysely<Database>, fn: (tx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}
