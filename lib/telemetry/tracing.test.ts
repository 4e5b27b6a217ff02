import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { createContextKey, ROOT_CONTEXT, trace, TraceFlags } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan, type SpanProcessor } from "@opentelemetry/sdk-trace";
import { ensureStreams } from "../nats/streams.ts";
import { connectTestNats, deleteNamespaceStreams, testNamespace, topology } from "../../test/support/services.ts";
import { extractTraceContext, injectTraceContext } from "./nats-context.ts";
import { startOtlpReceiver, type OtlpReceiver } from "../../test/support/otlp-receiver.ts";
import { HandOffSpanProcessor, inSpan, maybeSpan, SpanKind, SPANS, startTracing, tracesUrl, TracingShutdownTimeout } from "./tracing.ts";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { EDGE_SAMPLED, keepNewTrace, notSampled, randomHex, sampledParent, traceparentOf, withSpan } from "./spans.ts";

let receiver: OtlpReceiver;
beforeAll(() => {
  receiver = startOtlpReceiver();
});
afterAll(async () => {
  await receiver.stop();
});

describe("HandOffSpanProcessor", () => {
  test("passes ended spans on after the turn that ended them, in order, and at once on flush and shutdown", async () => {
    const got: string[] = [];
    let flushed = 0;
    const next: SpanProcessor = {
      onStart() {},
      onEnd: (span) => void got.push(span.name),
      forceFlush: async () => void flushed++,
      shutdown: async () => {},
    };
    const handOff = new HandOffSpanProcessor(next);
    const memory = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
    const tracer = provider.getTracer("t");
    const ended = (name: string) => {
      const span = tracer.startSpan(name, {}, ROOT_CONTEXT);
      span.end();
      return memory.getFinishedSpans().at(-1) as ReadableSpan;
    };
    handOff.onEnd(ended("a"));
    handOff.onEnd(ended("b"));
    expect(got).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(got).toEqual(["a", "b"]);
    handOff.onEnd(ended("c"));
    await handOff.forceFlush();
    expect(got).toEqual(["a", "b", "c"]);
    expect(flushed).toBe(1);
    handOff.onEnd(ended("d"));
    await handOff.shutdown();
    expect(got).toEqual(["a", "b", "c", "d"]);
    await provider.shutdown();
  });
});

describe("startTracing", () => {
  test("without an endpoint tracing stays off: spans are no-ops and no trace header is written", async () => {
    const tracing = startTracing({ serviceName: "herald-gateway" });
    expect(tracing.enabled).toBe(false);
    const { seen, ctx } = await inSpan(tracing.tracer, SPANS.publish, {}, async (span, ctx) => ({ seen: span.isRecording(), ctx }));
    expect(seen).toBe(false);
    expect(injectTraceContext(ctx).has("traceparent")).toBe(false);
  });

  test("exports spans over OTLP/HTTP JSON to <endpoint>/v1/traces with the service name", async () => {
    expect(tracesUrl("http://collector:4318/")).toBe("http://collector:4318/v1/traces");
    const tracing = startTracing({ serviceName: "herald-gateway", endpoint: receiver.url, sampleRatio: 1, global: false, scheduledDelayMillis: 20 });
    const before = receiver.spans.length;
    await inSpan(tracing.tracer, "POST /v1/notifications", { kind: SpanKind.SERVER, attributes: { "http.route": "/v1/notifications" } }, async () => {});
    await expect(inSpan(tracing.tracer, SPANS.idempotency, {}, () => Promise.reject(new Error("redis down")))).rejects.toThrow("redis down");
    await tracing.shutdown();
    const got = (await receiver.waitFor(before + 2)).slice(before);
    expect(got.map((s) => s.name).sort()).toEqual(["POST /v1/notifications", SPANS.idempotency].sort());
    expect(got.every((s) => s.service === "herald-gateway")).toBe(true);
    expect(got.find((s) => s.name === "POST /v1/notifications")?.attributes["http.route"]).toBe("/v1/notifications");
    expect(receiver.contentTypes.at(-1)).toContain("application/json");
  });

  test("shutdown with the collector down gives the last spans up after shutdownTimeoutMillis, not the export's 10-s deadline, and still removes its globals", async () => {
    // A collector that is there but answers 503, retryable by the spec: the export would back off and retry for ≈7 s.
    let posts = 0;
    const down = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => {
        posts++;
        return new Response("unavailable", { status: 503 });
      },
    });
    try {
      const tracing = startTracing({ serviceName: "herald-gateway", endpoint: down.url.href, sampleRatio: 1, shutdownTimeoutMillis: 300 });
      await inSpan(tracing.tracer, SPANS.publish, {}, async () => {});
      const started = performance.now();
      const stopped = await tracing.shutdown().then(
        () => undefined,
        (err: unknown) => err,
      );
      const took = performance.now() - started;
      expect(stopped).toBeInstanceOf(TracingShutdownTimeout);
      expect(String(stopped)).toContain("300 ms");
      expect(posts).toBeGreaterThanOrEqual(1);
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(1_500);
      // The globals went all the same: spans made now are no-ops, as with tracing off.
      expect(trace.getTracer("after").startSpan("x").isRecording()).toBe(false);
    } finally {
      await down.stop(true);
    }
  });

  test("ratio 0 drops new traces but keeps a trace whose remote parent was sampled (parent-based)", async () => {
    const tracing = startTracing({ serviceName: "herald-processor", endpoint: receiver.url, sampleRatio: 0, global: false, scheduledDelayMillis: 20 });
    const before = receiver.spans.length;
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    const unsampledParent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: "5bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "10f067aa0ba902b7",
      traceFlags: TraceFlags.NONE,
      isRemote: true,
    });
    await inSpan(tracing.tracer, "root, not sampled", {}, async () => {});
    await inSpan(tracing.tracer, SPANS.consume, { parent }, async () => {});
    await inSpan(tracing.tracer, "child of unsampled", { parent: unsampledParent }, async () => {});
    await tracing.shutdown();
    const got = (await receiver.waitFor(before + 1)).slice(before);
    expect(got.map((s) => s.name)).toEqual([SPANS.consume]);
    expect(got[0]?.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(got[0]?.parentSpanId).toBe("00f067aa0ba902b7");
  });

  test("a ratio keeps about that share of new traces", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ serviceName: "herald-gateway", exporter, sampleRatio: 0.25, global: false });
    for (let i = 0; i < 2000; i++) tracing.tracer.startSpan("request").end();
    await tracing.flush();
    const kept = exporter.getFinishedSpans().length;
    await tracing.shutdown();
    expect(kept).toBeGreaterThan(350);
    expect(kept).toBeLessThan(650);
  });
});

describe("trace context through NATS", () => {
  const topo = topology(testNamespace());
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connectTestNats();
    await ensureStreams(nc, topo, { duplicateWindowMs: 60_000, ackWaitMs: 30_000, maxAckPending: 100 });
  });
  afterAll(async () => {
    await deleteNamespaceStreams(nc, topo);
    await nc.close();
  });

  test("the processor's spans continue the gateway's trace across a real JetStream publish and fetch", async () => {
    // Two services in one test process: the gateway's tracing is the global one, the processor's a provider of its own.
    const gateway = startTracing({ serviceName: "herald-gateway", endpoint: receiver.url, sampleRatio: 1, scheduledDelayMillis: 20 });
    const processor = startTracing({ serviceName: "herald-processor", endpoint: receiver.url, sampleRatio: 1, global: false, scheduledDelayMillis: 20 });
    const before = receiver.spans.length;
    const js = jetstream(nc);
    const subject = topo.sendSubject("high", "email");

    await inSpan(gateway.tracer, "POST /v1/notifications", { kind: SpanKind.SERVER }, (_server, request) =>
      inSpan(gateway.tracer, SPANS.publish, { kind: SpanKind.PRODUCER, parent: request }, async (_publish, ctx) => {
        await js.publish(subject, JSON.stringify({ id: "n-1" }), { headers: injectTraceContext(ctx) });
      }),
    );

    const consumer = await js.consumers.get(topo.streams.work, topo.laneConsumer("high"));
    const msg = await consumer.next({ expires: 5_000 });
    expect(msg).not.toBeNull();
    expect(msg?.headers?.get("traceparent")).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await inSpan(processor.tracer, SPANS.consume, { kind: SpanKind.CONSUMER, parent: extractTraceContext(msg?.headers) }, (_consume, ctx) =>
      inSpan(processor.tracer, SPANS.provider, { kind: SpanKind.CLIENT, parent: ctx }, async () => {
        msg?.ack();
      }),
    );

    await Promise.all([gateway.shutdown(), processor.shutdown()]);
    const got = (await receiver.waitFor(before + 4)).slice(before);
    const byName = Object.fromEntries(got.map((s) => [s.name, s]));
    const server = byName["POST /v1/notifications"];
    const publish = byName[SPANS.publish];
    const consume = byName[SPANS.consume];
    const provider = byName[SPANS.provider];
    expect(new Set(got.map((s) => s.traceId)).size).toBe(1);
    expect(server?.service).toBe("herald-gateway");
    expect(consume?.service).toBe("herald-processor");
    expect(publish?.parentSpanId).toBe(server?.spanId ?? "none");
    expect(consume?.parentSpanId).toBe(publish?.spanId ?? "none");
    expect(provider?.parentSpanId).toBe(consume?.spanId ?? "none");
    expect(server?.parentSpanId).toBe("");
  });

  test("a message without trace headers starts a new trace", () => {
    expect(trace.getSpanContext(extractTraceContext(undefined))).toBeUndefined();
  });
});

describe("the edge's sampling decision", () => {
  test("a new trace the edge kept is recorded even at ratio 0; other new traces follow the ratio", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ serviceName: "herald-gateway", exporter, sampleRatio: 0, global: false });
    await inSpan(tracing.tracer, "kept at the edge", { parent: ROOT_CONTEXT.setValue(EDGE_SAMPLED, true) }, async () => {});
    await inSpan(tracing.tracer, "left to the ratio", {}, async () => {});
    await tracing.flush();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(["kept at the edge"]);
    await tracing.shutdown();
  });

  test("a dropped trace's context is valid, not sampled, and fresh every time", () => {
    const a = trace.getSpanContext(notSampled());
    const b = trace.getSpanContext(notSampled());
    expect(a?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(a?.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(a?.traceFlags).toBe(TraceFlags.NONE);
    expect(a?.traceId).not.toBe(b?.traceId);
    expect(a?.spanId).not.toBe(b?.spanId);
    expect(keepNewTrace(1)).toBe(true);
    expect(keepNewTrace(0)).toBe(false);
    const kept = Array.from({ length: 10_000 }, () => keepNewTrace(0.1)).filter(Boolean).length;
    expect(kept).toBeGreaterThan(800);
    expect(kept).toBeLessThan(1_200);
  });

  test("a dropped trace's context behaves as the API's contexts do: its span is found, kept by setValue, removed by deleteValue", () => {
    const key = createContextKey("test key");
    const ctx = notSampled();
    const span = trace.getSpan(ctx);
    expect(span?.isRecording()).toBe(false);
    expect(ctx.getValue(key)).toBeUndefined();
    const derived = ctx.setValue(key, "value");
    expect(derived.getValue(key)).toBe("value");
    expect(trace.getSpan(derived)).toBe(span);
    expect(traceparentOf(derived)).toBe(traceparentOf(ctx));
    expect(trace.getSpan(ctx.deleteValue(key))).toBe(span);
    expect(trace.getSpan(trace.deleteSpan(ctx))).toBeUndefined();
    expect(sampledParent(ctx)).toBe(false);
    expect(sampledParent(derived)).toBe(false);
  });

  test("withSpan answers as trace.setSpan's context does, for the span and for every other key", () => {
    const key = createContextKey("test key");
    const other = createContextKey("other key");
    const span = trace.wrapSpanContext({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: TraceFlags.SAMPLED });
    const next = trace.wrapSpanContext({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "10f067aa0ba902b7", traceFlags: TraceFlags.SAMPLED });
    const parent = ROOT_CONTEXT.setValue(key, "parent's");
    for (const ctx of [withSpan(parent, span), trace.setSpan(parent, span)]) {
      expect(trace.getSpan(ctx)).toBe(span);
      expect(ctx.getValue(key)).toBe("parent's");
      expect(ctx.getValue(other)).toBeUndefined();
      const derived = ctx.setValue(other, 1);
      expect([trace.getSpan(derived), derived.getValue(key), derived.getValue(other)]).toEqual([span, "parent's", 1]);
      expect(trace.getSpan(trace.setSpan(ctx, next))).toBe(next);
      expect(trace.getSpan(trace.deleteSpan(ctx))).toBeUndefined();
      expect(trace.deleteSpan(ctx).getValue(key)).toBe("parent's");
      expect(ctx.deleteValue(key).getValue(key)).toBeUndefined();
      expect(trace.getSpan(ctx.deleteValue(key))).toBe(span);
      expect(ctx.getValue(other)).toBeUndefined();
    }
  });

  test("a dropped trace's ready-made traceparent is what the W3C propagator writes for it", () => {
    const propagator = new W3CTraceContextPropagator();
    for (let i = 0; i < 300; i++) {
      // 300 × 24 bytes: past the end of the 6 KiB random pool, so a refill is covered too.
      const ctx = notSampled();
      const carrier: Record<string, string> = {};
      propagator.inject(ctx, carrier, { set: (c, k, v) => (c[k] = v) });
      expect(traceparentOf(ctx)).toBe(carrier.traceparent ?? "missing");
    }
    expect(traceparentOf(ROOT_CONTEXT)).toBeUndefined();
    expect(randomHex(8)).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("maybeSpan", () => {
  test("makes a child of a sampled span, none under a dropped one or without a tracer, and hands fn the context to go on with", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ serviceName: "herald-gateway", exporter, sampleRatio: 1, global: false });
    const sampled = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    const dropped = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: "5bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "10f067aa0ba902b7",
      traceFlags: TraceFlags.NONE,
      isRemote: true,
    });
    const child = await maybeSpan(tracing.tracer, SPANS.publish, { parent: sampled }, async (ctx) => ctx);
    // Under a dropped parent, and without a tracer, fn gets the parent itself: its flag still goes into the headers.
    expect(await maybeSpan(tracing.tracer, SPANS.publish, { parent: dropped }, async (ctx) => ctx)).toBe(dropped);
    expect(await maybeSpan(undefined, SPANS.publish, { parent: dropped }, async (ctx) => ctx)).toBe(dropped);
    await tracing.flush();
    const [span] = exporter.getFinishedSpans();
    expect(exporter.getFinishedSpans()).toHaveLength(1);
    expect(span?.spanContext().traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    // fn got the new span's context, to parent what it does next.
    expect(trace.getSpanContext(child)?.spanId).toBe(span?.spanContext().spanId ?? "none");
    await tracing.shutdown();
  });
});
