import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../schemas/database.ts";
import type { Channel } from "../schemas/enums.ts";
import { lifecycleEvent } from "../schemas/events.ts";
import { PAYLOAD_BY_CHANNEL } from "../schemas/request.ts";
import type { Topology } from "../schemas/subjects.ts";
import { notifications } from "../schemas/tables.ts";
import { exactTime, failedRows, listDeadLetters, listInvalidDeadLetters, oldestFirst, type DeadLetterQuery, type FailedPosition } from "./dead-letters.ts";
import { addSchedules } from "./schedules.ts";

export interface ReplayOptions {
  /** Only this channel's failed notifications. */
  channel?: Channel;
  /** Only this tenant's. */
  tenant?: string;
  /** Only those that failed after this time. */
  since?: Date;
  /** Replay at most this many. */
  limit?: number;
  /** Report what would be replayed; change nothing. */
  dryRun?: boolean;
}

export interface ReplayReport {
  /** Ids handed back to the processor (or that would be, with `dryRun`), oldest failure first. */
  replayed: string[];
  /** Failed rows whose payload is not a valid one for their channel (a poison message stored as `{}`): left `failed`. */
  unreplayable: string[];
  /** Failed rows this run did not hand back because another replay took them first. */
  skipped: number;
}

/** What the admin routes are given (gateway/routes/admin.ts): the failed rows, the stream's garbage, and replay. */
export function deadLetterAdmin(nc: NatsConnection, db: Database, topo: Topology) {
  return {
    list: (query: DeadLetterQuery) => listDeadLetters(db, query),
    listInvalid: (query: { limit: number; after?: number }) => listInvalidDeadLetters(nc, topo, query),
    replay: (opts: ReplayOptions) => replayDeadLetters(nc, db, topo, opts),
  };
}

const PAGE = 100;

/**
 * Hands failed notifications back to the processor once their cause is fixed,
 * from their rows, whether or not their dead letters are still in the stream.
 * A page at a time, oldest failure first, in one transaction per page: the
 * rows go `failed` → `retrying` (only from `failed`, so of two concurrent
 * replays one takes each row) and the scheduler is told to release them now.
 * The scheduler publishes each to its lane with a fresh retry budget
 * (`attemptBase`: HERALD_MAX_ATTEMPTS more attempts), so a replay cut short
 * by a crash leaves every row either `failed` or on its way, never stranded.
 * A `retrying` event says so once the page is committed.
 */
export async function replayDeadLetters(nc: NatsConnection, db: Database, topo: Topology, opts: ReplayOptions = {}): Promise<ReplayReport> {
  const report: ReplayReport = { replayed: [], unreplayable: [], skipped: 0 };
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  // Rows that fail again while this runs come after it in the order; the first page's clock keeps them out.
  let until: string | undefined;
  let after: FailedPosition | undefined;
  while (report.replayed.length < limit) {
    const rows = await db
      .select({ id: notifications.id, channel: notifications.channel, payload: notifications.payload, at: exactTime(notifications.updatedAt), clock: exactTime(sql`now()`) })
      .from(notifications)
      .where(failedRows({ ...opts, until, after }))
      .orderBy(...oldestFirst)
      .limit(Math.min(PAGE, limit - report.replayed.length));
    if (rows.length === 0) break;
    until ??= rows[0]?.clock;
    const wanted: string[] = [];
    for (const row of rows) {
      if (report.replayed.length + wanted.length >= limit) break;
      after = { at: row.at, id: row.id };
      if (PAYLOAD_BY_CHANNEL[row.channel].safeParse(row.payload).success) wanted.push(row.id);
      else report.unreplayable.push(row.id);
    }
    if (opts.dryRun) report.replayed.push(...wanted);
    else if (wanted.length > 0) await replayPage(nc, db, topo, wanted, report);
  }
  return report;
}

/** One page: take the rows and schedule their release in one transaction, then announce them. */
async function replayPage(nc: NatsConnection, db: Database, topo: Topology, ids: string[], report: ReplayReport): Promise<void> {
  const taken = await db.transaction(async (tx) => {
    const rows = await tx
      .update(notifications)
      .set({ status: "retrying", updatedAt: sql`now()` })
      .where(and(inArray(notifications.id, ids), eq(notifications.status, "failed")))
      .returning({ id: notifications.id, tenantId: notifications.tenantId, userId: notifications.userId, channel: notifications.channel, attempts: notifications.attempts });
    const now = new Date().toISOString();
    await addSchedules(tx, rows.map((r) => ({ id: r.id, dueAt: now, reason: "replay" as const })));
    return rows;
  });
  report.skipped += ids.length - taken.length;
  const byId = new Map(taken.map((t) => [t.id, t]));
  // In the page's order, oldest failure first.
  for (const id of ids) if (byId.has(id)) report.replayed.push(id);
  // Informational, after the commit: a lost event changes nothing the rows say.
  const js = jetstream(nc);
  await Promise.allSettled(
    taken.map((r) => {
      const event = lifecycleEvent("retrying", r, { ...(r.attempts > 0 ? { attempt: r.attempts } : {}), error: "replayed after it failed" });
      return js.publish(topo.eventSubject("retrying"), JSON.stringify(event), { msgID: `${r.id}:replayed:${r.attempts}` });
    }),
  );
}
