/**
 * The span vocabulary and the one helper code uses to make a span, on
 * `@opentelemetry/api` alone: the web-standard gateway and the processor
 * import this, never the SDK in ./tracing.ts, so they run (as no-ops) where
 * tracing was never started.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Span, type Tracer } from "@opentelemetry/api";

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
  /** The parent: the request's context, or one extracted from NATS headers. Default: none, a new trace. */
  parent?: Context;
}

/**
 * Runs `fn` in a new span, handing it the span and the context to parent
 * further spans (and NATS headers) with: records a thrown error (status ERROR
 * plus the exception event) and rethrows; ends the span either way.
 *
 * Context is passed explicitly, never through AsyncLocalStorage: no context
 * manager is installed (./tracing.ts says why), so `context.active()` is
 * always the root and a parent left out starts a new trace.
 */
export async function inSpan<T>(tracer: Tracer, name: string, opts: SpanOptions, fn: (span: Span, ctx: Context) => Promise<T>): Promise<T> {
  const parent = opts.parent ?? ROOT_CONTEXT;
  const span = tracer.startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, ...(opts.attributes ? { attributes: opts.attributes } : {}) }, parent);
  try {
    return await fn(span, trace.setSpan(parent, span));
  } catch (err) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * `inSpan` when a tracer is wired and the parent's trace is sampled, else just
 * `fn(parent)`. An untraced process (the default) pays for no span objects;
 * nor does a request the sampler dropped (9 in 10 at 0.1): its children would
 * be dropped too (parent-based), and `fn` gets the parent, whose not-sampled
 * flag travels on into the NATS headers.
 */
export function maybeSpan<T>(tracer: Tracer | undefined, name: string, opts: SpanOptions, fn: (ctx: Context) => Promise<T>): Promise<T> {
  const parent = opts.parent ?? ROOT_CONTEXT;
  if (tracer === undefined) return fn(parent);
  const parentSpan = trace.getSpan(parent);
  if (parentSpan !== undefined && (parentSpan.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return fn(parent);
  return inSpan(tracer, name, { ...opts, parent }, (_span, ctx) => fn(ctx));
}

export { SpanKind, SpanStatusCode };
