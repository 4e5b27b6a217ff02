import { jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { and, asc, eq, gt, sql, type SQL } from "drizzle-orm";
import type { Database } from "../schemas/database.ts";
import { DeadLetterRecord } from "../schemas/dead-letter.ts";
import type { Channel } from "../schemas/enums.ts";
import type { Topology } from "../schemas/subjects.ts";
import { notifications } from "../schemas/tables.ts";

// Postgres is the record of what failed: a `failed` row is a dead letter for
// as long as it exists. The DLQ stream is a feed of the same failures for
// subscribers and alerts, aged out after HERALD_DLQ_MAX_AGE_DAYS; listing and
// replaying read the rows, so its expiry loses nothing. Only garbage that was
// never an envelope has no row, and is listed from the stream.

/** Where a page of failed rows ends: the last row's exact updated_at (microseconds, UTC) and id. */
export interface FailedPosition {
  at: string;
  id: string;
}

/** One failed notification as an operator reads it: what failed, why, when; no payload. */
export interface DeadLetterSummary {
  id: string;
  tenantId: string;
  channel: Channel;
  error: string | null;
  attempts: number;
  failedAt: string;
}

export interface DeadLetterQuery {
  channel?: Channel;
  tenant?: string;
  /** At most this many, oldest failure first. */
  limit: number;
  after?: FailedPosition;
}

/** A message that was not an envelope (reason `invalid`): it has no row, so it is read from the stream. */
export interface InvalidDeadLetter {
  seq: number;
  /** The work subject it was published to. */
  subject: string;
  error: string;
  failedAt: string;
}

export const exactTime = (column: SQL | typeof notifications.updatedAt) => sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
export const oldestFirst = [asc(notifications.updatedAt), asc(notifications.id)] as const;

/** The failed rows a filter selects, after `after` and no later than `until`, in (updated_at, id) order. */
export function failedRows(f: { channel?: Channel; tenant?: string; since?: Date; until?: string; after?: FailedPosition }): SQL | undefined {
  return and(
    eq(notifications.status, "failed"),
    f.channel ? eq(notifications.channel, f.channel) : undefined,
    f.tenant ? eq(notifications.tenantId, f.tenant) : undefined,
    f.since ? gt(notifications.updatedAt, f.since) : undefined,
    f.until ? sql`${notifications.updatedAt} <= ${f.until}::timestamptz` : undefined,
    f.after ? sql`(${notifications.updatedAt}, ${notifications.id}) > (${f.after.at}::timestamptz, ${f.after.id}::uuid)` : undefined,
  );
}

/** Failed notifications, oldest failure first, keyset-paginated; `next` is null on the last page. */
export async function listDeadLetters(db: Database, query: DeadLetterQuery): Promise<{ data: DeadLetterSummary[]; next: FailedPosition | null }> {
  const rows = await db
    .select({ id: notifications.id, tenantId: notifications.tenantId, channel: notifications.channel, error: notifications.lastError, attempts: notifications.attempts, updatedAt: notifications.updatedAt, at: exactTime(notifications.updatedAt) })
    .from(notifications)
    .where(failedRows(query))
    .orderBy(...oldestFirst)
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    data: page.map(({ updatedAt, at: _at, ...r }) => ({ ...r, failedAt: updatedAt.toISOString() })),
    next: rows.length > query.limit && last !== undefined ? { at: last.at, id: last.id } : null,
  };
}

/** The dead-letter stream's `invalid` records after sequence `after`, oldest first; `next` is null once the stream's end is reached. */
export async function listInvalidDeadLetters(nc: NatsConnection, topo: Topology, query: { limit: number; after?: number }): Promise<{ data: InvalidDeadLetter[]; next: number | null }> {
  const { state } = await (await jetstreamManager(nc)).streams.info(topo.streams.dlq);
  const start = Math.max(state.first_seq, (query.after ?? 0) + 1);
  const data: InvalidDeadLetter[] = [];
  if (state.messages === 0 || start > state.last_seq) return { data, next: null };
  const consumer = await jetstream(nc).consumers.get(topo.streams.dlq, { opt_start_seq: start });
  let seen = start - 1;
  try {
    while (data.length < query.limit && seen < state.last_seq) {
      let got = 0;
      // Batches, not one request per sequence: garbage is rare among the stream's records.
      for await (const m of await consumer.fetch({ max_messages: 256, expires: 2000 })) {
        got++;
        seen = m.seq;
        const record = DeadLetterRecord.safeParse(jsonOf(m));
        if (record.success && record.data.reason === "invalid") data.push({ seq: m.seq, subject: record.data.subject, error: record.data.error, failedAt: record.data.failedAt });
        if (data.length >= query.limit || seen >= state.last_seq) break;
      }
      // The rest aged out meanwhile.
      if (got === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => false);
  }
  return { data, next: seen < state.last_seq ? seen : null };
}

/** A stored message's JSON, or null for bytes that are not JSON (published there by hand). */
function jsonOf(m: JsMsg): unknown {
  try {
    return m.json();
  } catch {
    return null;
  }
}

