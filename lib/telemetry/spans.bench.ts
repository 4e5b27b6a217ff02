// What the gateway's tracing code costs per request by itself, outside the
// gateway (no HTTP, Redis or NATS): the edge's sampling decision, the server
// span, the idempotency and publish spans (maybeSpan / inSpan) and the
// traceparent written into a publish's headers, 64 requests at a time, with
// the SDK's batch processor and a no-op exporter.
// Run: flock -x /tmp/herald-cpu.lock bun lib/telemetry/spans.bench.ts [ratio ...]
import { ROOT_CONTEXT, SpanKind, type Context, type Span } from "@opentelemetry/api";
import { PublishHeaders } from "../nats/publish-headers.ts";
import { injectTraceContext } from "./nats-context.ts";
import { EDGE_SAMPLED, inSpan, keepNewTrace, maybeSpan, notSampled, sampledParent, withSpan } from "./spans.ts";
import { startTracing } from "./tracing.ts";

const ratios = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [0, 0.1, 1];
const REQUESTS = 100_000;
const EDGE_KEPT = ROOT_CONTEXT.setValue(EDGE_SAMPLED, true);

for (const ratio of ratios) {
  const tracing = startTracing({ serviceName: "bench", global: true, exporter: { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} } });
  const tracer = tracing.tracer;
  const publish = async (ctx: Context) => {
    const h = new PublishHeaders();
    h.set("Nats-Msg-Id", "acme:key");
    injectTraceContext(ctx, h);
    return h.encode().length;
  };
  const request = async () => {
    let span: Span | undefined;
    let ctx: Context;
    if (keepNewTrace(ratio)) {
      span = tracer.startSpan("POST", { kind: SpanKind.SERVER, attributes: { "http.request.method": "POST" } }, EDGE_KEPT);
      ctx = withSpan(EDGE_KEPT, span);
    } else ctx = notSampled();
    await maybeSpan(tracer, "idempotency.check", { parent: ctx }, async () => null);
    if (sampledParent(ctx)) await inSpan(tracer, "jetstream.publish", { kind: SpanKind.PRODUCER, parent: ctx }, (_s, child) => publish(child));
    else await publish(ctx);
    if (span) {
      span.updateName("POST /v1/notifications");
      span.setAttribute("http.route", "/v1/notifications");
      span.setAttribute("http.response.status_code", 202);
      span.end();
    }
  };
  const figures: string[] = [];
  for (let round = 0; round < 6; round++) {
    const started = performance.now();
    for (let i = 0; i < REQUESTS; i += 64) await Promise.all(Array.from({ length: 64 }, request));
    if (round >= 2) figures.push((((performance.now() - started) * 1000) / REQUESTS).toFixed(2)); // the first two rounds warm up
  }
  console.log(`ratio ${ratio}: ${figures.join(", ")} µs per request (4 rounds of ${REQUESTS.toLocaleString("en-US")})`);
  await tracing.shutdown();
}
