/**
 * The OTLP/HTTP span exporter Herald runs: the SDK's exporter (OTLPExporterBase,
 * its export delegate with the concurrency limit and timeout, the SDK's own
 * JSON serializer) over a transport that sends with `fetch` instead of
 * `node:http`.
 *
 * The SDK's Node transport pipes a Readable into a `node:http` ClientRequest,
 * which Bun emulates in JavaScript on top of its native client; `fetch` is that
 * native client, slightly cheaper in CPU and memory.
 *
 * Retries follow the OTLP spec as the SDK's Node exporter does them: 429, 502,
 * 503 and 504 are retried up to 5 times with jittered exponential backoff
 * (1 s × 1.5ⁿ, at most 5 s) or the server's Retry-After, while the export's
 * deadline allows.
 */
import { diag } from "@opentelemetry/api";
import {
  createOtlpNetworkExportDelegate,
  ExporterMetrics,
  OTLPExporterBase,
  type ExportResponse,
  type IExporterTransport,
} from "@opentelemetry/otlp-exporter-base";
import { JsonTraceSerializer, TraceExporterMetricsHelper } from "@opentelemetry/otlp-transformer";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";

export interface OtlpFetchOptions {
  /** The full traces URL (`<endpoint>/v1/traces`). */
  url: string;
  /** Extra request headers, e.g. a collector's auth. */
  headers?: Record<string, string>;
  /** One export's deadline, retries included (the spec's default: 10 s). */
  timeoutMillis?: number;
  /** Exports in flight at most (the SDK's default: 30). */
  concurrencyLimit?: number;
}

const MAX_RETRIES = 5;
const INITIAL_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 5_000;

/** The statuses the OTLP spec says to retry. */
export function retryableStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}

/** Retry-After in ms: delta seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1_000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** One POST: success, a failure, or retryable (with the server's Retry-After when it gave one). */
async function post(url: string, headers: Record<string, string>, body: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers, body: body as Uint8Array<ArrayBuffer>, signal: AbortSignal.timeout(Math.max(1, timeoutMillis)) });
  } catch (err) {
    // Refused, reset or timed out: the collector may be back in a moment.
    return { status: "retryable", error: asError(err) };
  }
  const answer = new Uint8Array(await res.arrayBuffer().catch(() => new ArrayBuffer(0)));
  if (res.ok) return { status: "success", data: answer };
  const error = new Error(`OTLP export answered ${res.status} ${res.statusText}`);
  if (!retryableStatus(res.status)) return { status: "failure", error };
  const retryInMillis = retryAfterMs(res.headers.get("retry-after"));
  return retryInMillis === undefined ? { status: "retryable", error } : { status: "retryable", error, retryInMillis };
}

/** The transport: `fetch`, retried as the spec says within the export's deadline. */
export function createFetchTransport(url: string, extraHeaders: Record<string, string> = {}): IExporterTransport {
  const headers = { ...extraHeaders, "content-type": "application/json" };
  return {
    async send(data, timeoutMillis) {
      const deadline = Date.now() + timeoutMillis;
      let result = await post(url, headers, data, timeoutMillis);
      let backoff = INITIAL_BACKOFF_MS;
      for (let retry = 1; retry <= MAX_RETRIES && result.status === "retryable"; retry++) {
        const wait = result.retryInMillis ?? Math.min(backoff * (0.8 + Math.random() * 0.4), MAX_BACKOFF_MS);
        backoff *= 1.5;
        const left = deadline - Date.now();
        if (wait >= left) break;
        diag.debug(`OTLP export retry ${retry} in ${Math.round(wait)} ms`);
        await Bun.sleep(wait);
        result = await post(url, headers, data, deadline - Date.now());
      }
      return result;
    },
    shutdown() {},
  };
}

/** An OTLP/HTTP JSON export of no spans: what `probeCollector` sends; collectors answer it like any export. */
const EMPTY_EXPORT = new TextEncoder().encode('{"resourceSpans":[]}');

/**
 * Sends the collector an empty export once: undefined when it answered 2xx,
 * else why not. Herald calls it as tracing starts, so an operator learns at
 * start that spans have nowhere to go, and so the process's first `fetch`
 * and `AbortSignal.timeout` (both set up lazily by the runtime) happen
 * before any request is served: made later, they throw the compiled request
 * path away.
 */
export async function probeCollector(url: string, headers: Record<string, string> = {}, timeoutMillis = 5_000): Promise<string | undefined> {
  const answer = await post(url, { ...headers, "content-type": "application/json" }, EMPTY_EXPORT, timeoutMillis);
  return answer.status === "success" ? undefined : (answer.error?.message ?? answer.status);
}

/** The SDK's OTLP/HTTP JSON span exporter with the fetch transport. */
export function createOtlpFetchExporter(opts: OtlpFetchOptions): SpanExporter {
  const metrics = new ExporterMetrics<ReadableSpan[]>({
    componentType: "otlp_http_span_exporter",
    metricsHelper: TraceExporterMetricsHelper,
    url: opts.url,
    meterProvider: undefined,
    responseAttributesFromError: (error) => (error === undefined ? {} : { "error.type": error instanceof Error ? error.name : "error" }),
  });
  const delegate = createOtlpNetworkExportDelegate(
    { timeoutMillis: opts.timeoutMillis ?? 10_000, concurrencyLimit: opts.concurrencyLimit ?? 30, compression: "none" },
    JsonTraceSerializer,
    metrics,
    createFetchTransport(opts.url, opts.headers),
  );
  return new OTLPExporterBase<ReadableSpan[]>(delegate);
}
