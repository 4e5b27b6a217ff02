import { and, inArray, notInArray, sql, type SQL } from "drizzle-orm";
import type { Database } from "../schemas/database.ts";
import { TERMINAL_STATUSES, type AttemptOutcome } from "../schemas/enums.ts";
import type { Envelope } from "../schemas/envelope.ts";
import { deliveryAttempts, notifications, type NewNotificationRow } from "../schemas/tables.ts";
import { initialStatus, type RowState } from "./plan.ts";

// Batched writes only (DESIGN §6): one statement per step, whatever the batch size.
// Query builder only, so the same code runs on postgres.js and PGlite.

/** One multi-row insert; returns the ids seen for the first time. Redelivery and key collisions do nothing. */
export async function insertNew(db: Database, envelopes: Envelope[], nowMs: number): Promise<Set<string>> {
  const now = new Date(nowMs);
  const rows: NewNotificationRow[] = envelopes.map((e) => ({
    id: e.id,
    tenantId: e.tenantId,
    userId: e.userId,
    channel: e.channel,
    type: e.type,
    priority: e.priority,
    status: initialStatus(e, nowMs),
    payload: e.payload,
    metadata: e.metadata,
    idempotencyKey: e.idempotencyKey,
    correlationId: e.correlationId,
    attempts: 0,
    scheduledFor: e.scheduledFor ? new Date(e.scheduledFor) : null,
    createdAt: new Date(e.acceptedAt),
    updatedAt: now,
  }));
  const inserted = await db.insert(notifications).values(rows).onConflictDoNothing().returning({ id: notifications.id });
  return new Set(inserted.map((r) => r.id));
}

/** The current state of the batch's rows, in one read. */
export async function readStates(db: Database, ids: string[]): Promise<Map<string, RowState>> {
  const rows = await db
    .select({ id: notifications.id, status: notifications.status, attempts: notifications.attempts, lastError: notifications.lastError })
    .from(notifications)
    .where(inArray(notifications.id, ids));
  return new Map(rows.map((r) => [r.id, { status: r.status, attempts: r.attempts, lastError: r.lastError }]));
}

/** Marks the due rows `processing` in one statement; terminal rows are left alone. */
export async function markProcessing(db: Database, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(notifications)
    .set({ status: "processing", updatedAt: new Date() })
    .where(and(inArray(notifications.id, ids), notInArray(notifications.status, [...TERMINAL_STATUSES])));
}

export interface OutcomeRecord {
  id: string;
  attempt: number;
  provider: string;
  outcome: AttemptOutcome;
  latencyMs: number;
  status: "sent" | "retrying" | "failed";
  error: string | null;
}

/**
 * All outcomes of a batch in one transaction: one multi-row attempts insert
 * (its primary key makes a replayed write a no-op) and one update whose
 * per-row values come from CASE expressions.
 */
export async function writeOutcomes(db: Database, records: OutcomeRecord[]): Promise<void> {
  if (records.length === 0) return;
  const byId = (value: (r: OutcomeRecord) => SQL): SQL =>
    sql`case ${notifications.id} ${sql.join(
      records.map((r) => sql`when ${r.id}::uuid then ${value(r)}`),
      sql` `,
    )} end`;
  await db.transaction(async (tx) => {
    await tx
      .insert(deliveryAttempts)
      .values(records.map((r) => ({ notificationId: r.id, attempt: r.attempt, provider: r.provider, outcome: r.outcome, latencyMs: r.latencyMs, error: r.error })))
      .onConflictDoNothing();
    await tx
      .update(notifications)
      .set({
        status: byId((r) => sql`${r.status}::text`),
        attempts: byId((r) => sql`${r.attempt}::int`),
        // A sent row keeps the error of the attempt before it, for the record.
        lastError: byId((r) => (r.error === null ? sql`${notifications.lastError}` : sql`${r.error}::text`)),
        sentAt: byId((r) => (r.status === "sent" ? sql`now()` : sql`${notifications.sentAt}`)),
        updatedAt: new Date(),
      })
      .where(inArray(notifications.id, records.map((r) => r.id)));
  });
}
