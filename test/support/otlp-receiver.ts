/** A loopback collector for tests: keeps each span posted as OTLP/HTTP JSON to `/v1/traces`, with its resource's service name. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpTraces {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: Array<{ spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: OtlpAttribute[] }> }>;
  }>;
}

function plain(attrs: OtlpAttribute[] | undefined): Record<string, unknown> {
  return Object.fromEntries((attrs ?? []).map((a) => [a.key, a.value.stringValue ?? a.value.intValue ?? a.value.boolValue ?? a.value.doubleValue]));
}

export interface OtlpReceiver {
  /** Base URL to pass as the OTLP endpoint. */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Content types of the export requests seen. */
  readonly contentTypes: string[];
  /** How many distinct trace ids the spans received so far carry. */
  traceCount(): number;
  /** Resolves once `n` spans arrived (or rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  stop(): Promise<void>;
}

export function startOtlpReceiver(): OtlpReceiver {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  // Parsed only when `spans` is read: in the bench this process shares the cores of the gateway it measures.
  const unparsed: string[] = [];

  function parsed(): ReceivedSpan[] {
    for (const text of unparsed.splice(0)) {
      const body = JSON.parse(text) as OtlpTraces;
      for (const rs of body.resourceSpans ?? []) {
        const service = String(plain(rs.resource?.attributes)["service.name"] ?? "");
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              service,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? "",
              name: s.name,
              kind: s.kind,
              attributes: plain(s.attributes),
            });
          }
        }
      }
    }
    return spans;
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    routes: {
      "/v1/traces": {
        POST: async (req) => {
          contentTypes.push(req.headers.get("content-type") ?? "");
          unparsed.push(await req.text());
          return Response.json({});
        },
      },
    },
    fetch: () => new Response("not found", { status: 404 }),
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    get spans() {
      return parsed();
    },
    contentTypes,
    traceCount: () => new Set(parsed().map((s) => s.traceId)).size,
    async waitFor(n, timeoutMs = 5_000) {
      const until = Date.now() + timeoutMs;
      while (parsed().length < n) {
        if (Date.now() > until) throw new Error(`received ${spans.length} spans, wanted ${n}`);
        await Bun.sleep(10);
      }
      return spans;
    },
    stop: () => server.stop(true),
  };
}
