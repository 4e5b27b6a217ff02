import { drizzle as drizzlePg } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { CLIENT_OPTIONS, openPool, type Listen } from "./pool.ts";
import { schema, type Database, type Sql, type SqlRow } from "../../schemas/database.ts";
import { migrate } from "./migrations.ts";
import pgliteData from "@electric-sql/pglite/pglite.data" with { type: "file" };
import initdbWasm from "@electric-sql/pglite/initdb.wasm" with { type: "file" };
import pgliteWasm from "@electric-sql/pglite/pglite.wasm" with { type: "file" };

export interface DatabaseHandle {
  db: Database;
  /** The same database for fixed statements prepared once per connection. */
  sql: Sql;
  kind: "postgres" | "pglite";
  /** Connections the pool opens at most (PGlite: one), for `herald_db_pool_max_connections`. */
  poolMax: number;
  /** Runs the committed migrations; safe to call on every start. */
  migrate(): Promise<void>;
  /**
   * Runs `fn` on one connection of its own, closed after it: what holds a
   * session-level advisory lock (the retention pass). PGlite's one connection.
   */
  session<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  listen: Listen;
  close(): Promise<void>;
}

/** A pooled postgres.js connection behind drizzle, with the migrations. */
export function connectPostgres(url: string, opts: { max?: number } = {}): DatabaseHandle {
  const pool = openPool(url, opts);
  return {
    db: pool.db,
    sql: pool.sql,
    kind: "postgres",
    poolMax: pool.max,
    migrate: () => migratePostgres(url),
    session: (fn) => onOwnConnection(url, fn),
    listen: pool.listen,
    close: pool.close,
  };
}

/**
 * Migrates on a connection of its own: the advisory lock that serialises
 * migrating processes belongs to one session, and a reserved postgres.js
 * connection cannot open the transactions drizzle's migrator needs (it has no
 * `begin`), so this is a pool of exactly one connection, closed when done,
 * which also frees the lock if the unlock never ran.
 */
async function migratePostgres(url: string): Promise<void> {
  const client = postgres(url, { ...CLIENT_OPTIONS, max: 1 });
  try {
    await migrate(drizzlePg(client, { schema }) as unknown as Database);
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** A connection of its own for `session`, typed and parsed as the pool's are (drizzle sets postgres.js's jsonb and timestamp handling). */
async function onOwnConnection<T>(url: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const client = postgres(url, { ...CLIENT_OPTIONS, max: 1 });
  drizzlePg(client, { schema });
  try {
    return await fn({ run: (text, params) => client.unsafe(text, params as postgres.ParameterOrJSON<never>[]) });
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** The embedded default of `npm start` when no Postgres answers: PGlite under the data dir. */
export async function openPglite(dir: string): Promise<DatabaseHandle> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  // Handed over explicitly: PGlite looks for these beside its own module, which a compiled binary does not have.
  const [pgliteWasmModule, initdbWasmModule] = await Promise.all(
    [pgliteWasm, initdbWasm].map(async (path) => WebAssembly.compile(await Bun.file(path).arrayBuffer())),
  );
  const client = new PGlite(dir, { pgliteWasmModule, initdbWasmModule, fsBundle: Bun.file(pgliteData) });
  const db = drizzle(client, { schema }) as unknown as Database;
  const sql: Sql = { run: async (text, params) => (await client.query<SqlRow>(text, params)).rows };
  return {
    db,
    sql,
    kind: "pglite",
    poolMax: 1,
    migrate: () => migrate(db),
    session: (fn) => fn(sql),
    // One process, one connection: nothing is missed, so it connects once.
    listen: async (channel, onPayload, onConnect) => {
      const unlisten = await client.listen(channel, onPayload);
      onConnect();
      return unlisten;
    },
    close: () => client.close(),
  };
}
