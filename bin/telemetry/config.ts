/**
 * The telemetry keys of the environment, as a zod shape for bin/config.ts to
 * spread into its ConfigSchema (`...TELEMETRY_CONFIG_SHAPE`), so they are
 * parsed once with the rest and fail fast with the others (STYLE §3).
 */
import { z } from "zod";
import type { TracingOptions } from "./tracing.ts";
import { DEFAULT_METRICS_PORT } from "./metrics-server.ts";

const ratio = z.coerce.number().min(0).max(1);

export const TELEMETRY_CONFIG_SHAPE = {
  /** `herald processor` serves /metrics and the health probes here (deploy/prometheus/prometheus.yml scrapes 9464). */
  HERALD_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(DEFAULT_METRICS_PORT),
  /** Share of info/debug lines kept, decided per correlation id; warn and above are always kept. */
  HERALD_LOG_SAMPLE: ratio.default(1),
  /** OTLP/HTTP collector base URL; spans go to `<url>/v1/traces`. Unset: tracing off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** Share of new traces sampled (parent-based: a continued trace follows its caller). */
  OTEL_TRACES_SAMPLER_ARG: ratio.default(1),
  /** Milliseconds between span exports (the OpenTelemetry SDK's variable; its default, 5000). */
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().positive().default(5_000),
  /** Overrides `service.name` (default herald-<mode>). */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
};

export const TelemetryConfigSchema = z.object(TELEMETRY_CONFIG_SHAPE);
export type TelemetryConfig = z.infer<typeof TelemetryConfigSchema>;

/** Tracing options from parsed config; `service` is `herald-gateway`, `herald-processor` or `herald-all`. */
export function tracingOptions(cfg: TelemetryConfig, service: string): TracingOptions {
  return {
    serviceName: cfg.OTEL_SERVICE_NAME ?? service,
    ...(cfg.OTEL_EXPORTER_OTLP_ENDPOINT ? { endpoint: cfg.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
    sampleRatio: cfg.OTEL_TRACES_SAMPLER_ARG,
    scheduledDelayMillis: cfg.OTEL_BSP_SCHEDULE_DELAY,
  };
}
