import { jetstream, jetstreamManager, type JetStreamManager, type StoredMsg, type StreamState } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../schemas/database.ts";
import type { Channel } from "../schemas/enums.ts";
import { DeadLetterRecord } from "../schemas/dead-letter.ts";
import type { Topology } from "../schemas/subjects.ts";
import { notifications } from "../schemas/tables.ts";
import { lifecycleEvent } from "../schemas/events.ts";

export interface ReplayOptions {
  /** Only this channel's dead letters. */
  channel?: Channel;
  /** Only this tenant's. */
  tenant?: string;
  /** Replay at most this many. */
  limit?: number;
  /** Report what would be replayed; change nothing. */
  dryRun?: boolean;
}

export interface ReplayReport {
  /** Ids handed back to the processor (or that would be, with `dryRun`). */
  replayed: string[];
  /** Dead letters of notifications that ended since (sent or cancelled): removed. */
  stale: number;
  /** Garbage (reason `invalid`): kept, there is nothing to replay. */
  invalid: number;
  /** Left where they are: filtered out, past `limit`, or with no row to match. */
  kept: number;
}


/** A stored message's JSON, or null for bytes that are not JSON (published there by hand). */
function recordOf(m: StoredMsg): unknown {
  try {
    return m.json();
  } catch {
    return null;
  }
}

/** Each stored dead letter in stream order, with its record (null: not a record of ours); one already removed is skipped. */
async function* deadLetters(jsm: JetStreamManager, topo: Topology, state: StreamState): AsyncGenerator<{ seq: number; subject: string; record: DeadLetterRecord | null }> {
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(topo.streams.dlq, { seq }).catch(() => null);
    if (m === null) continue;
    const parsed = DeadLetterRecord.safeParse(recordOf(m));
    yield { seq, subject: m.subject, record: parsed.success ? parsed.data : null };
  }
}

/** One dead letter as an operator reads it: what failed, why, when; no payload. */
export interface DeadLetterSummary {
  seq: number;
  reason: "failed" | "invalid";
  id: string | null;
  tenantId: string | null;
  channel: string;
  error: string;
  attempts: number | null;
  failedAt: string;
}

export interface DeadLetterQuery {
  channel?: Channel;
  tenant?: string;
  /** At most this many, oldest first. Default 100. */
  limit?: number;
}

/** The dead letters in stream order, filtered; payloads and recipients stay in the stream. */
export async function listDeadLetters(nc: NatsConnection, topo: Topology, query: DeadLetterQuery = {}): Promise<{ data: DeadLetterSummary[]; total: number }> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(topo.streams.dlq);
  const limit = query.limit ?? 100;
  const data: DeadLetterSummary[] = [];
  for await (const { seq, subject, record } of deadLetters(jsm, topo, state)) {
    if (data.length >= limit) break;
    if (record === null || (query.channel && subject !== topo.dlqSubject(query.channel))) continue;
    const channel = subject.slice(subject.lastIndexOf(".") + 1);
    if (record.reason === "failed") {
      const { envelope: e, error, attempts, failedAt } = record;
      if (query.tenant && e.tenantId !== query.tenant) continue;
      data.push({ seq, reason: "failed", id: e.id, tenantId: e.tenantId, channel, error, attempts, failedAt });
    } else if (!query.tenant) {
      data.push({ seq, reason: "invalid", id: null, tenantId: null, channel, error: record.error, attempts: null, failedAt: record.failedAt });
    }
  }
  return { data, total: state.messages };
}

/**
 * Hands dead-lettered notifications back to the processor once their cause is
 * fixed. Per dead letter, in stream order: the row goes `failed` → `retrying`,
 * the envelope is published to its lane again, a `retrying` event says so,
 * and only then is the dead letter removed, so a replay cut short is resumed
 * by running it again (a row already `retrying` is published again, which
 * the msg id dedupes). A replayed notification gets a fresh retry budget
 * (`attemptBase`: HERALD_MAX_ATTEMPTS more attempts, with backoff from the
 * start); if they fail too, it is dead-lettered again.
 */
export async function replayDeadLetters(nc: NatsConnection, db: Database, topo: Topology, opts: ReplayOptions = {}): Promise<ReplayReport> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const report: ReplayReport = { replayed: [], stale: 0, invalid: 0, kept: 0 };
  const wanted = opts.channel ? topo.dlqSubject(opts.channel) : undefined;
  const { state } = await jsm.streams.info(topo.streams.dlq);
  for await (const { seq, subject, record } of deadLetters(jsm, topo, state)) {
    if (record === null || record.reason !== "failed") {
      report.invalid++;
      continue;
    }
    const { envelope: e } = record;
    const full = opts.limit !== undefined && report.replayed.length >= opts.limit;
    if ((wanted && subject !== wanted) || (opts.tenant && e.tenantId !== opts.tenant) || full) {
      report.kept++;
      continue;
    }
    const [row] = await db.select({ status: notifications.status, attempts: notifications.attempts }).from(notifications).where(eq(notifications.id, e.id));
    if (row === undefined || !["failed", "retrying", "sent", "cancelled"].includes(row.status)) {
      report.kept++;
      continue;
    }
    if (opts.dryRun) {
      if (row.status === "failed" || row.status === "retrying") report.replayed.push(e.id);
      else report.stale++;
      continue;
    }
    if (row.status === "sent" || row.status === "cancelled") {
      await jsm.streams.deleteMessage(topo.streams.dlq, seq);
      report.stale++;
      continue;
    }
    await db
      .update(notifications)
      .set({ status: "retrying", updatedAt: sql`now()` })
      .where(and(eq(notifications.id, e.id), inArray(notifications.status, ["failed", "retrying"])));
    const again: typeof e = { ...e, attemptBase: row.attempts };
    await js.publish(topo.sendSubject(e.priority, e.channel), JSON.stringify(again), { msgID: `${e.id}:replay:${row.attempts}` });
    const event = lifecycleEvent("retrying", e, { attempt: row.attempts, error: "replayed from the dead-letter stream" });
    await js.publish(topo.eventSubject("retrying"), JSON.stringify(event), { msgID: `${e.id}:retrying:${row.attempts}` });
    await jsm.streams.deleteMessage(topo.streams.dlq, seq);
    report.replayed.push(e.id);
  }
  return report;
}
