import type { NatsConnection } from "@nats-io/nats-core";
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import { exactTime, failedRows, listDeadLetters, oldestFirst } from "../lib/db/failed-rows.ts";
import { appendAudit, type AuditEntry } from "../lib/db/audit.ts";
import { takeForReplay } from "../lib/db/notification-repository.ts";
import { addSchedules } from "../lib/db/schedules.ts";
import type { AckPublisher } from "../lib/nats/ack-publisher.ts";
import { listInvalidDeadLetters } from "../lib/nats/dead-letters.ts";
import { publishEvents } from "../lib/nats/event-publisher.ts";
import type { Database } from "../schemas/database.ts";
import type { DeadLetterAdmin, FailedPosition, ReplayActor, ReplayOptions, ReplayReport } from "../schemas/dead-letter.ts";
import { lifecycleEvent } from "../schemas/events.ts";
import { PAYLOAD_BY_CHANNEL } from "../schemas/request.ts";
import type { Topology } from "../schemas/subjects.ts";
import { notifications } from "../schemas/tables.ts";

/** What a replay works with: the rows, and the stream its `retrying` events go to. */
export interface ReplayDeps {
  db: Database;
  publisher: AckPublisher;
  topo: Topology;
  log: Logger;
}

/** What the admin routes are given (gateway/routes/admin.ts): the failed rows, the stream's garbage, and replay. */
export function deadLetterAdmin(nc: NatsConnection, deps: ReplayDeps): DeadLetterAdmin {
  return {
    list: (query) => listDeadLetters(deps.db, query),
    listInvalid: (query) => listInvalidDeadLetters(nc, deps.topo, query),
    replay: (opts, by) => replayDeadLetters(deps, opts, by),
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
 * A `retrying` event says so once the page is committed. A replay that is
 * not a dry run ends with one `dead_letters.replayed` audit entry under `by`
 * (its counts and filters), also when a page failed part-way.
 */
export async function replayDeadLetters(deps: ReplayDeps, opts: ReplayOptions, by: ReplayActor): Promise<ReplayReport> {
  const report: Tally = { replayed: [], unreplayable: [], skipped: 0 };
  if (opts.dryRun) {
    await replayPages(deps, opts, report);
    return { dryRun: true, wouldReplay: report.replayed, unreplayable: report.unreplayable };
  }
  try {
    await replayPages(deps, opts, report);
  } catch (err) {
    // The pages committed before the failure were replayed: their record must not depend on the one that failed.
    await appendAudit(deps.db, replayEntry(by, opts, report, true)).catch((auditErr: unknown) =>
      deps.log.error({ err: auditErr, ...by, replayed: report.replayed.length }, "a replay that failed part-way could not be recorded in the audit log"),
    );
    throw err;
  }
  // The pages commit one by one, so the entry follows the last of them rather than sharing a transaction.
  await appendAudit(deps.db, replayEntry(by, opts, report, false));
  return { dryRun: false, ...report };
}

/** The audit entry of a replay: who, the tenant it was limited to (null: every tenant), its counts and filters; no ids. */
function replayEntry(by: ReplayActor, opts: ReplayOptions, report: Tally, incomplete: boolean): AuditEntry {
  const { channel, tenant, since, limit } = opts;
  const filters = {
    ...(channel ? { channel } : {}),
    ...(tenant ? { tenant } : {}),
    ...(since ? { since: since.toISOString() } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
  return {
    ...by,
    tenantId: tenant ?? null,
    action: "dead_letters.replayed",
    target: null,
    details: {
      replayed: report.replayed.length,
      unreplayable: report.unreplayable.length,
      skipped: report.skipped,
      filters,
      ...(incomplete ? { incomplete } : {}),
    },
  };
}

/** Every page of failed rows the options select, into `report`; a dry run only sorts them. */
async function replayPages(deps: ReplayDeps, opts: ReplayOptions, report: Tally): Promise<void> {
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  // Rows that fail again while this runs come after it in the order; the first page's clock keeps them out.
  let until: string | undefined;
  let after: FailedPosition | undefined;
  while (report.replayed.length < limit) {
    const rows = await deps.db
      .select({
        id: notifications.id,
        channel: notifications.channel,
        payload: notifications.payload,
        at: exactTime(notifications.updatedAt),
        clock: exactTime(sql`now()`),
      })
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
    else if (wanted.length > 0) await replayPage(deps, wanted, report);
  }
}

/** What a run collects as it goes. */
interface Tally {
  replayed: string[];
  unreplayable: string[];
  skipped: number;
}

/** One page: take the rows and schedule their release in one transaction, then announce them. */
async function replayPage({ db, publisher, topo, log }: ReplayDeps, ids: string[], report: Tally): Promise<void> {
  const taken = await db.transaction(async (tx) => {
    const rows = await takeForReplay(tx, ids);
    const now = new Date().toISOString();
    await addSchedules(
      tx,
      rows.map((r) => ({ id: r.id, createdAt: r.createdAt, dueAt: now, reason: "replay" as const })),
    );
    return rows;
  });
  report.skipped += ids.length - taken.length;
  const byId = new Map(taken.map((t) => [t.id, t]));
  // In the page's order, oldest failure first.
  for (const id of ids) if (byId.has(id)) report.replayed.push(id);
  // Informational, after the commit: a lost event changes nothing the rows say.
  const events = taken.map((r) => lifecycleEvent("retrying", r, { ...(r.attempts > 0 ? { attempt: r.attempts } : {}), error: "replayed after it failed" }));
  await publishEvents(publisher, topo, events, log);
}
