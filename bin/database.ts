import { drizzle as drizzlePg } from "drizzle-orm/postgres-js";
import { migrate as migratePg } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { MIGRATIONS_FOLDER, schema, type Database } from "../schemas/database.ts";

export interface DatabaseHandle {
  db: Database;
  kind: "postgres" | "pglite";
  /** Connections the pool opens at most (PGlite: one), for `herald_db_pool_max_connections`. */
  poolMax: number;
  /** Runs the committed migrations; safe to call on every start. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

/** A pooled postgres.js connection behind drizzle. */
export function connectPostgres(url: string, opts: { max?: number } = {}): DatabaseHandle {
  const poolMax = opts.max ?? 10;
  const client = postgres(url, { max: poolMax, onnotice: () => {}, prepare: true });
  const db = drizzlePg(client, { schema }) as unknown as Database;
  return {
    db,
    kind: "postgres",
    poolMax,
    migrate: () => migratePg(drizzlePg(client), { migrationsFolder: MIGRATIONS_FOLDER }),
    close: () => client.end({ timeout: 5 }),
  };
}

/** The embedded default of `npm start` when no Postgres answers: PGlite under the data dir. */
export async function openPglite(dir: string): Promise<DatabaseHandle> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  const client = new PGlite(dir);
  const db = drizzle(client, { schema }) as unknown as Database;
  return {
    db,
    kind: "pglite",
    poolMax: 1,
    migrate: () => migrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER }),
    close: () => client.close(),
  };
}
