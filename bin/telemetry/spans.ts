/**
 * The span vocabulary and the one helper code uses to make a span, on
 * `@opentelemetry/api` alone: the web-standard gateway and the processor
 * import this, never the SDK in ./tracing.ts, so they run (as no-ops) where
 * tracing was never started.
 */
import { context, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Span, type Tracer } from "@opentelemetry/api";

/** The instrumentation scope every Herald span is created under. */
export const TRACER_NAME = "herald";

/** Span names of issue 4 item 2, one per step, so dashboards and tests agree on them. */
export const SPANS = {
  /** HTTP server span; the name gets the route appended: `POST /v1/notifications`. */
  http: "http",
  idempotency: "idempotency.check",
  publish: "jetstream.publish",
  consume: "jetstream.consume",
  persist: "db.persist",
  provider: "provider.send",
} as const;

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Parent context, e.g. one extracted from NATS headers; default: the active one. */
  parent?: Context;
}

/**
 * Runs `fn` inside a new active span: records a thrown error (status ERROR plus
 * the exception event) and rethrows; ends the span either way.
 */
export async function inSpan<T>(tracer: Tracer, name: string, opts: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = opts.parent ?? context.active();
  const span = tracer.startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, ...(opts.attributes ? { attributes: opts.attributes } : {}) }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * `inSpan` when a tracer is wired and the trace is sampled, else just `fn()`.
 * An untraced process (the default) pays for no span objects or context
 * switches; nor does a request the sampler dropped (9 in 10 at 0.1): its
 * children would be dropped too (parent-based), and the active context
 * already carries the not-sampled flag on into the NATS headers.
 */
export function maybeSpan<T>(tracer: Tracer | undefined, name: string, opts: SpanOptions, fn: () => Promise<T>): Promise<T> {
  if (tracer === undefined) return fn();
  const parent = opts.parent ?? context.active();
  const parentSpan = trace.getSpan(parent);
  if (parentSpan !== undefined && (parentSpan.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return fn();
  return inSpan(tracer, name, { ...opts, parent }, fn);
}

export { SpanKind, SpanStatusCode };
