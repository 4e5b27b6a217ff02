import { hostname } from "node:os";
import type { Logger } from "pino";
import pkg from "../package.json" with { type: "json" };
import { configuredErrorReporter, type ErrorReporter } from "../lib/telemetry/error-reporter.ts";
import type { TracingOptions } from "../lib/telemetry/tracing.ts";
import type { TelemetryConfig } from "../schemas/config.ts";

/** Tracing options from parsed config; `service` is `herald-gateway`, `herald-processor` or `herald-all`. */
export function tracingOptions(cfg: TelemetryConfig, service: string): TracingOptions {
  return {
    serviceName: cfg.OTEL_SERVICE_NAME ?? service,
    ...(cfg.OTEL_EXPORTER_OTLP_ENDPOINT ? { endpoint: cfg.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
    sampleRatio: cfg.OTEL_TRACES_SAMPLER_ARG,
    scheduledDelayMillis: cfg.OTEL_BSP_SCHEDULE_DELAY,
  };
}

/**
 * The error reporter SENTRY_DSN asks for (`NOOP_ERROR_REPORTER` when unset);
 * `service` is the command (`herald-gateway` → the tag `gateway`). Reports it
 * cannot send are logged at warn, never reported.
 */
export function errorReporter(cfg: TelemetryConfig & { NODE_ENV: string }, service: string, log: Logger): ErrorReporter {
  return configuredErrorReporter(cfg.SENTRY_DSN, {
    version: pkg.version,
    environment: cfg.NODE_ENV,
    serverName: hostname(),
    service: service.replace(/^herald-/, ""),
    onDropped: (reason) => log.warn({ reason }, "an error report was not sent to Sentry"),
  });
}
