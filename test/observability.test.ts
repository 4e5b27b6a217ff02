import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort } from "../lib/probe.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "./support/otlp-receiver.ts";
import { SPANS } from "../lib/telemetry/spans.ts";
import { METRICS } from "../schemas/metrics.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { eventually } from "./support/eventually.ts";
import { createStack, post, statusOf, type Stack } from "./support/stack.ts";

// One request must be followable across both processes: in their logs, in one trace to the provider call, and in the metrics.
const X = "obs-req-7f3a";
let stack: Stack;
let receiver: OtlpReceiver;
let gateway: HeraldProcess;
let processor: HeraldProcess;
let processorMetrics: string;
let notificationId: string;

beforeAll(async () => {
  receiver = startOtlpReceiver();
  const metricsPort = freePort();
  processorMetrics = `http://127.0.0.1:${metricsPort}`;
  stack = await createStack({
    LOG_LEVEL: "info",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_TRACES_SAMPLER_ARG: "1",
    OTEL_BSP_SCHEDULE_DELAY: "200",
    HERALD_METRICS_PORT: String(metricsPort),
  });
  processor = await startHerald("processor", stack.env);
  gateway = await startHerald("gateway", stack.env);
  const res = await post(
    gateway.url,
    "/v1/notifications",
    { userId: "user-obs", channel: "in_app", payload: { title: "Hi", body: "Hello" } },
    { "x-request-id": X },
  );
  expect(res.status).toBe(202);
  expect(res.headers.get("x-request-id")).toBe(X);
  notificationId = ((await res.json()) as { id: string }).id;
  await eventually(async () => (await statusOf(gateway.url, notificationId)) === "sent");
});

afterAll(async () => {
  await gateway?.signal("SIGTERM");
  await processor?.signal("SIGTERM");
  await receiver?.stop();
  await stack?.cleanup();
});

/** The value of `name{labels}` on a metrics page, whatever order the labels are printed in. */
function sample(text: string, series: string): number | undefined {
  const key = (s: string) => {
    const m = /^([^{\s]+)(?:\{(.*)\})?$/.exec(s);
    return m ? `${m[1]}{${(m[2] ?? "").split(",").filter(Boolean).sort().join(",")}}` : s;
  };
  const wanted = key(series);
  for (const line of text.split("\n")) {
    const at = line.lastIndexOf(" ");
    if (at > 0 && key(line.slice(0, at)) === wanted) return Number(line.slice(at + 1));
  }
  return undefined;
}

describe("observability of one notification", () => {
  test("X-Request-Id reaches the log lines of both the gateway and the processor, with the notification's ids", async () => {
    const accepted = await gateway.waitForLog((l) => l.correlationId === X);
    expect(accepted).toMatchObject({ service: "herald-gateway", level: 30, msg: "notification accepted", notificationId, tenantId: "acme", channel: "in_app" });
    const sent = await processor.waitForLog((l) => l.correlationId === X);
    expect(sent).toMatchObject({ service: "herald-processor", level: 30, msg: "notification sent", notificationId, tenantId: "acme", channel: "in_app" });
    // Redaction: the payload never reaches a line.
    expect(JSON.stringify([...gateway.logs, ...processor.logs])).not.toContain("Hello");
  });

  test("one trace id spans HTTP request → publish → consume → provider call across both services", async () => {
    const inTrace = async (): Promise<ReceivedSpan[] | null> => {
      const http = receiver.spans.find((s) => s.service === "herald-gateway" && s.name === "POST /v1/notifications");
      if (!http) return null;
      const spans = receiver.spans.filter((s) => s.traceId === http.traceId);
      return spans.some((s) => s.name === SPANS.provider) ? spans : null;
    };
    // Both processes export every 200 ms (OTEL_BSP_SCHEDULE_DELAY).
    const spans = await eventually(inTrace, { timeoutMs: 10_000, everyMs: 50 });
    const names = (service: string) => new Set(spans.filter((s) => s.service === service).map((s) => s.name));
    expect([...names("herald-gateway")]).toEqual(expect.arrayContaining(["POST /v1/notifications", SPANS.publish]));
    expect([...names("herald-processor")]).toEqual(expect.arrayContaining([SPANS.consume, SPANS.persist, SPANS.provider]));
    const publish = spans.find((s) => s.name === SPANS.publish);
    const consume = spans.find((s) => s.name === SPANS.consume);
    expect(consume?.parentSpanId).toBe(publish?.spanId ?? "missing");
  });

  test("both /metrics pages list every catalogue metric and the default process metrics, and the counters moved", async () => {
    const gatewayPage = await (await fetch(`${gateway.url}/metrics`)).text();
    const processorPage = await (await fetch(`${processorMetrics}/metrics`)).text();
    for (const page of [gatewayPage, processorPage]) {
      for (const def of Object.values(METRICS)) expect(page).toContain(`# TYPE ${def.name} ${def.type}`);
      expect(page).toContain("process_cpu_user_seconds_total");
    }
    expect(sample(gatewayPage, 'herald_notifications_accepted_total{channel="in_app",lane="normal"}')).toBe(1);
    expect(sample(gatewayPage, 'herald_http_requests_total{route="/v1/notifications",method="POST",status_class="2xx"}')).toBe(1);
    expect(sample(gatewayPage, 'herald_jetstream_publish_duration_seconds_count{stream="work",outcome="ok"}')).toBe(1);
    expect(sample(processorPage, 'herald_notifications_sent_total{channel="in_app",lane="normal",provider="inbox"}')).toBe(1);
    expect(sample(processorPage, 'herald_notification_end_to_end_seconds_count{channel="in_app",lane="normal"}')).toBe(1);
    expect(sample(processorPage, 'herald_provider_request_duration_seconds_count{provider="inbox",channel="in_app",outcome="sent"}')).toBe(1);
    expect(sample(processorPage, 'herald_db_query_duration_seconds_count{operation="write_outcomes",outcome="ok"}')).toBeGreaterThanOrEqual(1);
    expect(sample(processorPage, 'herald_jetstream_consumer_max_ack_pending{lane="normal"}')).toBeGreaterThan(0);
  });

  test("at start each process sends the collector an empty export, and says so when the collector is not there; a stop gives its last spans up within 2 s", async () => {
    const probe = (l: Record<string, unknown>) => String(l.msg).startsWith("the OTLP collector did not take");
    expect([...gateway.logs, ...processor.logs].filter(probe)).toEqual([]);
    // Every trace kept, so the request's spans wait for the missing collector when the gateway stops.
    const lonely = await startHerald("gateway", { ...stack.env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${freePort()}`, OTEL_TRACES_SAMPLER_ARG: "1" });
    let exited: Promise<number> | undefined;
    try {
      const warning = await lonely.waitForLog(probe, 10_000);
      expect(warning).toMatchObject({ level: 40, service: "herald-gateway" });
      expect(String(warning.problem)).not.toBe("");
      // It serves all the same: tracing never stands between a request and its answer.
      expect((await post(lonely.url, "/v1/notifications", { userId: "user-obs", channel: "in_app", payload: { title: "Hi", body: "Hello" } })).status).toBe(
        202,
      );
      // The final export would retry for ≈7 s; the stop waits 2 s for it, says so, and exits cleanly.
      const stopping = performance.now();
      exited = lonely.signal("SIGTERM");
      expect(await exited).toBe(0);
      expect(performance.now() - stopping).toBeLessThan(5_000);
      expect(lonely.logs.find((l) => String(l.msg).startsWith("the OTLP collector did not take the last spans"))).toMatchObject({
        level: 40,
        timeoutMs: 2_000,
      });
    } finally {
      if (exited === undefined) await lonely.signal("SIGTERM");
    }
  }, 30_000);

  test("health: the gateway's startup and readiness probes, and the processor's readiness with its lane backlog", async () => {
    expect((await fetch(`${gateway.url}/health/startup`)).status).toBe(200);
    const ready = await fetch(`${gateway.url}/health/ready`);
    expect(ready.status).toBe(200);
    const report = (await ready.json()) as { checks: Record<string, { ok: boolean; latencyMs: number }> };
    expect(Object.keys(report.checks).sort()).toEqual(["idempotency", "nats", "postgres"]);
    for (const check of Object.values(report.checks)) expect(check.latencyMs).toBeGreaterThanOrEqual(0);
    const processorReady = await fetch(`${processorMetrics}/health/ready`);
    expect(processorReady.status).toBe(200);
    expect(await processorReady.json()).toMatchObject({ status: "ok", lanes: { normal: { pending: 0, ackPending: 0 } } });
  });
});
