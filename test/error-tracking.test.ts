// Error tracking end to end: a Sentry stand-in on loopback that takes the
// envelope protocol, a gateway whose dependency fails, a processor lane whose
// batch throws, and a process that crashes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstream, type Consumer, type JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { createApp } from "../gateway/app.ts";
import { createSentryReporter, parseSentryDsn, type ErrorReporter, type SentryDsn } from "../lib/telemetry/error-reporter.ts";
import { startTracing } from "../lib/telemetry/tracing.ts";
import type { LaneContext } from "../processor/context.ts";
import { runLane } from "../processor/lane.ts";
import { createProcessor } from "../processor/processor.ts";
import type { Resolver } from "../processor/resolver-types.ts";
import { TENANT_KEY } from "./support/constants.ts";
import { eventually } from "./support/eventually.ts";
import { createAppFixture, send, VALID, type AppFixture } from "./support/gateway-fixture.ts";
import { silentLogger } from "./support/loggers.ts";
import { createHarness, DEFAULT_OPTIONS, envelope, testSenders } from "./support/processor-harness.ts";

const PUBLIC_KEY = "f00dcafe1234";
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const EMAIL = "ann.person@example.com";

interface Received {
  header: Record<string, unknown>;
  item: Record<string, unknown>;
  event: Record<string, unknown>;
  raw: string;
}

/** A Sentry stand-in: checks the auth header and the envelope's framing, records each event. */
function sentryStandIn(opts: { delayMs?: number } = {}) {
  const events: Received[] = [];
  const problems: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method !== "POST" || url.pathname !== "/api/7/envelope/") return new Response("not found", { status: 404 });
      const auth = req.headers.get("x-sentry-auth") ?? "";
      if (!auth.startsWith("Sentry sentry_version=7,") || !auth.includes(`sentry_key=${PUBLIC_KEY}`) || !/sentry_client=herald\/\S+/.test(auth)) {
        problems.push(`bad auth: ${auth}`);
        return new Response("bad auth", { status: 401 });
      }
      const raw = await req.text();
      if (opts.delayMs) await Bun.sleep(opts.delayMs);
      const [headerLine = "", itemLine = "", ...rest] = raw.split("\n");
      const payload = rest.join("\n").replace(/\n$/, "");
      const item = JSON.parse(itemLine) as Record<string, unknown>;
      if (typeof item.length === "number" && new TextEncoder().encode(payload).length !== item.length) {
        problems.push("item length differs from the payload");
        return new Response("bad length", { status: 400 });
      }
      const header = JSON.parse(headerLine) as Record<string, unknown>;
      const event = JSON.parse(payload) as Record<string, unknown>;
      if (item.type !== "event" || header.event_id !== event.event_id) problems.push("envelope and event disagree");
      events.push({ header, item, event, raw });
      return Response.json({ id: event.event_id });
    },
  });
  const dsn = `http://${PUBLIC_KEY}@127.0.0.1:${server.port}/7`;
  return { server, events, problems, dsn, parsed: parseSentryDsn(dsn) as SentryDsn };
}

function reporterFor(dsn: SentryDsn, service: string, timeoutMs?: number): ErrorReporter {
  return createSentryReporter({
    dsn,
    version: "0.1.0",
    release: "herald@0.1.0",
    environment: "test",
    serverName: "test-host",
    service,
    ...(timeoutMs ? { timeoutMs } : {}),
  });
}

/** Waits until the stand-in holds `n` events. */
const arrived = (n: number) => eventually(async () => sentry.events.length >= n, { timeoutMs: 5_000, label: `${n} events` });

let f: AppFixture;
const sentry = sentryStandIn();
beforeAll(async () => {
  f = await createAppFixture();
});
afterAll(async () => {
  await f.cleanup();
  await sentry.server.stop(true);
});

/** A dependency that fails the way a bug does, with the request's personal data in its message. */
const failingHash = () => {
  throw new Error(`could not hash the body of ${EMAIL} (Authorization: Bearer ${TENANT_KEY})`);
};

describe("the gateway", () => {
  test("reports a 500 with the trace and request ids, without the body's email or the bearer key", async () => {
    const before = sentry.events.length;
    const app = createApp({ ...f.deps, hashBody: failingHash, errorReporter: reporterFor(sentry.parsed, "all") });
    const body = { ...VALID.email, payload: { ...VALID.email.payload, to: EMAIL } };
    const res = await send(app, "/v1/notifications", { body, headers: { "idempotency-key": "sentry-1", traceparent: TRACEPARENT, cookie: "session=abc" } });
    expect(res.status).toBe(500);
    const requestId = res.headers.get("x-request-id");
    await arrived(before + 1);
    const got = sentry.events[before];
    if (!got) throw new Error("no event");
    expect(sentry.problems).toEqual([]);
    expect(got.event).toMatchObject({
      level: "error",
      platform: "node",
      release: "herald@0.1.0",
      environment: "test",
      server_name: "test-host",
      tags: { service: "gateway", route: "/v1/notifications", method: "POST", trace_id: TRACE_ID, request_id: requestId },
      contexts: { trace: { trace_id: TRACE_ID } },
    });
    expect(got.event.event_id).toMatch(/^[0-9a-f]{32}$/);
    const [exception] = (got.event.exception as { values: { type: string; value: string; stacktrace?: { frames: unknown[] } }[] }).values;
    expect(exception?.type).toBe("Error");
    expect(exception?.stacktrace?.frames.length).toBeGreaterThan(0);
    expect(got.raw).not.toContain(EMAIL);
    expect(got.raw).not.toContain(TENANT_KEY);
    expect(got.raw).not.toContain("session=abc");
    expect(got.raw.toLowerCase()).not.toContain('authorization":');
  });

  test("with tracing on, a 500 started without a traceparent reports its server span's trace and span ids", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ serviceName: "herald-gateway", exporter, global: false });
    try {
      const before = sentry.events.length;
      const app = createApp({ ...f.deps, hashBody: failingHash, tracer: tracing.tracer, errorReporter: reporterFor(sentry.parsed, "gateway") });
      expect((await send(app, "/v1/notifications", { body: VALID.email, headers: { "idempotency-key": "traced-1" } })).status).toBe(500);
      await tracing.flush();
      const server = exporter.getFinishedSpans().find((s) => s.name === "POST /v1/notifications");
      if (!server) throw new Error("no server span");
      await arrived(before + 1);
      expect(sentry.events[before]?.event).toMatchObject({
        contexts: { trace: { trace_id: server.spanContext().traceId, span_id: server.spanContext().spanId } },
      });
    } finally {
      await tracing.shutdown();
    }
  });

  test("reports no 4xx", async () => {
    const before = sentry.events.length;
    const app = createApp({ ...f.deps, errorReporter: reporterFor(sentry.parsed, "gateway") });
    expect((await send(app, "/v1/notifications", { body: { channel: "nope" } })).status).toBe(400);
    expect((await send(app, "/v1/notifications", { key: "wrong-key" })).status).toBe(401);
    await Bun.sleep(100);
    expect(sentry.events.length).toBe(before);
  });

  test("an unreachable or slow Sentry never delays a request", async () => {
    const slow = sentryStandIn({ delayMs: 5_000 });
    // A port that was listening and is now closed: connections are refused.
    const gone = sentryStandIn();
    const goneDsn = gone.parsed;
    await gone.server.stop(true);
    try {
      for (const dsn of [slow.parsed, goneDsn]) {
        const app = createApp({ ...f.deps, hashBody: failingHash, errorReporter: reporterFor(dsn, "gateway", 1_000) });
        const started = performance.now();
        for (let i = 0; i < 50; i++) {
          const res = await send(app, "/v1/notifications", { body: VALID.email, headers: { "idempotency-key": `slow-${i}` } });
          expect(res.status).toBe(500);
        }
        // Fifty 500s in process take a few ms each; a send waited on would take a second or five.
        expect(performance.now() - started).toBeLessThan(900);
      }
    } finally {
      await slow.server.stop(true);
    }
  });

  test("without SENTRY_DSN nothing is sent", async () => {
    // bin/config-telemetry.test.ts: no SENTRY_DSN gives the no-op reporter, which is the default here.
    const before = sentry.events.length;
    const defaulted = createApp({ ...f.deps, hashBody: failingHash });
    expect((await send(defaulted, "/v1/notifications", { body: VALID.email, headers: { "idempotency-key": "no-dsn-2" } })).status).toBe(500);
    await Bun.sleep(100);
    expect(sentry.events.length).toBe(before);
  });
});

/** A JetStream message as a lane sees it, carrying `traceparent`. */
function message(data: unknown, settled: string[]): JsMsg {
  const h = natsHeaders();
  h.set("traceparent", TRACEPARENT);
  const text = JSON.stringify(data);
  return {
    headers: h,
    subject: "test.work",
    redelivered: false,
    info: { redeliveryCount: 1 },
    string: () => text,
    json: () => JSON.parse(text) as unknown,
    ack: () => void settled.push("ack"),
    nak: () => void settled.push("nak"),
    term: () => void settled.push("term"),
    working: () => undefined,
  } as unknown as JsMsg;
}

describe("the processor", () => {
  test("a running processor reports a batch its resolver broke, with the trace id the message carried", async () => {
    const h = await createHarness();
    // A resolver bug: it answers null where a map of recipients is due, so the batch throws a TypeError.
    const resolver = { recipients: async () => null, optedIn: async () => new Map(), render: async () => ({}) } as unknown as Resolver;
    const processor = createProcessor({
      nc: h.nc,
      db: h.db.db,
      sql: h.db.sql,
      topology: h.topo,
      senders: testSenders(),
      logger: silentLogger,
      options: DEFAULT_OPTIONS,
      resolver,
      errorReporter: reporterFor(sentry.parsed, "all"),
    });
    try {
      const before = sentry.events.length;
      await processor.start();
      const e = envelope({ channel: "email", payload: { to: EMAIL, subject: "Hi", body: "Hello" } });
      const hdrs = natsHeaders();
      hdrs.set("traceparent", TRACEPARENT);
      await jetstream(h.nc).publish(h.topo.sendSubject(e.priority, e.channel), JSON.stringify(e), { msgID: e.id, headers: hdrs });
      await arrived(before + 1);
      const got = sentry.events[before];
      if (!got) throw new Error("no event");
      expect(got.event).toMatchObject({
        level: "error",
        tags: { service: "processor", lane: "normal", trace_id: TRACE_ID, request_id: "corr-1" },
        contexts: { trace: { trace_id: TRACE_ID } },
      });
      expect((got.event.exception as { values: { type: string }[] }).values[0]?.type).toBe("TypeError");
      expect(got.raw).not.toContain(EMAIL);
      expect(got.raw).not.toContain("Hello");
    } finally {
      await processor.stop();
      await h.cleanup();
    }
  });

  test("reports a batch that threw with the message's trace id and none of its payload", async () => {
    const before = sentry.events.length;
    const settled: string[] = [];
    const e = envelope({ channel: "email", payload: { to: EMAIL, subject: "Hi", body: "Hello" } });
    let pulls = 0;
    const consumer = {
      fetch: async () => {
        pulls++;
        const msgs = [message(e, settled)];
        return Object.assign(
          (async function* () {
            yield* msgs;
          })(),
          { getPending: () => 0 },
        );
      },
    } as unknown as Consumer;
    // A bug in the batch path: the first lookup of the batch throws, naming the recipient.
    const busy = new Set<string>();
    busy.has = () => {
      throw new TypeError(`cannot read the claim of ${EMAIL}`);
    };
    const ctx = { priority: "normal", log: silentLogger, tracer: undefined, busy, errors: reporterFor(sentry.parsed, "processor") } as unknown as LaneContext;
    await runLane(ctx, consumer, { batchSize: 8, ackWaitMs: 30_000, maxInFlight: 64, stopping: () => pulls > 0 });
    expect(settled).toEqual(["nak"]);
    await arrived(before + 1);
    const got = sentry.events[before];
    if (!got) throw new Error("no event");
    expect(got.event).toMatchObject({
      level: "error",
      tags: { service: "processor", lane: "normal", size: "1", trace_id: TRACE_ID, request_id: "corr-1" },
      contexts: { trace: { trace_id: TRACE_ID } },
    });
    expect((got.event.exception as { values: { type: string }[] }).values[0]?.type).toBe("TypeError");
    expect(got.raw).not.toContain(EMAIL);
    expect(got.raw).not.toContain("Hello");
  });
});

/** Runs a process through bin/lifecycle.ts whose work throws outside any handler; resolves to its exit code. */
async function crashingProcess(env: Record<string, string>): Promise<number | "timeout"> {
  const script = `
    import { runProcess } from ${JSON.stringify(new URL("../bin/lifecycle.ts", import.meta.url).pathname)};
    import { parseConfig } from ${JSON.stringify(new URL("../schemas/config.ts", import.meta.url).pathname)};
    const cfg = parseConfig({ ...${JSON.stringify(env)}, LOG_LEVEL: "silent" });
    await runProcess(cfg, "herald-processor", async () => {
      setTimeout(() => { throw new Error("the loop broke for ${EMAIL}"); }, 20);
    }, true);
  `;
  const proc = Bun.spawn([process.execPath, "-e", script], { stdout: "ignore", stderr: "ignore" });
  const exited = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => "timeout" as const)]);
  if (exited === "timeout") proc.kill();
  return exited;
}

describe("a process", () => {
  test("without SENTRY_DSN crashes as before and sends nothing", async () => {
    const before = sentry.events.length;
    expect(await crashingProcess({})).toBe(1);
    await Bun.sleep(100);
    expect(sentry.events.length).toBe(before);
  });

  test("reports an uncaught exception, then exits 1", async () => {
    const before = sentry.events.length;
    expect(await crashingProcess({ SENTRY_DSN: sentry.dsn })).toBe(1);
    await arrived(before + 1);
    const got = sentry.events[before];
    expect(got?.event).toMatchObject({ level: "fatal", tags: { service: "processor", kind: "uncaughtException" } });
    expect(got?.raw).not.toContain(EMAIL);
  });
});
