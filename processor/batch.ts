import type { JsMsg } from "@nats-io/jetstream";
import { lifecycleEvent, type LifecycleEvent } from "../schemas/events.ts";
import { noteLog, type Item, type LaneContext, type Settled } from "./context.ts";
import { decode, type Decoded } from "./decode.ts";
import { holding, isolating, refusalReason } from "./durable.ts";
import { unreachable } from "./outcome.ts";
import { initialStatus, plan, type RowState } from "./plan.ts";
import { dlqSubjectFor, publishDeadLetter, publishEvents } from "./publish.ts";
import { addSchedules, type ScheduleEntry } from "./schedules.ts";
import { deadLetter, failAll, sendDue, type DueItem, type FailedItem } from "./send.ts";
import { batchStamp, claim } from "./store.ts";
import { endConsume, persist, startConsume } from "./telemetry.ts";

/** A copy of a notification another batch is working returns after this long. */
const BUSY_RETRY_MS = 500;

type Invalid = Extract<Decoded, { kind: "invalid" }>;

/**
 * Works one batch of a lane: decode → one insert-and-read → plan each
 * message → schedule the future ones, send the due ones. Postgres being
 * unreachable holds the batch until it answers; a message Postgres refuses
 * is isolated and failed on its own. Throws only when the processor stops
 * mid-way or on a bug; the lane then naks whatever `settled` does not hold.
 */
export async function handleBatch(ctx: LaneContext, msgs: JsMsg[], settled: Settled): Promise<void> {
  const { items, invalid, unstorable, duplicates } = split(msgs.map(decode));
  // The same id in two concurrent batches of this process would be sent twice:
  // the later copy comes back shortly and then finds the row settled.
  const busy = items.filter((i) => ctx.busy.has(i.envelope.id));
  const mine = items.filter((i) => !ctx.busy.has(i.envelope.id));
  for (const i of busy) done(i.msg, settled, (m) => m.nak(BUSY_RETRY_MS));
  for (const i of mine) ctx.busy.add(i.envelope.id);
  if (ctx.tracer) for (const i of mine) i.trace = startConsume(ctx, i);
  try {
    await Promise.all([
      ...invalid.map((d) => deadLetterInvalid(ctx, d, settled)),
      failAll(ctx, unstorable, "unstorable", settled),
      mine.length > 0 ? plannedWork(ctx, mine, settled) : undefined,
    ]);
  } finally {
    for (const i of mine) ctx.busy.delete(i.envelope.id);
    if (ctx.tracer) endConsume(mine);
  }
  // Same id twice in one batch (published twice): the first copy carries the work.
  for (const m of duplicates) done(m, settled, (x) => x.ack());
}

/** Insert and read, isolating what Postgres refuses; the rows of everything it took. */
async function claimAll(ctx: LaneContext, items: Item[], nowMs: number, stamp: string): Promise<{ firstSeen: Set<string>; rows: Map<string, RowState>; refused: FailedItem[] }> {
  const { done: parts, refused } = await isolating(items, (part) =>
    holding("claim", () => persist(ctx, "claim", part, () => claim(ctx.db, part.map((i) => i.envelope), nowMs, stamp)), ctx.hold),
  );
  const firstSeen = new Set<string>();
  const rows = new Map<string, RowState>();
  for (const { result } of parts) {
    for (const id of result.firstSeen) firstSeen.add(id);
    for (const [id, row] of result.rows) rows.set(id, row);
  }
  return { firstSeen, rows, refused: refused.map(({ item, error }) => ({ ...item, error: refusalReason(error) })) };
}

/** Claim → plan → schedule / send / fail, for the decoded messages no other batch is working. */
async function plannedWork(ctx: LaneContext, items: Item[], settled: Settled): Promise<void> {
  const nowMs = Date.now();
  const stamp = batchStamp(nowMs);
  const { firstSeen, rows, refused } = await claimAll(ctx, items, nowMs, stamp);
  const claimed = items.filter((i) => !refused.some((r) => r.envelope.id === i.envelope.id));
  // The first events wait for their acks while the batch sends; the batch's
  // later events are published after them, so a subscriber still sees
  // `accepted` before `sent` (publishEvents never rejects).
  const firstPublished = publishEvents(ctx.events, ctx.topo, claimed.flatMap((i) => (firstSeen.has(i.envelope.id) ? firstEvents(i, nowMs) : [])), ctx.log, ctx.metrics);
  const due: DueItem[] = [];
  const dead: Promise<void>[] = [];
  const waiting: Array<{ item: Item; entry: ScheduleEntry }> = [];
  const stalled: FailedItem[] = [];
  for (const item of claimed) {
    const p = plan(item.envelope, rows.get(item.envelope.id), nowMs, { firstSeen: firstSeen.has(item.envelope.id), deliveries: item.msg.info.deliveryCount, stallLimit: ctx.policy.stallLimit });
    switch (p.kind) {
      case "missing":
        noteLog(ctx, item.envelope).warn("the notification has no row and none could be made; acked without a send");
        done(item.msg, settled, (m) => m.ack());
        break;
      case "done":
        done(item.msg, settled, (m) => m.ack());
        break;
      case "conflict":
        dead.push(reportConflict(ctx, item, p.error, settled));
        break;
      case "dead":
        // Redelivered after its dead letter may not have been published: publish again (deduplicated), then term.
        dead.push(deadLetter(ctx, item, p.error, p.attempts).then((ok) => done(item.msg, settled, (m) => (ok ? m.term() : m.nak(1000)))));
        break;
      case "schedule":
        waiting.push({ item, entry: { id: item.envelope.id, dueAt: p.dueAt, reason: "scheduled" } });
        break;
      case "stalled":
        stalled.push({ ...item, error: p.error });
        break;
      case "send":
        due.push({ ...item, attempt: p.attempt, claimed: p.begun, interrupted: p.interrupted });
        break;
      default:
        unreachable(p);
    }
  }
  await Promise.all([
    schedule(ctx, waiting, settled),
    failAll(ctx, refused, "unstorable", settled),
    failAll(ctx, stalled, "stalled", settled),
    sendDue(ctx, due, settled, stamp, firstPublished),
    firstPublished,
    ...dead,
  ]);
}

/** Hands the future ones to the scheduler (their rows already say `scheduled`) and acks them: they hold no lane capacity while they wait. */
async function schedule(ctx: LaneContext, waiting: Array<{ item: Item; entry: ScheduleEntry }>, settled: Settled): Promise<void> {
  if (waiting.length === 0) return;
  const entries = waiting.map((w) => w.entry);
  await holding("schedule", () => persist(ctx, "schedule", waiting.map((w) => w.item), () => addSchedules(ctx.db, entries)), ctx.hold);
  for (const { item } of waiting) done(item.msg, settled, (m) => m.ack());
}

function split(decoded: Decoded[]): { items: Item[]; invalid: Invalid[]; unstorable: FailedItem[]; duplicates: JsMsg[] } {
  const items: Item[] = [];
  const invalid: Invalid[] = [];
  const unstorable: FailedItem[] = [];
  const duplicates: JsMsg[] = [];
  const seen = new Set<string>();
  for (const d of decoded) {
    if (d.kind === "invalid") invalid.push(d);
    else if (seen.has(d.envelope.id)) duplicates.push(d.msg);
    else {
      seen.add(d.envelope.id);
      if (d.kind === "unstorable") unstorable.push({ msg: d.msg, envelope: d.envelope, error: d.reason });
      else items.push({ msg: d.msg, envelope: d.envelope });
    }
  }
  return { items, invalid, unstorable, duplicates };
}

function firstEvents({ envelope }: Item, nowMs: number): LifecycleEvent[] {
  const accepted = lifecycleEvent("accepted", envelope);
  return initialStatus(envelope, nowMs) === "scheduled" ? [accepted, lifecycleEvent("scheduled", envelope)] : [accepted];
}

function done(m: JsMsg, settled: Settled, action: (m: JsMsg) => void): void {
  action(m);
  settled.add(m);
}

/**
 * A request that reused a key with another body once the gateway forgot the
 * key: its notification is the first request's, so this body is never sent.
 * Kept in the DLQ (the only copy of it) and logged, then termed.
 */
async function reportConflict(ctx: LaneContext, item: Item, error: string, settled: Settled): Promise<void> {
  const e = item.envelope;
  noteLog(ctx, e).warn({ idempotencyKey: e.idempotencyKey }, error);
  try {
    await publishDeadLetter(ctx.js, ctx.topo.dlqSubject(e.channel), { v: 1, reason: "conflict", error, failedAt: new Date().toISOString(), envelope: e }, `dlq:conflict:${e.id}:${e.requestHash ?? ""}`, ctx.metrics);
    ctx.metrics.failed(e.channel, ctx.priority, "idempotency_conflict");
    done(item.msg, settled, (m) => m.term());
  } catch (err) {
    noteLog(ctx, e).error({ err }, "could not dead-letter an idempotency conflict; will retry");
    done(item.msg, settled, (m) => m.nak(1000));
  }
}

/** Garbage can never succeed: dead-letter it with the reason, then term. */
async function deadLetterInvalid(ctx: LaneContext, d: Invalid, settled: Settled): Promise<void> {
  const { msg, reason } = d;
  ctx.log.warn({ subject: msg.subject, seq: msg.seq, reason, lane: ctx.priority }, "invalid envelope; dead-lettered");
  try {
    const record = { v: 1, reason: "invalid", error: reason, failedAt: new Date().toISOString(), subject: msg.subject, raw: msg.string() } as const;
    await publishDeadLetter(ctx.js, dlqSubjectFor(ctx.topo, msg.subject), record, `dlq:invalid:${ctx.topo.streams.work}:${msg.seq}`, ctx.metrics);
    done(msg, settled, (m) => m.term());
    ctx.metrics.failed("invalid", ctx.priority, "invalid_message");
  } catch (err) {
    ctx.log.error({ err, seq: msg.seq }, "could not dead-letter an invalid envelope; will retry");
    done(msg, settled, (m) => m.nak(1000));
  }
}
