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
