import { drizzle as drizzlePg } from "drizzle-orm/postgres-js";
import postgres from "postgres";
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
  close(): Promise<void>;
}

/**
 * postgres.js's options for every pool: a connection whose start-up Postgres
 * cut off (a restart, a terminated backend) is retried after a few seconds,
 * not the default 30, which held a query that long.
 */
const CLIENT_OPTIONS = { onnotice: () => {}, connect_timeout: 5 } as const;

/** A pooled postgres.js connection behind drizzle. */
export function connectPostgres(url: string, opts: { max?: number } = {}): DatabaseHandle {
  const poolMax = opts.max ?? 10;
  const client = postgres(url, { ...CLIENT_OPTIONS, max: poolMax, prepare: true });
  const db = drizzlePg(client, { schema }) as unknown as Database;
  // postgres.js names a statement after its text when `prepare` is on: one parse per connection.
  const sql: Sql = { run: (text, params) => client.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true }) };
  return {
    db,
    sql,
    kind: "postgres",
    poolMax,
    migrate: () => migratePostgres(url),
    close: () => client.end({ timeout: 5 }),
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
    close: () => client.close(),
  };
}
