import { expect, test } from "bun:test";
import { parseConfig, TelemetryConfigSchema } from "../schemas/config.ts";
import { silentLogger } from "../test/support/loggers.ts";
import { errorReporter, tracingOptions } from "./config-telemetry.ts";

test("defaults: metrics on 9464, every log line kept, tracing off, every new trace sampled once on", () => {
  const cfg = TelemetryConfigSchema.parse({});
  expect(cfg).toEqual({ HERALD_METRICS_PORT: 9464, HERALD_LOG_SAMPLE: 1, OTEL_TRACES_SAMPLER_ARG: 1, OTEL_BSP_SCHEDULE_DELAY: 5000 });
  expect(tracingOptions(cfg, "herald-gateway")).toEqual({ serviceName: "herald-gateway", sampleRatio: 1, scheduledDelayMillis: 5000 });
});

test("reads the endpoint, ratio, sample rate, export delay and service name", () => {
  const cfg = TelemetryConfigSchema.parse({
    HERALD_METRICS_PORT: "9500",
    HERALD_LOG_SAMPLE: "0.1",
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
    OTEL_TRACES_SAMPLER_ARG: "0.1",
    OTEL_SERVICE_NAME: "herald-eu",
    OTEL_BSP_SCHEDULE_DELAY: "250",
  });
  expect(cfg.HERALD_METRICS_PORT).toBe(9500);
  expect(cfg.HERALD_LOG_SAMPLE).toBe(0.1);
  expect(tracingOptions(cfg, "herald-all")).toEqual({
    serviceName: "herald-eu",
    endpoint: "http://127.0.0.1:4318",
    sampleRatio: 0.1,
    scheduledDelayMillis: 250,
  });
});

test("rejects a ratio outside 0..1 and an endpoint that is not a URL, naming the key", () => {
  const r = TelemetryConfigSchema.safeParse({ HERALD_LOG_SAMPLE: "2", OTEL_TRACES_SAMPLER_ARG: "-0.5", OTEL_EXPORTER_OTLP_ENDPOINT: "collector" });
  expect(r.success).toBe(false);
  expect(r.error?.issues.map((i) => i.path[0]).sort()).toEqual(["HERALD_LOG_SAMPLE", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER_ARG"]);
});

test("error tracking is off without SENTRY_DSN (an empty one included) and on with one", () => {
  expect(errorReporter(parseConfig({}), "herald-gateway", silentLogger).enabled).toBe(false);
  expect(errorReporter(parseConfig({ SENTRY_DSN: "" }), "herald-gateway", silentLogger).enabled).toBe(false);
  expect(errorReporter(parseConfig({ SENTRY_DSN: "https://abc123@o1.ingest.sentry.io/42" }), "herald-gateway", silentLogger).enabled).toBe(true);
  expect(() => parseConfig({ SENTRY_DSN: "https://o1.ingest.sentry.io/42" })).toThrow(/SENTRY_DSN/);
});
