/**
 * Tracing: code everywhere uses `@opentelemetry/api` only; this module turns
 * the SDK on (tracer provider, ratio sampler, OTLP/HTTP exporter, W3C trace
 * context) when an endpoint is configured, and leaves the API's no-op in
 * place otherwise, so untraced processes pay for nothing but a few no-op calls.
 *
 * No context manager is installed: Herald hands trace context on explicitly
 * (the request's context in a Hono variable, then to the publisher and into
 * the NATS headers; in the processor, from the headers to each item), so no
 * request pays for AsyncLocalStorage carrying it through every await.
 *
 * Options come from config (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_SAMPLER_ARG
 * parsed in schemas/config.ts); nothing here reads the environment.
 */
import { propagation, trace, type Attributes, type Context, type Link, type SpanKind, type Tracer } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type ReadableSpan,
  type Sampler,
  type SamplingResult,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace";
import { withDeadline } from "../deadline.ts";
import { createOtlpFetchExporter, probeCollector } from "./otlp-fetch.ts";
import { EDGE_SAMPLED, TRACER_NAME } from "./spans.ts";

export interface TracingOptions {
  /** `service.name` of the resource: `herald-gateway`, `herald-processor`, `herald-all`. */
  serviceName: string;
  serviceVersion?: string;
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL; spans go to `<endpoint>/v1/traces`. Unset: tracing off. */
  endpoint?: string;
  /** Share of new traces kept (0..1), OTEL_TRACES_SAMPLER_ARG; continued traces follow their parent's decision. Default 1. */
  sampleRatio?: number;
  /** Extra OTLP request headers (e.g. a collector's auth). */
  headers?: Record<string, string>;
  /** Replaces the OTLP exporter (tests: InMemorySpanExporter); turns tracing on without an endpoint. */
  exporter?: SpanExporter;
  /** BatchSpanProcessor delay between exports; the SDK default is 5 s. */
  scheduledDelayMillis?: number;
  /**
   * How long `shutdown` waits for the last spans to be taken (default 2 s).
   * With the collector down, the final export would otherwise retry until its
   * 10-s deadline (≈7 s of backoff), holding up every stop and restart.
   */
  shutdownTimeoutMillis?: number;
  /**
   * Install the provider and propagator as the API's globals
   * (what the running process wants). `false` gives a tracer of its own, e.g.
   * a second "service" inside one test process.
   */
  global?: boolean;
}

export interface Tracing {
  /** False when no endpoint or exporter was given: every span is a no-op. */
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** Exports what is buffered (tests, before exit). */
  flush(): Promise<void>;
  /**
   * Flushes, stops exporting and removes the globals it installed. Rejects
   * (`TracingShutdownTimeout`) when the last spans were not taken within
   * `shutdownTimeoutMillis`: they are given up, the globals removed all the same.
   */
  shutdown(): Promise<void>;
  /**
   * Sends the collector an empty export (`probeCollector`): undefined when it
   * answered, else why not; undefined at once when tracing is off or exports
   * go to an injected exporter. Call it at start, before serving.
   */
  probe(): Promise<string | undefined>;
}

/** The OTLP/HTTP traces URL for a base endpoint, as the OTLP exporter spec derives it. */
export function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, "")}/v1/traces`;
}

function clampRatio(ratio: number | undefined): number {
  if (ratio === undefined || Number.isNaN(ratio)) return 1;
  return Math.min(1, Math.max(0, ratio));
}

/**
 * The root sampler: keeps a new trace the edge already decided to keep
 * (`EDGE_SAMPLED`, set by the gateway's httpTelemetry), and otherwise asks the
 * ratio sampler; continued traces never get here (parent-based).
 */
export class EdgeDecisionSampler implements Sampler {
  private readonly kept: SamplingResult = { decision: SamplingDecision.RECORD_AND_SAMPLED };

  constructor(private readonly fallback: Sampler) {}

  shouldSample(context: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    return context.getValue(EDGE_SAMPLED) === true ? this.kept : this.fallback.shouldSample(context, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `EdgeDecisionSampler{${this.fallback.toString()}}`;
  }
}

/**
 * Hands ended spans to the next processor (the SDK's BatchSpanProcessor) once
 * per event-loop turn, outside the code that ended them. The batch processor
 * exports from inside `onEnd` when a batch is full, and swaps its buffer for
 * a new one; compiled into the hottest function (the HTTP middleware, where
 * the server span ends), that path made JavaScriptCore throw the
 * middleware's top-tier code away and compile it again, over and over.
 * `onEnd` is now a push, the same few instructions every time, and no
 * request pays for a batch's serialization.
 */
export class HandOffSpanProcessor implements SpanProcessor {
  #ended: ReadableSpan[] = [];
  #scheduled = false;

  constructor(private readonly next: SpanProcessor) {}

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    this.#ended.push(span);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.handOff());
    }
  }
  /** Passes every ended span on now. */
  handOff(): void {
    this.#scheduled = false;
    const ended = this.#ended;
    this.#ended = [];
    for (const span of ended) this.next.onEnd(span);
  }
  forceFlush(): Promise<void> {
    this.handOff();
    return this.next.forceFlush();
  }
  shutdown(): Promise<void> {
    this.handOff();
    return this.next.shutdown();
  }
}

/** `shutdown` gave up on spans the collector had not taken in time. */
export class TracingShutdownTimeout extends Error {
  constructor(readonly timeoutMillis: number) {
    super(`spans not exported within ${timeoutMillis} ms of shutdown (is the OTLP collector up?); they were dropped`);
    this.name = "TracingShutdownTimeout";
  }
}

/** Starts tracing as configured; call once per process, before serving. */
export function startTracing(opts: TracingOptions): Tracing {
  if (!opts.endpoint && !opts.exporter) {
    return { enabled: false, tracer: trace.getTracer(TRACER_NAME), flush: async () => {}, shutdown: async () => {}, probe: async () => undefined };
  }
  const exporter = opts.exporter ?? createOtlpFetchExporter({ url: tracesUrl(opts.endpoint ?? ""), ...(opts.headers ? { headers: opts.headers } : {}) });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      "service.name": opts.serviceName,
      ...(opts.serviceVersion ? { "service.version": opts.serviceVersion } : {}),
    }),
    sampler: new ParentBasedSampler({ root: new EdgeDecisionSampler(new TraceIdRatioBasedSampler(clampRatio(opts.sampleRatio))) }),
    spanProcessors: [
      new HandOffSpanProcessor(
        new BatchSpanProcessor({ exporter, ...(opts.scheduledDelayMillis !== undefined ? { scheduledDelayMillis: opts.scheduledDelayMillis } : {}) }),
      ),
    ],
  });
  const global = opts.global !== false;
  if (global) {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
  }
  return {
    enabled: true,
    tracer: provider.getTracer(TRACER_NAME),
    flush: () => provider.forceFlush(),
    probe: async () => (opts.exporter || !opts.endpoint ? undefined : probeCollector(tracesUrl(opts.endpoint), opts.headers)),
    async shutdown() {
      try {
        const ms = opts.shutdownTimeoutMillis ?? 2_000;
        await withDeadline(provider.shutdown(), ms, () => new TracingShutdownTimeout(ms));
      } finally {
        if (global) {
          trace.disable();
          propagation.disable();
        }
      }
    },
  };
}

export { inSpan, maybeSpan, SPANS, SpanKind, SpanStatusCode, TRACER_NAME, type SpanOptions } from "./spans.ts";
