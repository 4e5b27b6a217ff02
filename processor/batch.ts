import type { JsMsg } from "@nats-io/jetstream";
import { holding, isolating, refusalReason } from "../lib/db/durable.ts";
import { batchStamp, claim, type RowState } from "../lib/db/notification-repository.ts";
import { addSchedules, type ScheduleEntry } from "../lib/db/schedules.ts";
import { publishEvents } from "../lib/nats/event-publisher.ts";
import { EVENT_TYPES } from "../schemas/enums.ts";
import { initialStatus } from "../schemas/envelope.ts";
import { lifecycleEvent, type LifecycleEvent } from "../schemas/events.ts";
import { noteLog, type Item, type LaneContext } from "./context.ts";
import { decode } from "./decode.ts";
import { deadLetterInvalid, failAll, redeadLetter, reportConflict, type FailedItem } from "./failures.ts";
import { unreachable } from "./outcome.ts";
import { plan, type Delivery, type Plan } from "./plan.ts";
import { outbound, sendDue, type DueItem } from "./send.ts";
import type { Pick } from "./failover.ts";
import { resolveBatch, type Resolution } from "./resolve.ts";
import { findSuppressed, suppressAll, type SuppressedItem } from "./suppress.ts";
import type { Settlement } from "./settlement.ts";
import { endConsume, heldStep, persist, startConsume } from "./lane-telemetry.ts";

/** A copy of a notification another batch is working returns after this long. */
const BUSY_RETRY_MS = 500;

/**
 * Works one batch of a lane, step by step:
 *
 * 1. decode: garbage is dead-lettered, what Postgres could never store is
 *    failed, a second copy of an id is acked;
 * 2. claim: one insert-and-read for the batch; data Postgres refuses is split
 *    off message by message and failed;
 * 3. plan each message from its row;
 * 4. act on the plans: schedule, fail, report, re-dead-letter, ack;
 * 5. send the due ones (send.ts): begin attempts, call providers, write
 *    outcomes, publish events, settle.
 *
 * A Postgres that does not answer holds the batch (its messages kept alive)
 * until it does. Throws only when the processor stops mid-way or on a bug;
 * the lane then returns whatever is unsettled to the stream.
 */
export async function handleBatch(ctx: LaneContext, msgs: JsMsg[], s: Settlement): Promise<void> {
  // 1. Decode.
  const decoded = msgs.map(decode);
  const seen = new Set<string>();
  const items: Item[] = [];
  const unstorable: FailedItem[] = [];
  const invalid: Promise<void>[] = [];
  for (const d of decoded) {
    if (d.kind === "invalid") invalid.push(deadLetterInvalid(ctx, d.msg, d.reason, s));
    // The same id twice in one batch (published twice): the first copy carries the work.
    else if (seen.has(d.envelope.id)) s.ack(d.msg);
    else if (d.kind === "unstorable") {
      seen.add(d.envelope.id);
      unstorable.push({ msg: d.msg, envelope: d.envelope, error: d.reason });
    } else {
      seen.add(d.envelope.id);
      items.push({ msg: d.msg, envelope: d.envelope });
    }
  }
  // The same id in two concurrent batches of this process would be sent twice:
  // the later copy comes back shortly and then finds the row settled.
  const mine: Item[] = [];
  for (const i of items) {
    if (ctx.busy.has(i.envelope.id)) s.nak(i.msg, BUSY_RETRY_MS);
    else mine.push(i);
  }
  for (const i of mine) ctx.busy.add(i.envelope.id);
  if (ctx.tracer) for (const i of mine) i.trace = startConsume(ctx, i);
  try {
    await Promise.all([...invalid, failAll(ctx, unstorable, "unstorable", s), mine.length > 0 ? claimPlanAndAct(ctx, mine, s) : undefined]);
  } finally {
    for (const i of mine) ctx.busy.delete(i.envelope.id);
    if (ctx.tracer) endConsume(mine);
  }
}

/** Steps 2 to 5 for the decoded messages no other batch is working; a provider trial a step reserved is freed at the end. */
async function claimPlanAndAct(ctx: LaneContext, items: Item[], s: Settlement): Promise<void> {
  const nowMs = Date.now();
  // Template sends are rendered first (the provider pick reads the rendered address), and quiet hours and opt-outs found.
  const resolved = await resolveBatch(ctx, items, nowMs);
  for (const item of items) {
    const r = resolved.get(item.envelope.id);
    if (r !== undefined && "payload" in r && r.payload !== undefined) item.payload = r.payload;
  }
  // Picked before the claim: a message whose providers are all open must not have an attempt begun for it.
  const picks = new Map(items.map((i) => [i.envelope.id, ctx.routes.pick(outbound(i), nowMs)]));
  try {
    await claimPlanAndActWith(ctx, items, s, nowMs, picks, resolved);
  } finally {
    for (const p of picks.values()) ctx.routes.settle(p);
  }
}

/** The status a held message's new row goes in with: quiet hours show as `scheduled`, the rest as `accepted`. */
function heldStatuses(picks: Map<string, Pick>, resolved: Map<string, Resolution>): Map<string, "accepted" | "scheduled"> {
  const held = new Map<string, "accepted" | "scheduled">();
  for (const [id, p] of picks) if (p.kind === "wait") held.set(id, "accepted");
  for (const [id, r] of resolved) {
    if (r.kind === "quiet") held.set(id, "scheduled");
    else if (r.kind !== "send") held.set(id, "accepted");
  }
  return held;
}

async function claimPlanAndActWith(
  ctx: LaneContext,
  items: Item[],
  s: Settlement,
  nowMs: number,
  picks: Map<string, Pick>,
  resolved: Map<string, Resolution>,
): Promise<void> {
  // 2. Claim.
  const stamp = batchStamp(nowMs);
  const waitUntil = (id: string): number | null => {
    const p = picks.get(id);
    return p?.kind === "wait" ? p.untilMs : null;
  };
  const held = heldStatuses(picks, resolved);
  const [{ firstSeen, rows, refused }, suppressed] = await Promise.all([claimAll(ctx, items, nowMs, stamp, held), findSuppressed(ctx, items)]);
  const refusedIds = new Set(refused.map((r) => r.envelope.id));
  const claimed = items.filter((i) => !refusedIds.has(i.envelope.id));

  // 3. Plan.
  const first: LifecycleEvent[] = [];
  const finished: Item[] = [];
  const dead: Array<{ item: Item; error: string; attempts: number }> = [];
  const due: DueItem[] = [];
  const waiting: Array<{ item: Item; entry: ScheduleEntry }> = [];
  const stalled: FailedItem[] = [];
  const stopped: SuppressedItem[] = [];
  const unresolvable: FailedItem[] = [];
  const settling: Promise<void>[] = [];
  for (const item of claimed) {
    const id = item.envelope.id;
    const delivery = {
      firstSeen: firstSeen.has(id),
      deliveries: item.msg.info.deliveryCount,
      stallLimit: ctx.stallLimit,
      waitUntilMs: waitUntil(id),
      ...resolvedDelivery(resolved.get(id), suppressed.get(id)),
    };
    const row = rows.get(id);
    const p = plan(item.envelope, row, nowMs, delivery);
    if (p.kind === "missing" || row === undefined) {
      noteLog(ctx, item.envelope).warn("the notification has no row and none could be made; acked without a send");
      s.ack(item.msg);
      continue;
    }
    first.push(...firstEvents(item, row, delivery, p.kind, nowMs));
    // Every later write names the row by its whole key, so it touches one partition.
    const { createdAt } = row;
    switch (p.kind) {
      case "done":
        finished.push(item);
        break;
      case "dead":
        dead.push({ item, error: p.error, attempts: p.attempts });
        break;
      case "conflict":
        settling.push(reportConflict(ctx, item, p.error, s));
        break;
      case "schedule":
        waiting.push({ item, entry: { id, createdAt, dueAt: p.dueAt, reason: "scheduled" } });
        break;
      case "suppress":
        stopped.push({ ...item, createdAt, reason: p.reason, unbegin: p.unbegin });
        break;
      case "unresolvable":
        unresolvable.push({ ...item, error: p.error });
        break;
      case "quiet":
        waiting.push({ item, entry: { id, createdAt, dueAt: p.dueAt, reason: "quiet_hours" } });
        break;
      case "wait":
        waiting.push({ item, entry: { id, createdAt, dueAt: p.dueAt, reason: "provider_wait" } });
        ctx.metrics.providerWait(item.envelope.channel);
        break;
      case "stalled":
        stalled.push({ ...item, error: p.error });
        break;
      case "send": {
        const pick = picks.get(id);
        if (pick === undefined || pick.kind === "wait") throw new Error(`planned a send for ${id} without a provider`);
        due.push({ ...item, createdAt, attempt: p.attempt, claimed: p.begun, interrupted: p.interrupted, pick });
        break;
      }
      default:
        unreachable(p);
    }
  }

  // The first events wait for their acks while the batch sends; the batch's
  // later events are published after them, so a subscriber still sees
  // `accepted` before `sent` (publishEvents never rejects).
  const firstPublished = publishEvents(ctx.publisher, ctx.topo, first, ctx.log, ctx.metrics);

  // 4 and 5. Act, and send.
  await Promise.all([
    firstPublished.then(() => {
      for (const item of finished) s.ack(item.msg);
    }),
    firstPublished.then(() => schedule(ctx, waiting, s)),
    firstPublished.then(() => Promise.all(dead.map((d) => redeadLetter(ctx, d.item, d.error, d.attempts, s)))),
    failAll(ctx, refused, "unstorable", s),
    failAll(ctx, stalled, "stalled", s),
    failAll(ctx, unresolvable, "permanent_error", s),
    firstPublished.then(() => suppressAll(ctx, stopped, s)),
    sendDue(ctx, due, s, stamp, firstPublished),
    firstPublished,
    ...settling,
  ]);
}

/** Insert and read, isolating what Postgres refuses; the rows of everything it took. */
async function claimAll(
  ctx: LaneContext,
  items: Item[],
  nowMs: number,
  stamp: string,
  held: ReadonlyMap<string, "accepted" | "scheduled">,
): Promise<{ firstSeen: Set<string>; rows: Map<string, RowState>; refused: FailedItem[] }> {
  const { done: parts, refused } = await isolating(items, (part) =>
    holding(
      "claim",
      () =>
        persist(ctx, "claim", part, () =>
          claim(
            ctx.sql,
            part.map((i) => i.envelope),
            nowMs,
            stamp,
            held,
          ),
        ),
      ctx.hold,
    ),
  );
  const firstSeen = new Set<string>();
  const rows = new Map<string, RowState>();
  for (const { result } of parts) {
    for (const id of result.firstSeen) firstSeen.add(id);
    for (const [id, row] of result.rows) rows.set(id, row);
  }
  return { firstSeen, rows, refused: refused.map(({ item, error }) => ({ ...item, error: refusalReason(error) })) };
}

/** Hands the future ones to the scheduler (their rows already say `scheduled`) and acks them: they hold no lane capacity while they wait. */
async function schedule(ctx: LaneContext, waiting: Array<{ item: Item; entry: ScheduleEntry }>, s: Settlement): Promise<void> {
  if (waiting.length === 0) return;
  const entries = waiting.map((w) => w.entry);
  await heldStep(
    ctx,
    "schedule",
    waiting.map((w) => w.item),
    () => addSchedules(ctx.db, entries),
  );
  for (const { item } of waiting) s.ack(item.msg);
}

/**
 * The events a message's plan publishes before anything else of its batch:
 *
 * - a new row: `accepted`, and `scheduled` when its time is ahead;
 * - a message delivered again (its processor may have stopped before its
 *   events went out): `accepted` again;
 * - a finished row (a copy, a redelivery, or one cancelled before any
 *   processor saw it): `accepted` and its status, stamped with the row's
 *   own times;
 * - a wait in the scheduler (quiet hours, open breakers): `scheduled`.
 *
 * A copy carries the first one's eventId (and `at` where the row keeps it),
 * so the stream or the subscriber drops it.
 */
function firstEvents({ envelope }: Item, row: RowState, delivery: Delivery, kind: Plan["kind"], nowMs: number): LifecycleEvent[] {
  const out: LifecycleEvent[] = [];
  const finished = kind === "done" || kind === "dead";
  if (delivery.firstSeen || delivery.deliveries > 1 || finished) out.push(lifecycleEvent("accepted", envelope, { at: envelope.acceptedAt }));
  if (delivery.firstSeen && initialStatus(envelope, nowMs) === "scheduled") out.push(lifecycleEvent("scheduled", envelope, { at: envelope.acceptedAt }));
  const attempt = row.attempts > 0 ? { attempt: row.attempts } : {};
  if (kind === "quiet" || kind === "wait") out.push(lifecycleEvent("scheduled", envelope, attempt));
  if (finished) {
    const type = EVENT_TYPES.find((t) => t === row.status);
    const error = row.status === "failed" && row.lastError !== null ? { error: row.lastError } : {};
    if (type !== undefined) out.push(lifecycleEvent(type, envelope, { ...attempt, ...error, at: row.updatedAt }));
  }
  return out;
}

/** What the resolve step and the suppression list say of one message, as the plan reads it. */
function resolvedDelivery(
  r: Resolution | undefined,
  listed: string | undefined,
): { suppressed: string | null; unresolvable: string | null; quietUntilMs: number | null } {
  return {
    suppressed: r?.kind === "suppress" ? r.reason : (listed ?? null),
    unresolvable: r?.kind === "fail" ? r.error : null,
    quietUntilMs: r?.kind === "quiet" ? r.untilMs : null,
  };
}
