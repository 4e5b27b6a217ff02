import type { JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { holding, isolating } from "../lib/db/durable.ts";
import { markFailed } from "../lib/db/notification-repository.ts";
import { dlqSubjectFor, publishDeadLetter } from "../lib/nats/dead-letters.ts";
import { publishEvents } from "../lib/nats/event-publisher.ts";
import type { FailureReason } from "../lib/telemetry/recorder.ts";
import type { DeadLetterRecord } from "../schemas/dead-letter.ts";
import { lifecycleEvent } from "../schemas/events.ts";
import { noteLog, type Item, type LaneContext } from "./context.ts";
import type { Settlement } from "./settlement.ts";
import { persist } from "./lane-telemetry.ts";

/** A message that ends `failed` without a send, and why. */
export interface FailedItem extends Item {
  error: string;
  /** Attempts its row had begun, when it has a row. */
  attempts?: number;
}

/** How long a message whose dead letter did not reach the stream waits before it is tried again. */
const DEAD_LETTER_RETRY_MS = 1000;

/** Publishes a record to the dead-letter stream; false (logged) when the stream did not take it. */
async function toDlq(ctx: LaneContext, subject: string, record: DeadLetterRecord, msgId: string, log: () => Logger): Promise<boolean> {
  try {
    await publishDeadLetter(ctx.publisher, subject, record, msgId, ctx.metrics);
    return true;
  } catch (err) {
    log().error({ err }, "could not publish the dead letter; will retry on redelivery");
    return false;
  }
}

/**
 * Publishes a failed notification to `<ns>.v1.dlq.<channel>`. The msg id
 * names the attempts, so a redelivery dedupes while the failure of a replayed
 * notification is a new dead letter.
 */
export function deadLetter(ctx: LaneContext, item: Item, error: string, attempts: number): Promise<boolean> {
  const e = item.envelope;
  const record: DeadLetterRecord = { v: 1, reason: "failed", error, attempts, failedAt: new Date().toISOString(), envelope: e };
  return toDlq(ctx, ctx.topo.dlqSubject(e.channel), record, `dlq:${e.id}:${attempts}`, () => noteLog(ctx, e));
}

/** Terms a message whose dead letter is stored; naks one whose is not, so its redelivery publishes it again. */
function settleDeadLettered(s: Settlement, m: JsMsg, stored: boolean): void {
  if (stored) s.term(m);
  else s.nak(m, DEAD_LETTER_RETRY_MS);
}

/** A row already `failed` whose message came back: make sure its dead letter is stored, then term. */
export async function redeadLetter(ctx: LaneContext, item: Item, error: string, attempts: number, s: Settlement): Promise<void> {
  settleDeadLettered(s, item.msg, await deadLetter(ctx, item, error, attempts));
}

/**
 * Ends messages `failed` without a send — Postgres refused them, or they
 * stalled — with their reason on the row, in the DLQ and in a `failed` event;
 * then terms them.
 */
export async function failAll(ctx: LaneContext, failed: FailedItem[], reason: FailureReason, s: Settlement): Promise<void> {
  if (failed.length === 0) return;
  const { refused } = await isolating(failed, (part) =>
    holding(
      "mark_failed",
      () =>
        persist(ctx, "mark_failed", part, () =>
          markFailed(
            ctx.sql,
            part.map((f) => ({ envelope: f.envelope, error: f.error })),
          ),
        ),
      ctx.hold,
    ),
  );
  for (const { item, error } of refused)
    noteLog(ctx, item.envelope).error({ err: error }, "Postgres refused even the failed row; the dead letter still records the failure");
  const events = failed.map((f) => lifecycleEvent("failed", f.envelope, { error: f.error, ...(f.attempts ? { attempt: f.attempts } : {}) }));
  const [stored] = await Promise.all([
    Promise.all(failed.map((f) => deadLetter(ctx, f, f.error, f.attempts ?? 0))),
    publishEvents(ctx.publisher, ctx.topo, events, ctx.log, ctx.metrics),
  ]);
  failed.forEach((f, i) => {
    noteLog(ctx, f.envelope).warn({ error: f.error, reason }, "notification failed without a send; dead-lettered");
    ctx.metrics.failed(f.envelope.channel, ctx.priority, reason);
    settleDeadLettered(s, f.msg, stored[i] === true);
  });
}

/**
 * A request that reused a key with another body once the gateway forgot the
 * key: its notification is the first request's, so this body is never sent.
 * Kept in the DLQ (the only copy of it) and logged, then termed.
 */
export async function reportConflict(ctx: LaneContext, item: Item, error: string, s: Settlement): Promise<void> {
  const e = item.envelope;
  noteLog(ctx, e).warn({ idempotencyKey: e.idempotencyKey }, error);
  const record: DeadLetterRecord = { v: 1, reason: "conflict", error, failedAt: new Date().toISOString(), envelope: e };
  const stored = await toDlq(ctx, ctx.topo.dlqSubject(e.channel), record, `dlq:conflict:${e.id}:${e.requestHash ?? ""}`, () => noteLog(ctx, e));
  if (stored) ctx.metrics.failed(e.channel, ctx.priority, "idempotency_conflict");
  settleDeadLettered(s, item.msg, stored);
}

/** Garbage can never succeed: dead-letter it with the reason, then term. */
export async function deadLetterInvalid(ctx: LaneContext, msg: JsMsg, reason: string, s: Settlement): Promise<void> {
  ctx.log.warn({ subject: msg.subject, seq: msg.seq, reason, lane: ctx.priority }, "invalid envelope; dead-lettered");
  const record: DeadLetterRecord = { v: 1, reason: "invalid", error: reason, failedAt: new Date().toISOString(), subject: msg.subject, raw: msg.string() };
  const stored = await toDlq(ctx, dlqSubjectFor(ctx.topo, msg.subject), record, `dlq:invalid:${ctx.topo.streams.work}:${msg.seq}`, () =>
    ctx.log.child({ seq: msg.seq }),
  );
  if (stored) ctx.metrics.failed("invalid", ctx.priority, "invalid_message");
  settleDeadLettered(s, msg, stored);
}
