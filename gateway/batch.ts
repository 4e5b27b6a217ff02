import { NotificationRequest } from "../schemas/request.ts";
import { accept } from "./accept.ts";
import { mapBounded } from "./concurrency.ts";
import type { ResolvedDeps } from "./context.ts";
import { AppError, fieldErrors, titleOf, type FieldError } from "./errors.ts";
import type { AcceptedView } from "./store/types.ts";

/** Publishes in flight per batch: the pipelined-ack sweet spot of DESIGN §6. */
export const BATCH_PUBLISH_CONCURRENCY = 256;

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
  /** The batch's Idempotency-Key; item `i` is deduped as `<key>:<i>`. */
  key: string | null;
  correlationId: string;
  now: Date;
}

function rejected(index: number, err: AppError): BatchResult {
  const error: { status: number; title: string; errors?: FieldError[] } = { status: err.status, title: titleOf(err.code) };
  if (err.errors) error.errors = err.errors;
  return { index, status: "rejected", error };
}

/** Validates every item on its own and publishes the valid ones concurrently; never throws for one item. */
export async function acceptBatch(deps: ResolvedDeps, items: readonly unknown[], ctx: BatchContext): Promise<BatchOutcome> {
  const views: AcceptedView[] = [];
  let unavailable = 0;
  let publishError: unknown;
  const results = await mapBounded(items, BATCH_PUBLISH_CONCURRENCY, async (item, index): Promise<BatchResult> => {
    const parsed = NotificationRequest.safeParse(item);
    if (!parsed.success) return rejected(index, new AppError("invalid_body", { errors: fieldErrors(parsed.error) }));
    const key = ctx.key === null ? null : `${ctx.key}:${index}`;
    const acceptance = accept(parsed.data, { ...ctx, idempotencyKey: key });
    try {
      await deps.publisher.publish(acceptance.envelope, acceptance.msgId);
    } catch (err) {
      unavailable += 1;
      publishError ??= err;
      return rejected(index, new AppError("unavailable"));
    }
    views.push(acceptance.view);
    return { index, status: "accepted", id: acceptance.body.id, acceptedAt: acceptance.body.acceptedAt };
  });
  return { results, views, accepted: views.length, unavailable, publishError };
}
