import { describe, expect, test } from "bun:test";
import { DEFAULT_PROCESS_METRICS, METRICS, labelNames, type MetricKey } from "../../schemas/metrics.ts";
import { createMetrics, statusClass, zeroCombinations } from "./metrics.ts";
import { NOOP_METRICS, timePublish, timeQuery } from "./recorder.ts";

/** Value of one sample line `name{labels} value` in the exposition text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? "").split(",").filter(Boolean);
    if (wanted.every((w) => got.includes(w)) && got.length === wanted.length) return Number(m[3]);
  }
  return undefined;
}

const routes = [
  { method: "ALL", path: "/*" },
  { method: "POST", path: "/v1/notifications" },
  { method: "GET", path: "/v1/notifications/:id" },
];
const providers = { webhook: ["webhook"], email: ["sink"] };

describe("createMetrics", () => {
  test("registers every catalogue metric with its type, help, label names and buckets", async () => {
    const m = createMetrics({ processMetrics: false });
    const json = await m.registry.getMetricsAsJSON();
    for (const key of Object.keys(METRICS) as MetricKey[]) {
      const def = METRICS[key];
      const got = json.find((j) => j.name === def.name);
      expect(got, def.name).toBeDefined();
      expect(String(got?.type)).toBe(def.type);
      expect(got?.help).toBe(def.help);
      expect(m.metric(key)).toBe(m.registry.getSingleMetric(def.name) as ReturnType<typeof m.metric>);
      expect((m.metric(key) as unknown as { labelNames: string[] }).labelNames).toEqual(labelNames(key));
      if ("buckets" in def) expect((m.metric(key) as unknown as { upperBounds: number[] }).upperBounds).toEqual([...def.buckets]);
    }
    expect(json.length).toBe(Object.keys(METRICS).length);
  });

  test("exposes the default process metrics deploy/ relies on", async () => {
    const text = await createMetrics().render();
    for (const name of DEFAULT_PROCESS_METRICS) expect(text).toContain(`\n${name}`);
  });

  test("creates every closed label combination at 0 before anything happens", async () => {
    const text = await createMetrics({ processMetrics: false }).render();
    expect(sample(text, "herald_notifications_failed_total", { channel: "invalid", lane: "low", reason: "invalid_message" })).toBe(0);
    expect(sample(text, "herald_notifications_accepted_total", { channel: "sms", lane: "urgent" })).toBe(0);
    expect(sample(text, "herald_jetstream_publish_duration_seconds_count", { stream: "dlq", outcome: "error" })).toBe(0);
    expect(sample(text, "herald_db_query_duration_seconds_bucket", { le: "0.0005", operation: "claim", outcome: "error" })).toBe(0);
    expect(sample(text, "herald_notification_end_to_end_seconds_count", { channel: "in_app", lane: "high" })).toBe(0);
    expect(sample(text, "herald_jetstream_consumer_pending", { lane: "normal" })).toBe(0);
    expect(sample(text, "herald_dlq_messages", { channel: "invalid" })).toBe(0);
    // Failed: 6 channels × 4 lanes × 6 reasons.
    expect(text.split("\n").filter((l) => l.startsWith("herald_notifications_failed_total{")).length).toBe(144);
  });

  test("creates route and provider series at 0 from the routes and senders it is given", async () => {
    const text = await createMetrics({ processMetrics: false, routes, providers }).render();
    expect(sample(text, "herald_http_requests_total", { route: "/v1/notifications", method: "POST", status_class: "5xx" })).toBe(0);
    expect(sample(text, "herald_http_requests_total", { route: "/v1/notifications/:id", method: "GET", status_class: "4xx" })).toBe(0);
    expect(sample(text, "herald_http_requests_total", { route: "/v1/notifications/:id", method: "POST", status_class: "4xx" })).toBeUndefined();
    expect(text).not.toContain('route="/*"');
    expect(sample(text, "herald_idempotency_replays_total", { route: "/v1/notifications" })).toBe(0);
    expect(sample(text, "herald_idempotency_replays_total", { route: "/v1/notifications/:id" })).toBeUndefined();
    expect(sample(text, "herald_notifications_sent_total", { channel: "webhook", lane: "low", provider: "webhook" })).toBe(0);
    expect(sample(text, "herald_notifications_sent_total", { channel: "webhook", lane: "low", provider: "sink" })).toBeUndefined();
    expect(sample(text, "herald_provider_request_duration_seconds_count", { provider: "sink", channel: "email", outcome: "permanent_error" })).toBe(0);
  });

  test("initSeries adds route and provider series later without resetting counts", async () => {
    const m = createMetrics({ processMetrics: false });
    m.accepted("email", "low", 2);
    m.initSeries({ routes });
    m.initSeries({ routes, providers });
    const text = await m.render();
    expect(sample(text, "herald_http_requests_total", { route: "/v1/notifications", method: "POST", status_class: "4xx" })).toBe(0);
    expect(sample(text, "herald_notifications_sent_total", { channel: "email", lane: "urgent", provider: "sink" })).toBe(0);
    expect(sample(text, "herald_notifications_accepted_total", { channel: "email", lane: "low" })).toBe(2);
  });

  test("without routes or senders, code-bounded series are left to appear on first use", () => {
    expect(zeroCombinations("httpRequests", {})).toEqual([]);
    expect(zeroCombinations("notificationsSent", {})).toEqual([]);
    expect(zeroCombinations("httpInFlight", {})).toEqual([{}]);
  });

  test("records requests by route, method and status class; unknown methods count as other", async () => {
    const m = createMetrics({ processMetrics: false });
    m.httpRequest("/v1/notifications", "POST", 202, 0.003);
    m.httpRequest("/v1/notifications", "POST", 202, 0.3);
    m.httpRequest("unmatched", "PROPFIND", 404, 0.001);
    const text = await m.render();
    expect(sample(text, "herald_http_requests_total", { route: "/v1/notifications", method: "POST", status_class: "2xx" })).toBe(2);
    expect(sample(text, "herald_http_request_duration_seconds_bucket", { le: "0.25", route: "/v1/notifications", method: "POST", status_class: "2xx" })).toBe(
      1,
    );
    expect(sample(text, "herald_http_requests_total", { route: "unmatched", method: "other", status_class: "4xx" })).toBe(1);
  });

  test("maps statuses to classes, anything out of range to 5xx", () => {
    expect([statusClass(101), statusClass(204), statusClass(304), statusClass(429), statusClass(503), statusClass(0), statusClass(999)]).toEqual([
      "1xx",
      "2xx",
      "3xx",
      "4xx",
      "5xx",
      "5xx",
      "5xx",
    ]);
  });

  test("counts 499 (the client went away) under 4xx, so the 5xx alerts never see it", () => {
    expect(statusClass(499)).toBe("4xx");
  });

  test("counts pipeline outcomes with their labels", async () => {
    const m = createMetrics({ processMetrics: false });
    m.accepted("email", "high", 3);
    m.accepted("email", "high");
    m.idempotencyReplay("/v1/notifications");
    m.sent("webhook", "normal", "webhook");
    m.failed("invalid", "low", "invalid_message");
    m.endToEnd("webhook", "normal", 0.4);
    m.providerRequest("webhook", "webhook", "retryable_error", 0.02);
    m.dlqMessages("webhook", 7);
    m.consumer("urgent", { pending: 5, ackPending: 2, redelivered: 1, maxAckPending: 4096 });
    const text = await m.render();
    expect(sample(text, "herald_notifications_accepted_total", { channel: "email", lane: "high" })).toBe(4);
    expect(sample(text, "herald_idempotency_replays_total", { route: "/v1/notifications" })).toBe(1);
    expect(sample(text, "herald_notifications_sent_total", { channel: "webhook", lane: "normal", provider: "webhook" })).toBe(1);
    expect(sample(text, "herald_notifications_failed_total", { channel: "invalid", lane: "low", reason: "invalid_message" })).toBe(1);
    expect(sample(text, "herald_notification_end_to_end_seconds_sum", { channel: "webhook", lane: "normal" })).toBeCloseTo(0.4);
    expect(sample(text, "herald_provider_request_duration_seconds_count", { provider: "webhook", channel: "webhook", outcome: "retryable_error" })).toBe(1);
    expect(sample(text, "herald_dlq_messages", { channel: "webhook" })).toBe(7);
    expect(sample(text, "herald_jetstream_consumer_pending", { lane: "urgent" })).toBe(5);
    expect(sample(text, "herald_jetstream_consumer_ack_pending", { lane: "urgent" })).toBe(2);
    expect(sample(text, "herald_jetstream_consumer_redelivered", { lane: "urgent" })).toBe(1);
    expect(sample(text, "herald_jetstream_consumer_max_ack_pending", { lane: "urgent" })).toBe(4096);
  });

  test("in-flight requests and pool gauges are read when scraped", async () => {
    const m = createMetrics({ processMetrics: false });
    m.httpInFlight(1);
    m.httpInFlight(1);
    m.httpInFlight(-1);
    m.dbPoolMax(2);
    for (let i = 0; i < 5; i++) m.dbInFlight(1);
    const text = await m.render();
    expect(sample(text, "herald_http_in_flight_requests")).toBe(1);
    expect(sample(text, "herald_db_pool_max_connections")).toBe(2);
    expect(sample(text, "herald_db_pool_active_connections")).toBe(2);
    expect(sample(text, "herald_db_pool_waiting_queries")).toBe(3);
  });

  test("timeQuery and timePublish record ok and error outcomes and rethrow", async () => {
    const m = createMetrics({ processMetrics: false });
    expect(await timeQuery(m, "claim", async () => 42)).toBe(42);
    await expect(timeQuery(m, "write_outcomes", () => Promise.reject(new Error("deadlock")))).rejects.toThrow("deadlock");
    await timePublish(m, "work", async () => undefined);
    await expect(timePublish(m, "events", () => Promise.reject(new Error("503")))).rejects.toThrow("503");
    const text = await m.render();
    expect(sample(text, "herald_db_query_duration_seconds_count", { operation: "claim", outcome: "ok" })).toBe(1);
    expect(sample(text, "herald_db_query_duration_seconds_count", { operation: "write_outcomes", outcome: "error" })).toBe(1);
    expect(sample(text, "herald_db_pool_active_connections")).toBe(0);
    expect(sample(text, "herald_jetstream_publish_duration_seconds_count", { stream: "work", outcome: "ok" })).toBe(1);
    expect(sample(text, "herald_jetstream_publish_duration_seconds_count", { stream: "events", outcome: "error" })).toBe(1);
  });

  test("a collector runs before each scrape; one that hangs or throws is reported and the page still renders", async () => {
    const errors: unknown[] = [];
    const m = createMetrics({ processMetrics: false, collectTimeoutMs: 50, onCollectError: (e) => errors.push(e) });
    let runs = 0;
    m.addCollector(() => {
      runs += 1;
      m.dlqMessages("sms", runs);
    });
    m.addCollector(() => new Promise<void>(() => {}));
    m.addCollector(() => {
      throw new Error("nats closed");
    });
    const text = await m.render();
    expect(runs).toBe(1);
    expect(sample(text, "herald_dlq_messages", { channel: "sms" })).toBe(1);
    expect(errors.map((e) => (e as Error).message).sort()).toEqual(["metrics collector gave no answer within 50 ms", "nats closed"]);
  });

  test("NOOP_METRICS accepts every call and records nothing", async () => {
    await timeQuery(NOOP_METRICS, "readiness", async () => undefined);
    NOOP_METRICS.httpRequest("/x", "GET", 200, 0.1);
    NOOP_METRICS.consumer("low", { pending: 1, ackPending: 0, redelivered: 0, maxAckPending: 1 });
  });
});
