/**
 * The span vocabulary and the one helper code uses to make a span, on
 * `@opentelemetry/api` alone: the web-standard gateway and the processor
 * import this, never the SDK in ./tracing.ts, so they run (as no-ops) where
 * tracing was never started.
 */
import {
  createContextKey,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type Tracer,
} from "@opentelemetry/api";

/** The instrumentation scope every Herald span is created under. */
export const TRACER_NAME = "herald";

/** Span names, one per step, so dashboards and tests agree on them. */
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

/** Random bytes drawn 6 KiB at a time (one `getRandomValues` per 256 dropped traces), and the same bytes as hex. */
const pool = new Uint8Array(24 * 256);
let poolHex = "";
let poolAt = pool.length;

/** Takes `bytes` random bytes from the pool, refilling it first when short; returns their offset. */
function take(bytes: number): number {
  if (poolAt + bytes > pool.length) {
    crypto.getRandomValues(pool);
    poolHex = Buffer.from(pool.buffer, pool.byteOffset, pool.byteLength).toString("hex");
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += bytes;
  return at;
}

/** Whether the pool's `bytes` bytes from `at` are all zero: W3C calls such an id invalid. */
function allZero(at: number, bytes: number): boolean {
  let any = 0;
  for (let i = at; i < at + bytes; i++) any |= pool[i] as number;
  return any === 0;
}

/** `bytes` random bytes (crypto.getRandomValues) as lowercase hex; never all zeros, which W3C calls an invalid id. */
export function randomHex(bytes: number): string {
  for (;;) {
    const at = take(bytes);
    if (!allZero(at, bytes)) return poolHex.slice(at * 2, (at + bytes) * 2);
  }
}

/** A fresh not-sampled `traceparent`: 16 random bytes of trace id and 8 of span id, neither all zeros. */
function droppedTraceparent(): string {
  for (;;) {
    const at = take(24);
    if (!allZero(at, 16) && !allZero(at + 16, 8)) return `00-${poolHex.slice(at * 2, at * 2 + 32)}-${poolHex.slice(at * 2 + 32, at * 2 + 48)}-00`;
  }
}

/**
 * The key `@opentelemetry/api`'s `trace.getSpan` / `trace.setSpan` keep a
 * context's span under: `createContextKey` is `Symbol.for` of this
 * description. Checked as this module loads (`SPAN_KEY_HOLDS`); should
 * a later API key it otherwise, a dropped trace goes into an ordinary context.
 */
const SPAN_KEY = Symbol.for("OpenTelemetry Context Key SPAN");

/**
 * A new trace the edge dropped, as one object that is both the trace context
 * handed on and the span in it: no SDK object behind it, only its W3C
 * `traceparent`, written once so the publish needs no propagator call
 * (`traceparentOf`), and the ids read from that when asked for.
 *
 * One object instead of a span, its span context and the API's context (a
 * copied Map and three closures), which dropped traces would otherwise make
 * per request.
 */
export class DroppedTrace implements Context, Span {
  #spanContext: SpanContext | undefined;

  constructor(readonly traceparent: string) {}

  getValue(key: symbol): unknown {
    return key === SPAN_KEY ? this : undefined;
  }
  setValue(key: symbol, value: unknown): Context {
    return key === SPAN_KEY ? new WithSpan(ROOT_CONTEXT, value as Span) : new WithSpan(ROOT_CONTEXT.setValue(key, value), this);
  }
  deleteValue(key: symbol): Context {
    return key === SPAN_KEY ? ROOT_CONTEXT : this;
  }

  spanContext(): SpanContext {
    this.#spanContext ??= { traceId: this.traceparent.slice(3, 35), spanId: this.traceparent.slice(36, 52), traceFlags: TraceFlags.NONE };
    return this.#spanContext;
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
 * `parent` with `span` in it, as `trace.setSpan` gives, in one small object:
 * the API's context copies its parent's Map and makes three closures every
 * time, once per span of a kept trace (see DroppedTrace).
 */
class WithSpan implements Context {
  constructor(
    private readonly parent: Context,
    private readonly span: Span,
  ) {}

  getValue(key: symbol): unknown {
    return key === SPAN_KEY ? this.span : this.parent.getValue(key);
  }
  setValue(key: symbol, value: unknown): Context {
    return key === SPAN_KEY ? new WithSpan(this.parent, value as Span) : new WithSpan(this.parent.setValue(key, value), this.span);
  }
  deleteValue(key: symbol): Context {
    return key === SPAN_KEY ? this.parent.deleteValue(key) : new WithSpan(this.parent.deleteValue(key), this.span);
  }
}

/** Whether the API finds a span where `DroppedTrace` and `WithSpan` put it (see SPAN_KEY). */
const SPAN_KEY_HOLDS = ((probe: DroppedTrace) => trace.getSpan(probe) === probe && trace.getSpan(new WithSpan(ROOT_CONTEXT, probe)) === probe)(
  new DroppedTrace(`00-${"1".repeat(32)}-${"1".repeat(16)}-00`),
);

/** `trace.setSpan(parent, span)`, made cheaper (`WithSpan`). */
export function withSpan(parent: Context, span: Span): Context {
  return SPAN_KEY_HOLDS ? new WithSpan(parent, span) : trace.setSpan(parent, span);
}

/**
 * The context of a new trace the edge dropped: a valid, not-sampled span
 * context with random ids and no SDK span behind it, so the W3C header still
 * says "not sampled" to the processor (which then drops it too) while the
 * request itself makes no SDK span, sampler call or attribute object.
 */
export function notSampled(): Context {
  const dropped = new DroppedTrace(droppedTraceparent());
  return SPAN_KEY_HOLDS ? dropped : trace.setSpan(ROOT_CONTEXT, dropped);
}

/** The ready-made `traceparent` of a dropped trace's context; undefined for any other context (the propagator writes those). */
export function traceparentOf(ctx: Context): string | undefined {
  if (ctx instanceof DroppedTrace) return ctx.traceparent;
  const span = trace.getSpan(ctx);
  return span instanceof DroppedTrace ? span.traceparent : undefined;
}

/** Whether spans under `parent` are recorded: a new trace (no span yet) or a sampled parent. */
export function sampledParent(parent: Context): boolean {
  if (parent instanceof DroppedTrace) return false;
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
    return await fn(span, withSpan(parent, span));
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
