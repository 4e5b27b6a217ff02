import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import * as tables from "./tables.ts";

export const schema = tables;

/**
 * A drizzle database over either postgres.js (production) or PGlite (the
 * embedded default of `npm start`). Code that takes a `Database` uses the query
 * builder only, so it runs unchanged on both.
 */
export type Database = PgDatabase<PgQueryResultHKT, typeof tables>;

export const MIGRATIONS_FOLDER = new URL("./migrations", import.meta.url).pathname;
