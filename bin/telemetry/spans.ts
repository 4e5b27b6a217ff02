/**
 * The span vocabulary and the one helper code uses to make a span, on
 * `@opentelemetry/api` alone: the web-standard gateway and the processor
 * import this, never the SDK in ./tracing.ts, so they run (as no-ops) where
 * tracing was never started.
 */
import { createContextKey, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Span, type SpanContext, type Tracer } from "@opentelemetry/api";

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

/**
 * Set on a parent context when the edge (the gateway, for a request without
 * a `traceparent`) already decided to keep a new trace; the SDK's sampler
 * (./tracing.ts) then records it instead of deciding a second time.
 */
export const EDGE_SAMPLED = createContextKey("herald.edge_sampled");

/**
 * The edge's decision for a new trace, made before any span exists: kept,
 * with the share `ratio`. A dropped trace costs no SDK span: see `notSampled`.
 */
export function keepNewTrace(ratio: number): boolean {
  return ratio >= 1 || Math.random() < ratio;
}

/** Two lowercase hex digits for every byte value. */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
/** Random bytes drawn 6 KiB at a time: one `getRandomValues` per 256 dropped traces instead of two UUIDs each. */
const pool = new Uint8Array(24 * 256);
let poolAt = pool.length;

/** `bytes` random bytes (crypto.getRandomValues) as lowercase hex; never all zeros, which W3C calls an invalid id. */
export function randomHex(bytes: number): string {
  for (;;) {
    if (poolAt + bytes > pool.length) {
      crypto.getRandomValues(pool);
      poolAt = 0;
    }
    let hex = "";
    let any = 0;
    for (const end = poolAt + bytes; poolAt < end; poolAt++) {
      const b = pool[poolAt] as number;
      any |= b;
      hex += HEX[b];
    }
    if (any !== 0) return hex;
  }
}

/**
 * The span of a new trace the edge dropped: no SDK object behind it, only the
 * ids and the W3C `traceparent` it puts in the message headers, written out
 * here once so the publish needs no propagator call (see `traceparentOf`).
 */
export class DroppedSpan implements Span {
  private readonly context: SpanContext;
  readonly traceparent: string;

  constructor(traceId: string, spanId: string) {
    this.context = { traceId, spanId, traceFlags: TraceFlags.NONE };
    this.traceparent = `00-${traceId}-${spanId}-00`;
  }

  spanContext(): SpanContext {
    return this.context;
  }
  isRecording(): boolean {
    return false;
  }
  setAttribute(): this {
    return this;
  }
  setAttributes(): this {
    return this;
  }
  addEvent(): this {
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(): this {
    return this;
  }
  updateName(): this {
    return this;
  }
  end(): void {}
  recordException(): void {}
}

/**
 * The context of a new trace the edge dropped: a valid, not-sampled span
 * context with random ids and no SDK span behind it, so the W3C header still
 * says "not sampled" to the processor (which then drops it too) while the
 * request itself makes no SDK span, sampler call or attribute object.
 */
export function notSampled(): Context {
  return trace.setSpan(ROOT_CONTEXT, new DroppedSpan(randomHex(16), randomHex(8)));
}

/** The ready-made `traceparent` of a dropped trace's context; undefined for any other context (the propagator writes those). */
export function traceparentOf(ctx: Context): string | undefined {
  const span = trace.getSpan(ctx);
  return span instanceof DroppedSpan ? span.traceparent : undefined;
}

/** Whether spans under `parent` are recorded: a new trace (no span yet) or a sampled parent. */
export function sampledParent(parent: Context): boolean {
  const span = trace.getSpan(parent);
  return span === undefined || (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;
}

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
  if (!sampledParent(parent)) return fn(parent);
  return inSpan(tracer, name, { ...opts, parent }, (_span, ctx) => fn(ctx));
}

export { SpanKind, SpanStatusCode };
