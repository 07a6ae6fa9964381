/**
 * @module A Kysely dialect wrapper that passes every string parameter of every statement through one function before
 * it reaches the database: Auto-Dev masks known secret values this way (`secrets/secret-masker.ts`), so a transcript,
 * a session outcome, a task result or error, an event or a workflow state written by any code path (the query
 * builder, `sql` templates, the raw PostgreSQL hot-path statements) is stored masked. The store knows nothing of
 * secrets: it only applies the function it is given.
 */
import type {
  CompiledQuery,
  DatabaseConnection,
  DatabaseIntrospector,
  Dialect,
  DialectAdapter,
  Driver,
  Kysely,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely';

/** Rewrites one string parameter (e.g. masks secrets in it); must return the text unchanged when there is nothing to do. */
export type ParameterTransform = (text: string) => string;

function transformed(query: CompiledQuery, transform: ParameterTransform): CompiledQuery {
  let changed = false;
  const parameters = query.parameters.map((value) => {
    if (typeof value !== 'string') return value;
    const next = transform(value);
    if (next !== value) changed = true;
    return next;
  });
  return changed ? { ...query, parameters } : query;
}

class TransformingConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly transform: ParameterTransform,
  ) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.inner.executeQuery<R>(transformed(query, this.transform));
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(transformed(query, this.transform), chunkSize);
  }
}

type SavepointMethod = (
  connection: DatabaseConnection,
  name: string,
  compile: QueryCompiler['compileQuery'],
) => Promise<void>;

class TransformingDriver implements Driver {
  private readonly wrappers = new WeakMap<DatabaseConnection, TransformingConnection>();
  savepoint?: SavepointMethod;
  rollbackToSavepoint?: SavepointMethod;
  releaseSavepoint?: SavepointMethod;

  constructor(
    private readonly inner: Driver,
    private readonly transform: ParameterTransform,
  ) {
    // Only the savepoint methods the wrapped driver has: Kysely asks whether they exist.
    for (const name of ['savepoint', 'rollbackToSavepoint', 'releaseSavepoint'] as const) {
      const method = inner[name];
      if (method)
        this[name] = (connection, savepoint, compile) => method.call(inner, unwrap(connection), savepoint, compile);
    }
  }

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.inner.acquireConnection();
    let wrapper = this.wrappers.get(connection);
    if (!wrapper) {
      wrapper = new TransformingConnection(connection, this.transform);
      this.wrappers.set(connection, wrapper);
    }
    return wrapper;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(unwrap(connection), settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(unwrap(connection));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(unwrap(connection));
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(unwrap(connection));
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

function unwrap(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof TransformingConnection ? connection.inner : connection;
}

/**
 * `dialect`, with every string parameter passed through `transform`.
 *
 * ### Examples
 * ```ts
 * new Kysely<Database>({ dialect: transformingParameters(new SqliteDialect({ database }), (s) => masker.maskText(s)) })
 * ```
 */
export function transformingParameters(dialect: Dialect, transform: ParameterTransform): Dialect {
  return {
    createAdapter: (): DialectAdapter => dialect.createAdapter(),
    createDriver: (): Driver => new TransformingDriver(dialect.createDriver(), transform),
    createQueryCompiler: (): QueryCompiler => dialect.createQueryCompiler(),
    createIntrospector: (db: Kysely<unknown>): DatabaseIntrospector => dialect.createIntrospector(db),
  };
}
