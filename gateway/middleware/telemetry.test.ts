import { describe, expect, test } from "bun:test";
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { Hono } from "hono";
import { httpTelemetry, metricsHandler, traceContextOf } from "./telemetry.ts";
import { createMetrics } from "../../lib/telemetry/metrics.ts";
import { startTracing } from "../../lib/telemetry/tracing.ts";

function sample(text: string, line: string): number | undefined {
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

/** A small app shaped like the gateway's: telemetry first, auth on /v1, a sub-app, a 404 handler. */
function gatewayLike(opts: Parameters<typeof httpTelemetry>[0]) {
  const app = new Hono();
  app.use(httpTelemetry(opts));
  const v1 = new Hono();
  v1.use(async (c, next) => (c.req.header("authorization") ? next() : c.json({ title: "unauthorized" }, 401)));
  v1.post("/notifications", (c) => c.json({ id: "n-1" }, 202));
  v1.get("/notifications/:id", (c) => c.json({ id: c.req.param("id") }));
  v1.get("/boom", () => {
    throw new Error("boom");
  });
  app.route("/v1", v1);
  app.notFound((c) => c.json({ title: "not found" }, 404));
  app.onError((_err, c) => c.json({ title: "internal" }, 500));
  return app;
}

const auth = { authorization: "Bearer k" };

describe("httpTelemetry", () => {
  test("labels requests with the matched route pattern, never the raw path, and 'unmatched' for unknown paths", async () => {
    const metrics = createMetrics({ processMetrics: false });
    const app = gatewayLike({ metrics });
    app.get("/metrics", metricsHandler(metrics));
    expect((await app.request("/v1/notifications", { method: "POST", headers: auth })).status).toBe(202);
    expect((await app.request("/v1/notifications/0199-abc", { headers: auth })).status).toBe(200);
    expect((await app.request("/v1/notifications/0199-def")).status).toBe(401);
    expect((await app.request("/v1/boom", { headers: auth })).status).toBe(500);
    expect((await app.request("/wp-admin/login.php")).status).toBe(404);

    const res = await app.request("/metrics");
    expect(res.headers.get("content-type")).toBe(metrics.contentType);
    const text = await res.text();
    expect(sample(text, 'herald_http_requests_total{route="/v1/notifications",method="POST",status_class="2xx"}')).toBe(1);
    expect(sample(text, 'herald_http_requests_total{route="/v1/notifications/:id",method="GET",status_class="2xx"}')).toBe(1);
    expect(sample(text, 'herald_http_requests_total{route="/v1/notifications/:id",method="GET",status_class="4xx"}')).toBe(1);
    expect(sample(text, 'herald_http_requests_total{route="/v1/boom",method="GET",status_class="5xx"}')).toBe(1);
    expect(sample(text, 'herald_http_requests_total{route="unmatched",method="GET",status_class="4xx"}')).toBe(1);
    expect(text).not.toContain("0199-abc");
    expect(text).not.toContain("wp-admin");
    // The scrape itself is in flight while the page renders; everything before it is done.
    expect(sample(text, "herald_http_in_flight_requests")).toBe(1);
  });

  test("runs each request in a server span that continues the caller's traceparent; spans under traceContextOf(c) are its children", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ serviceName: "herald-gateway", exporter });
    try {
      const app = gatewayLike({ tracer: tracing.tracer });
      app.post("/v1/traced", async (c) => {
        tracing.tracer.startSpan("idempotency.check", {}, traceContextOf(c)).end();
        return c.json({}, 202);
      });
      const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
      await app.request("/v1/traced", { method: "POST", headers: { ...auth, traceparent } });
      await app.request("/v1/boom", { headers: auth });
      await tracing.flush();
      const spans = exporter.getFinishedSpans();
      const server = spans.find((s) => s.name === "POST /v1/traced");
      const inner = spans.find((s) => s.name === "idempotency.check");
      expect(server?.spanContext().traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
      expect(server?.parentSpanContext?.spanId).toBe("00f067aa0ba902b7");
      expect(server?.attributes["http.route"]).toBe("/v1/traced");
      expect(server?.attributes["http.response.status_code"]).toBe(202);
      expect(inner?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId ?? "none");
      const boom = spans.find((s) => s.name === "GET /v1/boom");
      expect(boom?.status.code).toBe(2);
      expect(trace.getActiveSpan()).toBeUndefined();
    } finally {
      await tracing.shutdown();
    }
  });
});
