/**
 * @module What differs between the two engines, as one capabilities object.
 * Queue and migration code ask these flags; nothing else in Auto-Dev checks which driver it runs on.
 */

export type DialectName = 'sqlite' | 'postgres';

export interface DialectCapabilities {
  readonly name: DialectName;
  /** `SELECT ... FOR UPDATE SKIP LOCKED` lets concurrent claimers pass over each other's rows (PostgreSQL). */
  readonly supportsSkipLocked: boolean;
  /** Wake-ups across processes arrive as LISTEN/NOTIFY messages instead of a change check. */
  readonly supportsListenNotify: boolean;
  /**
   * `WITH x AS (UPDATE ... RETURNING ...) INSERT ...`: several writes in one statement, so a state change and its
   * event row take one round trip and no explicit transaction (PostgreSQL). SQLite allows only SELECT in a WITH.
   */
  readonly supportsDataModifyingCte: boolean;
  /** Several processes may hold connections, but writes are serialized by the engine (SQLite's one writer). */
  readonly serializesWriters: boolean;
  /** Column type for an auto-assigned integer primary key. */
  readonly idColumnType: 'integer' | 'bigint';
}

export const SQLITE: DialectCapabilities = {
  name: 'sqlite',
  supportsSkipLocked: false,
  supportsListenNotify: false,
  supportsDataModifyingCte: false,
  serializesWriters: true,
  idColumnType: 'integer',
};

export const POSTGRES: DialectCapabilities = {
  name: 'postgres',
  supportsSkipLocked: true,
  supportsListenNotify: true,
  supportsDataModifyingCte: true,
  serializesWriters: false,
  idColumnType: 'bigint',
};
