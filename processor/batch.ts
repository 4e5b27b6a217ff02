import type { JsMsg } from "@nats-io/jetstream";
import { lifecycleEvent, type LifecycleEvent } from "../schemas/events.ts";
import { noteLog, type Item, type LaneContext, type Settled } from "./context.ts";
import { decode, type Decoded } from "./decode.ts";
import { unreachable } from "./outcome.ts";
import { initialStatus, plan } from "./plan.ts";
import { dlqSubjectFor, publishDeadLetter, publishEvents } from "./publish.ts";
import { deadLetter, sendDue, type DueItem } from "./send.ts";
import { claim } from "./store.ts";
import { endConsume, persist, startConsume } from "./telemetry.ts";

/** A copy of a notification another batch is working returns after this long. */
const BUSY_RETRY_MS = 500;

/**
 * Works one batch of a lane: decode → one insert-and-read → plan each
 * message → send the due ones. Throws only when Postgres does; the lane then
 * naks whatever `settled` does not hold, so nothing is lost.
 */
export async function handleBatch(ctx: LaneContext, msgs: JsMsg[], settled: Settled): Promise<void> {
  const { items, invalid, duplicates } = split(msgs.map(decode));
  // The same id in two concurrent batches of this process would be sent twice:
  // the later copy comes back shortly and then finds the row settled.
  const busy = items.filter((i) => ctx.busy.has(i.envelope.id));
  const mine = items.filter((i) => !ctx.busy.has(i.envelope.id));
  for (const i of busy) done(i.msg, settled, (m) => m.nak(BUSY_RETRY_MS));
  for (const i of mine) ctx.busy.add(i.envelope.id);
  if (ctx.tracer) for (const i of mine) i.trace = startConsume(ctx, i);
  try {
    await Promise.all(invalid.map((d) => deadLetterInvalid(ctx, d, settled)));
    if (mine.length > 0) await plannedWork(ctx, mine, settled);
  } finally {
    for (const i of mine) ctx.busy.delete(i.envelope.id);
    if (ctx.tracer) endConsume(mine);
  }
  // Same id twice in one batch (published twice): the first copy carries the work.
  for (const m of duplicates) done(m, settled, (x) => x.ack());
}

/** Insert and read (one statement) → plan → send, for the decoded messages no other batch is working. */
async function plannedWork(ctx: LaneContext, items: Item[], settled: Settled): Promise<void> {
  const nowMs = Date.now();
  const { firstSeen, rows } = await persist(ctx, "claim", items, () => claim(ctx.db, items.map((i) => i.envelope), nowMs));
  // The first events wait for their acks while the batch sends; the batch's
  // later events are published after them, so a subscriber still sees
  // `accepted` before `sent` (publishEvents never rejects).
  const firstPublished = publishEvents(ctx.events, ctx.topo, items.flatMap((i) => (firstSeen.has(i.envelope.id) ? firstEvents(i, nowMs) : [])), ctx.log, ctx.metrics);
  const due: DueItem[] = [];
  const dead: Promise<void>[] = [];
  for (const item of items) {
    const p = plan(item.envelope, rows.get(item.envelope.id), nowMs);
    switch (p.kind) {
      case "collision":
        noteLog(ctx, item.envelope).warn({ idempotencyKey: item.envelope.idempotencyKey }, "idempotency key belongs to another notification; skipped");
        done(item.msg, settled, (m) => m.ack());
        break;
      case "done":
        done(item.msg, settled, (m) => m.ack());
        break;
      case "dead":
        // Redelivered after its dead letter may not have been published: publish again (deduplicated), then term.
        dead.push(deadLetter(ctx, item, p.error, p.attempts).then((ok) => done(item.msg, settled, (m) => (ok ? m.term() : m.nak(1000)))));
        break;
      case "wait":
        done(item.msg, settled, (m) => m.nak(p.delayMs));
        break;
      case "send":
        due.push({ ...item, attempt: p.attempt, claimed: firstSeen.has(item.envelope.id) });
        break;
      default:
        unreachable(p);
    }
  }
  await Promise.all([sendDue(ctx, due, settled, firstPublished), firstPublished, ...dead]);
}

function split(decoded: Decoded[]): { items: Item[]; invalid: Extract<Decoded, { ok: false }>[]; duplicates: JsMsg[] } {
  const items: Item[] = [];
  const invalid: Extract<Decoded, { ok: false }>[] = [];
  const duplicates: JsMsg[] = [];
  const seen = new Set<string>();
  for (const d of decoded) {
    if (!d.ok) invalid.push(d);
    else if (seen.has(d.envelope.id)) duplicates.push(d.msg);
    else {
      seen.add(d.envelope.id);
      items.push({ msg: d.msg, envelope: d.envelope });
    }
  }
  return { items, invalid, duplicates };
}

function firstEvents({ envelope }: Item, nowMs: number): LifecycleEvent[] {
  const accepted = lifecycleEvent("accepted", envelope);
  return initialStatus(envelope, nowMs) === "scheduled" ? [accepted, lifecycleEvent("scheduled", envelope)] : [accepted];
}

function done(m: JsMsg, settled: Settled, action: (m: JsMsg) => void): void {
  action(m);
  settled.add(m);
}

/** Garbage can never succeed: dead-letter it with the reason, then term. */
async function deadLetterInvalid(ctx: LaneContext, d: Extract<Decoded, { ok: false }>, settled: Settled): Promise<void> {
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
