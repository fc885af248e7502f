import pg from "pg";
import { z } from "zod";

/**
 * The little the metadata store needs from a SQL connection: parameterised queries (`$1`, `$2`, ...) and
 * transactions. Implemented over a `pg` pool (PostgreSQL) and over an embedded PGlite instance, so the same SQL
 * runs on both. Results differ between the drivers in a few types (int8 is a string in `pg` and a number in
 * PGlite), so queries cast counts and sums in SQL (`::int`, `::float8`).
 */
export interface SqlClient {
  /** Runs one statement. jsonb values should be passed as `JSON.stringify(value)` into `$n::text::jsonb`. */
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<{ rows: T[] }>;
  /**
   * Runs `fn` inside one transaction on one connection: committed when `fn` resolves, rolled back when it throws.
   * Calling `transaction` on the `tx` handed to `fn` runs in the same transaction (no nesting).
   */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  /** Closes the connections. Idempotent. */
  close(): Promise<void>;
}

const pgSqlClientOptionsSchema = z.object({
  connectionString: z.string().min(1),
  max: z.number().int().positive().default(10),
  connectionTimeoutMillis: z.number().int().positive().default(10_000),
  idleTimeoutMillis: z.number().int().nonnegative().default(10_000),
});

/** Options of {@link createPgSqlClient}. */
export interface PgSqlClientOptions {
  /** `postgres://user:password@host:port/database`. */
  connectionString: string;
  /** Largest number of connections the pool opens. Default 10. */
  max?: number;
  /** How long to wait for a connection before failing, in ms. Default 10000. */
  connectionTimeoutMillis?: number;
  /** How long an unused connection stays open, in ms. Default 10000. */
  idleTimeoutMillis?: number;
  /**
   * Called with errors of idle connections (e.g. the server restarted). The pool drops such connections and opens
   * new ones for the next queries; without this handler the error is ignored rather than crashing the process.
   */
  onIdleError?: (error: Error) => void;
}

/** A {@link SqlClient} over a `pg` connection pool. Survives server restarts: later queries reconnect. */
export function createPgSqlClient(options: PgSqlClientOptions): SqlClient {
  const settings = pgSqlClientOptionsSchema.parse(options);
  const pool = new pg.Pool(settings);
  // An idle connection that the server drops emits `error` on the pool; unhandled, that event would end the process.
  pool.on("error", (error) => options.onIdleError?.(error));
  let closed: Promise<void> | undefined;

  const query = async <T>(runner: pg.Pool | pg.PoolClient, text: string, params?: readonly unknown[]) => {
    const result = await runner.query(text, params as unknown[] | undefined);
    return { rows: result.rows as T[] };
  };

  const client: SqlClient = {
    query: (text, params) => query(pool, text, params),
    async transaction(fn) {
      const connection = await pool.connect();
      // While checked out the pool does not listen for the connection's errors; a server shutdown mid-transaction
      // must surface as the failed query, not as an unhandled `error` event.
      const ignoreConnectionError = () => {};
      connection.on("error", ignoreConnectionError);
      let broken: Error | undefined;
      try {
        await connection.query("BEGIN");
        const tx: SqlClient = {
          query: (text, params) => query(connection, text, params),
          transaction: (inner) => inner(tx),
          close: async () => {},
        };
        const value = await fn(tx);
        await connection.query("COMMIT");
        return value;
      } catch (error) {
        try {
          await connection.query("ROLLBACK");
        } catch (rollbackError) {
          // The connection is unusable (e.g. the server went away): destroy it instead of returning it to the pool.
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
        throw error;
      } finally {
        connection.off("error", ignoreConnectionError);
        connection.release(broken);
      }
    },
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
  return client;
}

/**
 * The part of PGlite's API the client uses, stated structurally: the package's declarations then need no PGlite
 * (or Emscripten) types, so a host app type-checks against them without installing those.
 */
export interface PgliteConnection {
  query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
  transaction<T>(
    callback: (transaction: {
      query<R>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
    }) => Promise<T>,
  ): Promise<T>;
  readonly closed: boolean;
  close(): Promise<void>;
}

/**
 * A {@link SqlClient} over an embedded PGlite instance. PGlite has one connection and runs statements one at a
 * time; while a transaction is open, other queries wait for it. `close()` closes the PGlite instance.
 */
export function createPgliteSqlClient(db: PgliteConnection): SqlClient {
  let closed: Promise<void> | undefined;
  const client: SqlClient = {
    async query<T>(text: string, params?: readonly unknown[]) {
      const result = await db.query<T>(text, params as unknown[] | undefined);
      return { rows: result.rows };
    },
    transaction(fn) {
      return db.transaction(async (transaction) => {
        const tx: SqlClient = {
          async query<T>(text: string, params?: readonly unknown[]) {
            const result = await transaction.query<T>(text, params as unknown[] | undefined);
            return { rows: result.rows };
          },
          transaction: (inner) => inner(tx),
          close: async () => {},
        };
        return fn(tx);
      });
    },
    close() {
      closed ??= db.closed ? Promise.resolve() : db.close();
      return closed;
    },
  };
  return client;
}
