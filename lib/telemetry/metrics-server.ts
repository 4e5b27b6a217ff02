/**
 * The HTTP side of a processor running alone (`herald processor`): `/metrics`
 * for Prometheus on HERALD_METRICS_PORT, plus the Kubernetes probes. The
 * gateway serves its own `/metrics`; `herald all` uses the gateway's only.
 */
import { DEFAULT_METRICS_PORT } from "../../schemas/metrics.ts";
import { report, type ReadinessCheck } from "../readiness.ts";

/** What the server needs from the registry: `HeraldMetrics` satisfies it. */
export interface MetricsSource {
  readonly contentType: string;
  render(): Promise<string>;
}

export interface MetricsServerOptions {
  port?: number;
  hostname?: string;
  /** Dependencies `/health/ready` probes (NATS, Postgres); 503 when one fails. */
  readiness?: ReadinessCheck[];
  /** Extra facts for `/health/ready`, e.g. the processor's lane backlog (`processor.lanes()`). */
  details?: () => Promise<Record<string, unknown>>;
  readinessTimeoutMs?: number;
  /** Told when rendering the metrics page failed (answered 500). */
  onError?: (err: unknown) => void;
}

export interface MetricsServer {
  readonly port: number;
  stop(): Promise<void>;
}

async function readiness(opts: MetricsServerOptions): Promise<Response> {
  const checks = opts.readiness ?? [];
  const timeoutMs = opts.readinessTimeoutMs ?? 2_000;
  const [result, details] = await Promise.all([
    report(checks, timeoutMs),
    opts.details ? opts.details().catch((err: unknown) => ({ detailsError: err instanceof Error ? err.message : String(err) })) : Promise.resolve({}),
  ]);
  return Response.json({ status: result.ok ? "ok" : "unavailable", checks: result.checks, ...details }, { status: result.ok ? 200 : 503 });
}

/** Starts the metrics and health listener; `port: 0` picks a free one (tests). */
export function serveMetrics(metrics: MetricsSource, opts: MetricsServerOptions = {}): MetricsServer {
  const server = Bun.serve({
    port: opts.port ?? DEFAULT_METRICS_PORT,
    hostname: opts.hostname ?? "0.0.0.0",
    routes: {
      "/metrics": {
        GET: async () => {
          try {
            return new Response(await metrics.render(), { headers: { "content-type": metrics.contentType } });
          } catch (err) {
            opts.onError?.(err);
            return new Response("metrics unavailable\n", { status: 500 });
          }
        },
      },
      "/health/live": { GET: () => Response.json({ status: "ok" }) },
      "/health/ready": { GET: () => readiness(opts) },
    },
    fetch: () => new Response("not found\n", { status: 404 }),
  });
  return {
    port: server.port ?? 0,
    stop: () => server.stop(),
  };
}
