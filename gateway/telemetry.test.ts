import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import type { DestinationStream } from "pino";
import { createHeraldLogger } from "../lib/telemetry/logging.ts";
import { createMetrics, type HeraldMetrics } from "../lib/telemetry/metrics.ts";
import { SPANS, startTracing, type Tracing } from "../lib/telemetry/tracing.ts";
import { traceIdFromTraceparent } from "../lib/telemetry/correlation.ts";
import { createApp } from "./app.ts";
import { createNotificationReader } from "../lib/db/reads.ts";
import { createAppFixture, send, VALID, type AppFixture } from "../test/support/gateway-fixture.ts";

let f: AppFixture;
let metrics: HeraldMetrics;
let tracing: Tracing;
let app: ReturnType<typeof createApp>;
const exporter = new InMemorySpanExporter();
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  f = await createAppFixture();
  metrics = createMetrics({ processMetrics: false });
  // Global, as in the running process: the publish window injects through the global W3C propagator.
  tracing = startTracing({ serviceName: "herald-gateway", exporter, sampleRatio: 1 });
  const destination: DestinationStream = { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) };
  app = createApp({
    ...f.deps,
    reader: createNotificationReader(f.db.db, metrics),
    logger: createHeraldLogger({ level: "info", service: "herald-gateway", destination }),
    metrics,
    metricsPage: metrics,
    tracer: tracing.tracer,
  });
  metrics.initSeries({ routes: app.routes });
});
afterAll(async () => {
  await tracing.shutdown();
  await f.cleanup();
});

function sample(text: string, series: string): number | undefined {
  const found = text.split("\n").find((l) => l.startsWith(`${series} `));
  return found === undefined ? undefined : Number(found.slice(series.length + 1));
}

async function scrape(): Promise<string> {
  const res = await send(app, "/metrics", { key: null });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  return res.text();
}

describe("gateway telemetry", () => {
  test("X-Request-Id becomes the envelope's correlationId and the accepted line's, and one trace runs from the request into the NATS headers", async () => {
    const res = await send(app, "/v1/notifications", { body: VALID.sms, headers: { "x-request-id": "req-obs-1", "idempotency-key": "obs-1" } });
    expect(res.status).toBe(202);
    expect(res.headers.get("x-request-id")).toBe("req-obs-1");
    const { id } = (await res.json()) as { id: string };

    const stored = await f.jsm.streams.getMessage(f.topo.streams.work, { seq: 1 });
    expect(stored?.json<{ correlationId: string }>().correlationId).toBe("req-obs-1");
    const traceId = traceIdFromTraceparent(stored?.header?.get("traceparent"));
    expect(traceId).toBeDefined();

    await tracing.flush();
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const byName = new Map(spans.map((s) => [s.name, s]));
    expect([...byName.keys()].sort()).toEqual(["POST /v1/notifications", SPANS.idempotency, SPANS.publish].sort());
    const server = byName.get("POST /v1/notifications");
    const publish = byName.get(SPANS.publish);
    expect(publish?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    // The processor's consume span will be the publish span's child.
    expect(stored?.header?.get("traceparent")).toContain(publish?.spanContext().spanId ?? "missing");

    expect(lines).toContainEqual(
      expect.objectContaining({ msg: "notification accepted", correlationId: "req-obs-1", notificationId: id, tenantId: "acme", channel: "sms" }),
    );
  });

  test("a new trace the edge drops makes no span, and its message still says 'not sampled'; a caller's sampled trace is continued", async () => {
    const dropping = createApp({
      ...f.deps,
      logger: createHeraldLogger({ level: "warn", service: "herald-gateway" }),
      tracer: tracing.tracer,
      traceSampleRatio: 0,
    });
    const seqBefore = (await f.jsm.streams.info(f.topo.streams.work)).state.last_seq;
    expect((await send(dropping, "/v1/notifications", { body: VALID.in_app })).status).toBe(202);
    const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const traceparent = `00-${callerTrace}-00f067aa0ba902b7-01`;
    expect((await send(dropping, "/v1/notifications", { body: VALID.in_app, headers: { traceparent } })).status).toBe(202);

    const dropped = (await f.jsm.streams.getMessage(f.topo.streams.work, { seq: seqBefore + 1 }))?.header?.get("traceparent") ?? "";
    expect(dropped).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    const continued = (await f.jsm.streams.getMessage(f.topo.streams.work, { seq: seqBefore + 2 }))?.header?.get("traceparent") ?? "";
    expect(continued).toMatch(new RegExp(`^00-${callerTrace}-[0-9a-f]{16}-01$`));

    await tracing.flush();
    const traceIds = new Set(exporter.getFinishedSpans().map((s) => s.spanContext().traceId));
    expect(traceIds.has(traceIdFromTraceparent(dropped) ?? "missing")).toBe(false);
    expect(traceIds.has(callerTrace)).toBe(true);
  });

  test("a malformed traceparent is ignored: the request is accepted and its message carries a new, valid trace", async () => {
    const seqBefore = (await f.jsm.streams.info(f.topo.streams.work)).state.last_seq;
    const res = await send(app, "/v1/notifications", { body: VALID.in_app, headers: { traceparent: "00-not-a-trace-01" } });
    expect(res.status).toBe(202);
    const header = (await f.jsm.streams.getMessage(f.topo.streams.work, { seq: seqBefore + 1 }))?.header?.get("traceparent") ?? "";
    expect(traceIdFromTraceparent(header)).toMatch(/^[0-9a-f]{32}$/);
  });

  test("a traceparent without X-Request-Id gives its trace id as the correlation id", async () => {
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const res = await send(app, "/health/live", { key: null, headers: { traceparent } });
    expect(res.headers.get("x-request-id")).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });

  test("counts accepted notifications and replays apart, and times the reads", async () => {
    const before = await scrape();
    const acceptedSms = 'herald_notifications_accepted_total{channel="sms",lane="urgent"}';
    const replays = 'herald_idempotency_replays_total{route="/v1/notifications"}';
    expect(sample(before, replays)).toBe(0);

    const first = await send(app, "/v1/notifications", { body: VALID.sms, headers: { "idempotency-key": "obs-2" } });
    const again = await send(app, "/v1/notifications", { body: VALID.sms, headers: { "idempotency-key": "obs-2" } });
    expect(again.headers.get("idempotency-replayed")).toBe("true");
    const batch = await send(app, "/v1/notifications/batch", { body: { notifications: [VALID.sms, VALID.email] } });
    expect(batch.status).toBe(202);
    const { id } = (await first.json()) as { id: string };
    expect((await send(app, `/v1/notifications/${id}/attempts`)).status).toBe(200);

    const after = await scrape();
    expect((sample(after, acceptedSms) ?? 0) - (sample(before, acceptedSms) ?? 0)).toBe(2);
    expect(sample(after, 'herald_notifications_accepted_total{channel="email",lane="normal"}')).toBe(1);
    expect(sample(after, replays)).toBe(1);
    expect(sample(after, 'herald_db_query_duration_seconds_count{operation="list_attempts",outcome="ok"}')).toBe(1);
    expect(sample(after, 'herald_jetstream_publish_duration_seconds_count{stream="work",outcome="ok"}')).toBeGreaterThanOrEqual(4);
    expect(sample(after, 'herald_http_requests_total{route="/v1/notifications/batch",method="POST",status_class="2xx"}')).toBe(1);
  });
});
