import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import * as tables from "./tables.ts";

export const schema = tables;

/**
 * A drizzle database over either postgres.js (production) or PGlite (the
 * embedded default of `npm start`). Code that takes a `Database` uses the query
 * builder only, so it runs unchanged on both.
 */
export type Database = PgDatabase<PgQueryResultHKT, typeof tables>;

/** A row of a statement run through `Sql`, column names as Postgres returns them. */
export type SqlRow = Record<string, unknown>;

/**
 * Fixed SQL run as a named prepared statement, so Postgres parses and plans
 * it once per connection: the processor's batch statements, which the query
 * builder would send unnamed every time. Implemented for postgres.js and PGlite.
 */
export interface Sql {
  run(text: string, params: unknown[]): Promise<SqlRow[]>;
}
