import type { Context as TraceContext } from "@opentelemetry/api";
import { parseNotificationRequest } from "../schemas/request.ts";
import { accept, batchItemKey, type AcceptContext } from "./accept.ts";
import type { ResolvedDeps } from "./context.ts";
import { AppError, fieldErrors, titleOf, type FieldError } from "./errors.ts";
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

/**
 * Validates every item on its own and starts every valid item's publish at
 * once; never throws for one item. All of them are in flight together: the
 * publisher's window bounds what awaits an ack across all requests and sends
 * the whole batch in a few socket writes, where workers awaiting one ack
 * each (256 before) kept the broker's pipeline emptier.
 */
export async function acceptBatch(deps: ResolvedDeps, items: readonly unknown[], ctx: BatchContext): Promise<BatchOutcome> {
  const results = new Array<BatchResult>(items.length);
  const views: AcceptedView[] = [];
  const publishes: Promise<void>[] = [];
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
  items.forEach((item, index) => {
    const parsed = parseNotificationRequest(item);
    if (!parsed.success) {
      results[index] = rejected(index, new AppError("invalid_body", { errors: fieldErrors(parsed.error) }));
      return;
    }
    itemCtx.idempotencyKey = ctx.key === null ? null : batchItemKey(ctx.key, index);
    itemCtx.id = ctx.idOf?.(index);
    const { envelope, msgId, view, body } = accept(parsed.data, itemCtx);
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
          results[index] = rejected(index, new AppError("unavailable"));
        },
      ),
    );
  });
  await Promise.all(publishes);
  return { results, views, accepted: views.length, unavailable, publishError };
}
