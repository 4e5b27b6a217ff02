import { sql } from "drizzle-orm";
import type { Database } from "../../schemas/database.ts";
import { CHANNELS, NOTIFICATION_TYPES, PRIORITIES, SCHEDULE_REASONS, type ScheduleReason } from "../../schemas/enums.ts";
import type { Envelope } from "../../schemas/envelope.ts";
import { markReleased, unbeginAttempts, type AttemptStart } from "./notification-repository.ts";

/** The one writer of the `schedules` table: what waits for a time, and its release. */

/** A notification to hold until `dueAt`. */
export interface ScheduleEntry {
  id: string;
  /** The row's `RowState.createdAt`: with the id, the row the entry belongs to. */
  createdAt: string;
  dueAt: string;
  reason: ScheduleReason;
}

type Row = Record<string, unknown>;

function rowsOf(result: unknown): Row[] {
  if (Array.isArray(result)) return result as Row[];
  if (typeof result === "object" && result !== null && "rows" in result && Array.isArray(result.rows)) return result.rows as Row[];
  throw new Error("unexpected query result shape");
}

/** Something that runs SQL: the database, or a transaction on it. */
type Executor = Pick<Database, "execute">;

/** Holds the notifications until their time, in one statement; an entry already held takes the new time and reason. */
export async function addSchedules(db: Executor, entries: ScheduleEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const input = JSON.stringify(entries.map((e) => ({ notification_id: e.id, notification_created_at: e.createdAt, due_at: e.dueAt, reason: e.reason })));
  await db.execute(sql`
    insert into schedules (notification_id, notification_created_at, due_at, reason)
    select notification_id, notification_created_at, due_at, reason
    from jsonb_to_recordset(${input}::jsonb) as x(notification_id uuid, notification_created_at timestamptz, due_at timestamptz, reason text)
    on conflict (notification_id) do update set due_at = excluded.due_at, reason = excluded.reason`);
}

/**
 * Hands attempts begun but never made back to the scheduler, in one
 * transaction: the rows get their attempt back (`unbeginAttempts`) and wait
 * as `provider_wait` until `dueAt`. A row another consumer moved on meanwhile
 * gets no entry. Returns the ids it deferred.
 */
export async function deferAttempts(db: Database, entries: Array<AttemptStart & { dueAt: string }>): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  return db.transaction(async (tx) => {
    const moved = await unbeginAttempts(
      tx,
      entries.map(({ id, createdAt, attempt }) => ({ id, createdAt, attempt })),
    );
    await addSchedules(
      tx,
      entries.filter((e) => moved.has(e.id)).map((e) => ({ id: e.id, createdAt: e.createdAt, dueAt: e.dueAt, reason: "provider_wait" as const })),
    );
    return moved;
  });
}

/** What a release hands over: the notification, rebuilt from its row, to publish to its lane. */
export interface Released {
  envelope: Envelope;
  dueAt: Date;
  reason: ScheduleReason;
}

/**
 * A notification held back by the batch that read it (quiet hours, every
 * provider open) waits in whatever status it had: `scheduled` (new and held
 * for quiet hours), `accepted` (never attempted, or released from a schedule),
 * `retrying`, or `processing` (an attempt cut short, which the next delivery
 * records as interrupted).
 */
const HELD = ["scheduled", "accepted", "retrying", "processing"] as const;

/** The row statuses each reason waits in; an entry whose row moved on (sent, cancelled, failed) is dropped at release. */
const STATUSES_FOR: Record<ScheduleReason, readonly string[]> = {
  scheduled: ["scheduled"],
  replay: ["retrying"],
  provider_wait: HELD,
  quiet_hours: HELD,
};

/**
 * Releases what is due, at most `limit` entries, in one transaction: the due
 * entries and their rows are locked (`skip locked`, so any number of
 * processors release disjoint sets), the entries deleted, the rows of
 * schedules moved `scheduled` → `accepted`, and last `publish` must make
 * every one durable in the work stream before the commit. If `publish`
 * throws, nothing changes and the next release tries again; a message
 * published before the failure is a duplicate the work stream's dedupe or the
 * row's status absorbs. An entry whose row is no longer in the status its
 * reason expects (`scheduled` for a schedule, `retrying` for a replay:
 * cancelled, or sent when its message came due on its own) is deleted
 * without a publish. Returns how many entries it took.
 */
export async function releaseDue(db: Database, limit: number, publish: (due: Released[]) => Promise<void>): Promise<number> {
  return db.transaction(async (tx) => {
    // Both rows locked up front: a row a consumer is writing right now is left for the next release, and nothing here waits on a lock later.
    const rows = rowsOf(
      await tx.execute(sql`
        select s.notification_id, s.due_at, s.reason, n.status, n.attempts, n.tenant_id, n.user_id, n.channel, n.type, n.priority,
          n.payload, n.metadata, n.idempotency_key, n.correlation_id, n.scheduled_for,
          to_char(n.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at
        from schedules s join notifications n on n.id = s.notification_id and n.created_at = s.notification_created_at
        where s.due_at <= now()
        order by s.due_at
        limit ${limit}
        for update of s, n skip locked`),
    );
    if (rows.length === 0) return 0;
    const due = rows.filter((r) => STATUSES_FOR[oneOf(SCHEDULE_REASONS, r.reason)].includes(String(r.status))).map(toReleased);
    const ids = JSON.stringify(rows.map((r) => String(r.notification_id)));
    await tx.execute(sql`delete from schedules where notification_id in (select jsonb_array_elements_text(${ids}::jsonb)::uuid)`);
    await markReleased(
      tx,
      due.filter((d) => d.reason === "scheduled" || d.reason === "quiet_hours").map((d) => ({ id: d.envelope.id, createdAt: d.envelope.acceptedAt })),
    );
    // Last: once the stream has them, only the commit is left, and a consumer that reads a row first waits for it.
    await publish(due);
    return rows.length;
  });
}

function oneOf<T extends string>(values: readonly T[], value: unknown): T {
  const found = values.find((v) => v === value);
  if (found === undefined) throw new Error(`unexpected value in the database: ${String(value)}`);
  return found;
}

const iso = (v: unknown): string => (v instanceof Date ? v : new Date(String(v))).toISOString();

function toReleased(r: Row): Released {
  const reason = oneOf(SCHEDULE_REASONS, r.reason);
  const attempts = Number(r.attempts);
  const envelope: Envelope = {
    v: 1,
    id: String(r.notification_id),
    tenantId: String(r.tenant_id),
    userId: String(r.user_id),
    channel: oneOf(CHANNELS, r.channel),
    type: oneOf(NOTIFICATION_TYPES, r.type),
    priority: oneOf(PRIORITIES, r.priority),
    payload: r.payload as Record<string, unknown>,
    metadata: (r.metadata as Record<string, string> | null) ?? null,
    idempotencyKey: r.idempotency_key == null ? null : String(r.idempotency_key),
    correlationId: r.correlation_id == null ? null : String(r.correlation_id),
    scheduledFor: r.scheduled_for == null ? null : iso(r.scheduled_for),
    // Exact: the message's acceptedAt is its row's created_at, the half of the row's key the claim matches.
    acceptedAt: String(r.created_at),
    // A replayed notification's retry budget counts from its replay.
    ...(reason === "replay" ? { attemptBase: attempts } : {}),
  };
  return { envelope, dueAt: new Date(iso(r.due_at)), reason };
}
