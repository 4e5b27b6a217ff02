import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { schema, type Database, type Sql } from "../../schemas/database.ts";

/** A postgres.js pool behind drizzle: what the gateway's reads need on any runtime with TCP. */
export interface Pool {
  db: Database;
  /** The same database for fixed statements prepared once per connection. */
  sql: Sql;
  /** Connections the pool opens at most. */
  max: number;
  listen: Listen;
  close(): Promise<void>;
}

/**
 * LISTEN on `channel`: `onPayload` gets each notification, `onConnect`
 * runs each time the listening connection is (re)established, since what was
 * announced while it was down is lost. Resolves once listening; the answer stops it.
 */
export type Listen = (channel: string, onPayload: (payload: string) => void, onConnect: () => void) => Promise<() => Promise<void>>;

/** The longest a lost connection waits before it connects again, in seconds. */
const MAX_RECONNECT_DELAY_S = 2;

/**
 * postgres.js's options for every pool: a connection whose start-up Postgres
 * cut off (a restart, a terminated backend) is retried after a few seconds,
 * not the default 30, which held a query that long. Reconnects back off as
 * postgres.js's do (×3 per failure, jittered) but to 2 s, not its 20: the
 * failures count for the whole pool until one connection starts, so a burst of
 * them (a restart, backends terminated) left queries waiting 10–20 s on a
 * Postgres that was long back.
 */
export const CLIENT_OPTIONS = {
  onnotice: () => {},
  connect_timeout: 5,
  backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(3 ** retries / 100, MAX_RECONNECT_DELAY_S),
} as const;

/** Opens lazily: the first query connects. */
export function openPool(url: string, opts: { max?: number } = {}): Pool {
  const max = opts.max ?? 10;
  const client = postgres(url, { ...CLIENT_OPTIONS, max, prepare: true });
  const db = drizzle(client, { schema }) as unknown as Database;
  // postgres.js names a statement after its text when `prepare` is on: one parse per connection.
  const sql: Sql = { run: (text, params) => client.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true }) };
  return { db, sql, max, listen: listenOn(client), close: () => client.end({ timeout: 5 }) };
}

/** postgres.js keeps one extra connection for LISTEN and re-listens after it drops, calling `onlisten` each time. */
export function listenOn(client: postgres.Sql): Listen {
  return async (channel, onPayload, onConnect) => {
    const { unlisten } = await client.listen(channel, onPayload, onConnect);
    return unlisten;
  };
}
