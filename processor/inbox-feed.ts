import { InAppPayload } from "../schemas/request.ts";
import type { Envelope } from "../schemas/envelope.ts";
import type { LaneContext } from "./context.ts";
import type { Decision } from "./outcome.ts";

/** What `publishInboxItems` reads of a batch's results. */
export interface SettledResult {
  /** `payload`: a template send's, as the batch rendered it. */
  item: { envelope: Envelope; payload?: Record<string, unknown> };
  decision: Decision;
}

/**
 * Publishes the batch's in-app notifications that were sent (their `sent`
 * outcome committed) on their users' inbox subjects, for the gateways' live
 * inbox streams. Fire and forget: a core NATS publish only buffers, and a
 * failure is logged, never the batch's: a stream that missed an item gets it
 * from Postgres when it resumes.
 */
export function publishInboxItems(ctx: LaneContext, results: readonly SettledResult[]): void {
  const feed = ctx.inboxFeed;
  if (!feed) return;
  for (const { item, decision } of results) {
    const e = item.envelope;
    if (decision.action !== "ack" || e.channel !== "in_app") continue;
    const payload = InAppPayload.safeParse(item.payload ?? e.payload);
    if (!payload.success) continue; // the sender refused it, so it was never sent
    try {
      const { title, body, data } = payload.data;
      feed.publish(e.tenantId, e.userId, { id: e.id, title, body, data: data ?? null, createdAt: new Date(e.acceptedAt).toISOString() });
    } catch (err) {
      ctx.log.warn({ err, notificationId: e.id, tenantId: e.tenantId }, "could not publish an in-app notification to the inbox feed");
    }
  }
}
