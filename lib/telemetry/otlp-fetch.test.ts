import { afterEach, describe, expect, test } from "bun:test";
import { ROOT_CONTEXT, SpanKind } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { freePort } from "../probe.ts";
import { createFetchTransport, createOtlpFetchExporter, probeCollector, retryAfterMs } from "./otlp-fetch.ts";

/** A local collector stand-in that answers each POST with the next scripted response and keeps what it got. */
function collector(answers: Array<() => Response>) {
  const got: Array<{ path: string; contentType: string | null; auth: string | null; body: string }> = [];
  const server = Bun.serve({
    port: 0,
    async fetch(req) {
      got.push({
        path: new URL(req.url).pathname,
        contentType: req.headers.get("content-type"),
        auth: req.headers.get("authorization"),
        body: await req.text(),
      });
      return (answers[got.length - 1] ?? answers.at(-1) ?? (() => new Response("{}")))();
    },
  });
  return { url: `http://127.0.0.1:${server.port}/v1/traces`, got, stop: () => server.stop(true) };
}

let stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const stop of stops) await stop();
  stops = [];
});

async function spans(): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": "herald-gateway" }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  provider
    .getTracer("herald")
    .startSpan("POST /v1/notifications", { kind: SpanKind.SERVER, attributes: { "http.route": "/v1/notifications" } }, ROOT_CONTEXT)
    .end();
  await provider.forceFlush();
  return memory.getFinishedSpans();
}

function exportOnce(exporter: ReturnType<typeof createOtlpFetchExporter>, batch: ReadableSpan[]) {
  return new Promise<{ code: ExportResultCode; error?: Error }>((resolve) => exporter.export(batch, resolve));
}

describe("the OTLP/HTTP fetch exporter", () => {
  test("POSTs the SDK's OTLP JSON to the traces URL with the configured headers", async () => {
    const c = collector([() => Response.json({})]);
    stops.push(c.stop);
    const exporter = createOtlpFetchExporter({ url: c.url, headers: { authorization: "Bearer t0ken" } });
    const result = await exportOnce(exporter, await spans());
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(c.got).toHaveLength(1);
    expect(c.got[0]).toMatchObject({ path: "/v1/traces", contentType: "application/json", auth: "Bearer t0ken" });
    const body = JSON.parse(c.got[0]?.body ?? "{}");
    expect(body.resourceSpans[0].resource.attributes).toContainEqual({ key: "service.name", value: { stringValue: "herald-gateway" } });
    expect(body.resourceSpans[0].scopeSpans[0].spans[0].name).toBe("POST /v1/notifications");
    await exporter.shutdown();
  });

  test("a 503 with Retry-After is retried, and the export succeeds once the collector answers", async () => {
    const c = collector([() => new Response("busy", { status: 503, headers: { "retry-after": "0" } }), () => Response.json({})]);
    stops.push(c.stop);
    const exporter = createOtlpFetchExporter({ url: c.url });
    expect((await exportOnce(exporter, await spans())).code).toBe(ExportResultCode.SUCCESS);
    expect(c.got).toHaveLength(2);
    expect(c.got[1]?.body).toBe(c.got[0]?.body ?? "none");
    await exporter.shutdown();
  });

  test("a 400 fails at once: the same body would be refused again", async () => {
    const c = collector([() => new Response("bad", { status: 400 })]);
    stops.push(c.stop);
    const exporter = createOtlpFetchExporter({ url: c.url });
    const result = await exportOnce(exporter, await spans());
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error?.message).toContain("400");
    expect(c.got).toHaveLength(1);
    await exporter.shutdown();
  });

  test("a collector that is not there is retried until the deadline, then reported", async () => {
    const transport = createFetchTransport(`http://127.0.0.1:${freePort()}/v1/traces`);
    const started = Date.now();
    // The first backoff is ≈1 s (±20%): with 1.5 s left there is one retry, with 0.5 s none.
    const result = await transport.send(new TextEncoder().encode("{}"), 500);
    expect(result.status).toBe("retryable");
    expect(Date.now() - started).toBeLessThan(500);
  });

  test("the start-up probe sends an empty export with the headers, and says why when the collector does not take it", async () => {
    const ok = collector([() => Response.json({})]);
    const refusing = collector([() => new Response("no", { status: 401 })]);
    stops.push(ok.stop, refusing.stop);
    expect(await probeCollector(ok.url, { authorization: "Bearer t0ken" })).toBeUndefined();
    expect(ok.got).toEqual([{ path: "/v1/traces", contentType: "application/json", auth: "Bearer t0ken", body: '{"resourceSpans":[]}' }]);
    expect(await probeCollector(refusing.url)).toContain("401");
    expect(await probeCollector(`http://127.0.0.1:${freePort()}/v1/traces`, {}, 500)).toBeString();
  });

  test("Retry-After is read as seconds or as an HTTP date", () => {
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs("")).toBeUndefined();
    expect(retryAfterMs("2")).toBe(2_000);
    expect(retryAfterMs("Wed, 25 Nov 2026 12:00:10 GMT", Date.parse("Wed, 25 Nov 2026 12:00:00 GMT"))).toBe(10_000);
    expect(retryAfterMs("soon")).toBeUndefined();
  });
});
