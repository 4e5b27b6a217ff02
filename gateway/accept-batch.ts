import type { Context as TraceContext } from "@opentelemetry/api";
import type { Channel } from "../schemas/enums.ts";
import { parseNotificationRequest, type NotificationRequest } from "../schemas/request.ts";
import { accept, batchItemKey, type AcceptContext } from "./accept.ts";
import type { ResolvedDeps } from "./context.ts";
import { capErrors, type CapHold, type ChannelCaps } from "./daily-caps.ts";
import { AppError, fieldErrors, statusOf, titleOf, type FieldError } from "./errors.ts";
import type { AcceptedView } from "../schemas/views.ts";

/** One item's line in the batch answer; `index` is its position in the request. */
export type BatchResult =
  | { index: number; status: "accepted"; id: string; acceptedAt: string }
  | { index: number; status: "rejected"; error: { status: number; title: string; errors?: FieldError[] } };

export interface BatchOutcome {
  results: BatchResult[];
  views: AcceptedView[];
  accepted: number;
  /** Items refused because the publish failed (as opposed to invalid ones). */
  unavailable: number;
  /** The first publish failure, for one log line instead of one per item. */
  publishError: unknown;
  /** The caps that refused items (429 lines), when any did. */
  capped: CapHold | null;
}

export interface BatchContext {
  tenant: string;
  /** The batch's Idempotency-Key; item `i` is deduped as `batchItemKey(key, i)`. */
  key: string | null;
  /** The id of item `i` under the key (`batchIdsForKey`); none without a key. */
  idOf?: (index: number) => string;
  /** SHA-256 of the batch's body, carried by every item; none without a key. */
  requestHash?: string;
  correlationId: string;
  now: Date;
  /** The request's trace context: the parent of every item's publish span. */
  trace: TraceContext;
}

function rejected(index: number, err: AppError): BatchResult {
  const error: { status: number; title: string; errors?: FieldError[] } = { status: err.status, title: titleOf(err.code) };
  if (err.errors) error.errors = err.errors;
  return { index, status: "rejected", error };
}

/** The 429 line of an item its channel's daily cap refused. */
function capRejected(index: number, hold: CapHold, channel: Channel): BatchResult {
  return { index, status: "rejected", error: { status: statusOf("daily_cap"), title: titleOf("daily_cap"), errors: capErrors(hold, "channel", channel) } };
}

/** The notifications each channel is asked for, the valid items counted. */
function wantedOf(valid: readonly { req: NotificationRequest }[]): ChannelCaps {
  const wanted: ChannelCaps = {};
  for (const { req } of valid) wanted[req.channel] = (wanted[req.channel] ?? 0) + 1;
  return wanted;
}

/**
 * Validates every item on its own, takes the valid ones from the tenant's
 * daily caps (`hold`: a channel past its cap refuses its last items with a
 * 429 line, the earlier ones are admitted), and starts every admitted item's
 * publish at once; never throws for one item. All of them are in flight
 * together: the publisher's window bounds what awaits an ack across all
 * requests and sends the whole batch in a few socket writes, where workers
 * awaiting one ack each (256 before) kept the broker's pipeline emptier. A
 * failed publish gives its count back.
 */
export async function acceptBatch(
  deps: ResolvedDeps,
  items: readonly unknown[],
  ctx: BatchContext,
  hold: (wanted: ChannelCaps) => CapHold | null | Promise<CapHold | null> = () => null,
): Promise<BatchOutcome> {
  const results = new Array<BatchResult>(items.length);
  const views: AcceptedView[] = [];
  const publishes: Promise<void>[] = [];
  const failedChannels: Channel[] = [];
  let unavailable = 0;
  let publishError: unknown;
  // One context for every item (accept reads it synchronously), with the timestamp formatted once.
  const itemCtx: AcceptContext = {
    tenant: ctx.tenant,
    idempotencyKey: null,
    correlationId: ctx.correlationId,
    now: ctx.now,
    acceptedAt: ctx.now.toISOString(),
    requestHash: ctx.requestHash,
  };
  const valid: { index: number; req: NotificationRequest }[] = [];
  items.forEach((item, index) => {
    const parsed = parseNotificationRequest(item);
    if (parsed.success) valid.push({ index, req: parsed.data });
    else results[index] = rejected(index, new AppError("invalid_body", { errors: fieldErrors(parsed.error) }));
  });
  const held = valid.length > 0 ? hold(wantedOf(valid)) : null;
  const caps = held instanceof Promise ? await held : held;
  for (const { index, req } of valid) {
    if (caps !== null && !caps.admit(req.channel)) {
      results[index] = capRejected(index, caps, req.channel);
      continue;
    }
    itemCtx.idempotencyKey = ctx.key === null ? null : batchItemKey(ctx.key, index);
    itemCtx.id = ctx.idOf?.(index);
    const { envelope, msgId, view, body } = accept(req, itemCtx);
    // The callbacks keep what the answer needs, not the envelope, which is garbage once encoded.
    const { channel, priority } = envelope;
    publishes.push(
      deps.publisher.publish(envelope, msgId, ctx.trace).then(
        () => {
          deps.metrics.accepted(channel, priority);
          views.push(view);
          results[index] = { index, status: "accepted", id: body.id, acceptedAt: body.acceptedAt };
        },
        (err: unknown) => {
          unavailable += 1;
          publishError ??= err;
          failedChannels.push(channel);
          results[index] = rejected(index, new AppError("unavailable"));
        },
      ),
    );
  }
  await Promise.all(publishes);
  if (caps !== null && failedChannels.length > 0) await caps.giveBack(failedChannels);
  return { results, views, accepted: views.length, unavailable, publishError, capped: caps !== null && caps.refusals.length > 0 ? caps : null };
}
