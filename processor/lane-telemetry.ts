import { trace, TraceFlags, type Context } from "@opentelemetry/api";
import { extractTraceContext } from "../lib/telemetry/nats-context.ts";
import { secondsSince, timeQuery, type DbOperation } from "../lib/telemetry/recorder.ts";
import { SpanKind, SpanStatusCode, SPANS, withSpan } from "../lib/telemetry/spans.ts";
import { holding } from "../lib/db/durable.ts";
import type { Item, LaneContext } from "./context.ts";

/**
 * The processor's spans continue the gateway's trace: the publish span's
 * context arrives in the message headers. A consume span per message is made
 * only when a tracer is wired and that trace is sampled; everything else
 * (nine messages in ten at a 0.1 ratio, every message untraced) carries no
 * context and costs no span.
 */
export function startConsume(ctx: LaneContext, item: Item): Context | undefined {
  if (ctx.tracer === undefined) return undefined;
  const parent = extractTraceContext(item.msg.headers);
  const remote = trace.getSpan(parent);
  if (remote !== undefined && (remote.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
  const span = ctx.tracer.startSpan(
    SPANS.consume,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        "messaging.system": "nats",
        "herald.lane": ctx.priority,
        "herald.channel": item.envelope.channel,
        "herald.notification_id": item.envelope.id,
      },
    },
    parent,
  );
  if (!span.isRecording()) {
    span.end();
    return undefined;
  }
  return withSpan(parent, span);
}

/** Ends the consume spans of a batch's messages once they are settled. */
export function endConsume(items: readonly Item[]): void {
  for (const i of items) if (i.trace) trace.getSpan(i.trace)?.end();
}

/**
 * One batch statement, timed into `herald_db_query_duration_seconds`, with a
 * `db.persist` span under each traced message it writes for.
 */
export async function persist<T>(ctx: LaneContext, operation: DbOperation, items: readonly Item[], run: () => Promise<T>): Promise<T> {
  const tracer = ctx.tracer;
  const traced = tracer === undefined ? [] : items.filter((i) => i.trace !== undefined);
  if (tracer === undefined || traced.length === 0) return timeQuery(ctx.metrics, operation, run);
  const attributes = { "db.system.name": "postgresql", "db.operation.name": operation, "herald.batch_size": items.length };
  const spans = traced.map((i) => tracer.startSpan(SPANS.persist, { kind: SpanKind.CLIENT, attributes }, i.trace));
  try {
    return await timeQuery(ctx.metrics, operation, run);
  } catch (err) {
    for (const s of spans) s.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    for (const s of spans) s.end();
  }
}

/** Seconds from the gateway's acceptedAt to now: the end-to-end latency of a sent notification. */
export function sinceAccepted(acceptedAt: string): number {
  return Math.max(0, (Date.now() - Date.parse(acceptedAt)) / 1000);
}

export { secondsSince };

/**
 * One persistence step of a batch: timed and traced (`persist`), and held
 * while Postgres does not answer (lib/db/durable.ts `holding`), so its
 * messages are kept alive rather than redelivered.
 */
export function heldStep<T>(ctx: LaneContext, operation: DbOperation, items: readonly Item[], run: () => Promise<T>): Promise<T> {
  return holding(operation, () => persist(ctx, operation, items, run), ctx.hold);
}
