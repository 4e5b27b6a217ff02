import { markSuppressed } from "../lib/db/notification-repository.ts";
import { keyOf, suppressedAmong, suppressionAddress, type SuppressionKey } from "../lib/db/suppressions.ts";
import { publishEvents } from "../lib/nats/event-publisher.ts";
import { lifecycleEvent } from "../schemas/events.ts";
import { noteLog, type Item, type LaneContext } from "./context.ts";
import { heldStep } from "./lane-telemetry.ts";
import type { Settlement } from "./settlement.ts";

/**
 * The batch's messages whose address the tenant has suppressed (an earlier
 * bounce, an unregistered device, a complaint): id → the reason the send
 * stops with. One query for the batch, none when nothing in it has an address.
 */
export async function findSuppressed(ctx: LaneContext, items: Item[]): Promise<Map<string, string>> {
  const keyed: Array<{ id: string; key: SuppressionKey }> = [];
  for (const { envelope: e, payload } of items) {
    const address = suppressionAddress(e.channel, payload ?? e.payload);
    if (address !== null) keyed.push({ id: e.id, key: { tenantId: e.tenantId, channel: e.channel, address } });
  }
  const out = new Map<string, string>();
  if (keyed.length === 0) return out;
  const keys = keyed.map((k) => k.key);
  const found = await heldStep(ctx, "find_suppressions", items, () => suppressedAmong(ctx.sql, keys));
  for (const { id, key } of keyed) {
    const hit = found.get(keyOf(key));
    if (hit) out.set(id, `the ${key.channel} address is suppressed for this tenant (${hit.source}: ${hit.reason})`);
  }
  return out;
}

/** A message not to send, and whether this batch's claim began an attempt for it that must be taken back. */
export interface SuppressedItem extends Item {
  /** Its row's `RowState.createdAt`. */
  createdAt: string;
  reason: string;
  unbegin: boolean;
}

/**
 * Ends the messages `suppressed` with their reason — no attempt, no dead
 * letter (there is nothing to replay) — publishes the `suppressed` event, and
 * acks. A row that moved on meanwhile (cancelled) is only acked.
 */
export async function suppressAll(ctx: LaneContext, items: SuppressedItem[], s: Settlement): Promise<void> {
  if (items.length === 0) return;
  const sends = items.map((i) => ({ id: i.envelope.id, createdAt: i.createdAt, reason: i.reason, unbegin: i.unbegin }));
  const moved = await heldStep(ctx, "mark_suppressed", items, () => markSuppressed(ctx.sql, sends));
  const done = items.filter((i) => moved.has(i.envelope.id));
  await publishEvents(
    ctx.publisher,
    ctx.topo,
    done.map((i) => lifecycleEvent("suppressed", i.envelope, { error: i.reason })),
    ctx.log,
    ctx.metrics,
  );
  for (const i of done) {
    noteLog(ctx, i.envelope).info({ reason: i.reason }, "notification suppressed: not sent");
    ctx.metrics.undelivered(i.envelope.channel, ctx.priority, "suppressed");
  }
  for (const i of items) s.ack(i.msg);
}
