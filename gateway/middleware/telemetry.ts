/**
 * The gateway's side of telemetry as Hono pieces on web-standard APIs only
 * (Hono + @opentelemetry/api, no prom-client, no SDK), so the wiring is one
 * `app.use(httpTelemetry(...))` and one `app.get("/metrics", ...)`. They can
 * move to gateway/middleware/ as they are.
 */
import {
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Context as TraceContext,
  type Span,
  type TextMapGetter,
  type Tracer,
} from "@opentelemetry/api";
import type { Context, Handler, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { NOOP_METRICS, secondsSince, type MetricsRecorder } from "../../lib/telemetry/recorder.ts";
import { EDGE_SAMPLED, keepNewTrace, notSampled, withSpan } from "../../lib/telemetry/spans.ts";

/** The parent of a new trace this middleware decided to keep. */
const EDGE_KEPT = ROOT_CONTEXT.setValue(EDGE_SAMPLED, true);

/** The route label when no handler matched (404s of unknown paths): never the raw path. */
export const UNMATCHED_ROUTE = "unmatched";

/**
 * The pattern of the handler this request matched (`/v1/notifications/:id`),
 * even when a middleware (auth, rate limit) answered before it ran.
 */
export function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i];
    if (r && r.method !== "ALL") return r.path;
  }
  return UNMATCHED_ROUTE;
}

const headersGetter: TextMapGetter<Headers> = {
  keys: (h) => [...h.keys()],
  get: (h, key) => h.get(key) ?? undefined,
};

/** The Hono variable holding the request's trace context: the parent of the spans and NATS headers its handlers make. */
export const TRACE_CONTEXT = "traceContext";

/** The request's trace context as `httpTelemetry` set it; the root (no trace) when tracing is off. */
export function traceContextOf(c: Context): TraceContext {
  return (c.get(TRACE_CONTEXT) as TraceContext | undefined) ?? ROOT_CONTEXT;
}

export interface HttpTelemetryOptions {
  metrics?: MetricsRecorder;
  /** The server span's tracer; leave out (or pass tracing's `enabled: false`) for no spans. */
  tracer?: Tracer;
  /** Share of new traces (requests without a `traceparent`) kept, decided here (OTEL_TRACES_SAMPLER_ARG). Default 1. */
  sampleRatio?: number;
}

/**
 * Counts and times every request by route, method and status class (a client
 * that went away is 499, so 4xx), keeps the in-flight gauge, and (with a
 * tracer) opens a SERVER span that continues the caller's `traceparent` and
 * puts its context in the `traceContext` variable
 * (`traceContextOf(c)`), which handlers pass on as the parent of their spans —
 * idempotency, publish — and of the NATS headers. Register it first, before auth.
 *
 * A request without a `traceparent` starts a new trace, kept with the share
 * `sampleRatio`, decided here before any span exists: a dropped one (9 in 10
 * at 0.1) gets only a not-sampled context for the headers (`notSampled`),
 * which costs far less than the SDK's not-sampled spans.
 */
export function httpTelemetry(opts: HttpTelemetryOptions = {}): MiddlewareHandler {
  const metrics = opts.metrics ?? NOOP_METRICS;
  const tracer = opts.tracer;
  const ratio = opts.sampleRatio ?? 1;
  return async function httpTelemetryMiddleware(c, next) {
    const started = performance.now();
    metrics.httpInFlight(1);
    let span: Span | undefined;
    if (tracer) {
      const continued = c.req.header("traceparent") !== undefined;
      if (!continued && !keepNewTrace(ratio)) {
        c.set(TRACE_CONTEXT, notSampled());
      } else {
        const parent = continued ? propagation.extract(ROOT_CONTEXT, c.req.raw.headers, headersGetter) : EDGE_KEPT;
        span = tracer.startSpan(c.req.method, { kind: SpanKind.SERVER, attributes: { "http.request.method": c.req.method } }, parent);
        c.set(TRACE_CONTEXT, withSpan(parent, span));
      }
    }
    try {
      await next();
    } finally {
      const route = routeLabel(c);
      const status = c.res.status;
      metrics.httpRequest(route, c.req.method, status, secondsSince(started));
      metrics.httpInFlight(-1);
      if (span) {
        span.updateName(`${c.req.method} ${route}`);
        span.setAttribute("http.route", route);
        span.setAttribute("http.response.status_code", status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
    }
  };
}

/** `GET /metrics` on the gateway: the page of whatever registry it is given (`HeraldMetrics`). */
export function metricsHandler(source: { readonly contentType: string; render(): Promise<string> }): Handler {
  // Through the context, so the headers the middleware prepared (X-Request-Id) come along as on every other answer.
  return async function metricsPage(c) {
    return c.body(await source.render(), 200, { "content-type": source.contentType });
  };
}
