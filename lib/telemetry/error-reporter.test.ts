import { describe, expect, test } from "bun:test";
import { ConfigSchema } from "../../schemas/config.ts";
import {
  createSentryReporter,
  NOOP_ERROR_REPORTER,
  parseSentryDsn,
  safeHeaders,
  scrub,
  sentryEnvelope,
  sentryEvent,
  stackFrames,
  type SentryDsn,
} from "./error-reporter.ts";

const DSN = parseSentryDsn("https://abc123@o1.ingest.sentry.io/42") as SentryDsn;
const EVENT_OPTS = { release: "herald@0.1.0", environment: "test", service: "gateway" };

describe("parseSentryDsn", () => {
  test("derives the envelope endpoint and the public key", () => {
    expect(DSN).toMatchObject({
      origin: "https://o1.ingest.sentry.io",
      publicKey: "abc123",
      projectId: "42",
      envelopeUrl: "https://o1.ingest.sentry.io/api/42/envelope/",
    });
    expect(parseSentryDsn("http://k@127.0.0.1:9000/relay/7")).toMatchObject({ envelopeUrl: "http://127.0.0.1:9000/relay/api/7/envelope/" });
  });

  test("refuses what is not a DSN, and agrees with the config schema on each", () => {
    const good = ["https://abc@sentry.example.com/1", "http://abc@localhost:8000/12", "https://abc@h:9443/p/3"];
    const bad = [
      "not a url",
      "https://sentry.example.com/1",
      "http://abc@sentry.example.com/1",
      "https://abc@h/x",
      "https://abc:secret@h/1",
      "https://abc@h/1?x=1",
      "https://abc@h:99999/1",
    ];
    for (const dsn of good) {
      expect(typeof parseSentryDsn(dsn)).toBe("object");
      expect(ConfigSchema.safeParse({ SENTRY_DSN: dsn }).success).toBe(true);
    }
    for (const dsn of bad) {
      expect(typeof parseSentryDsn(dsn)).toBe("string");
      expect(ConfigSchema.safeParse({ SENTRY_DSN: dsn }).success).toBe(false);
    }
    expect(ConfigSchema.parse({ SENTRY_DSN: "" }).SENTRY_DSN).toBeUndefined();
  });
});

describe("scrub and safeHeaders", () => {
  test("replaces email addresses, phone numbers, bearer credentials and API keys", () => {
    const text = scrub("send to ann@example.com / +1 415 555 0100 failed, Authorization: Bearer s3cr3t-t0ken, key hk_live_AbCdEfGh12345678");
    expect(text).not.toContain("ann@example.com");
    expect(text).not.toContain("555");
    expect(text).not.toContain("s3cr3t");
    expect(text).not.toContain("AbCdEfGh");
    expect(text).toContain("[email]");
  });

  test("keeps only the safe headers", () => {
    const h = new Headers({ authorization: "Bearer k", cookie: "a=b", "user-agent": "curl/8", "x-request-id": "r-1" });
    expect(safeHeaders((n) => h.get(n))).toEqual({ "user-agent": "curl/8", "x-request-id": "r-1" });
  });
});

describe("sentryEvent and sentryEnvelope", () => {
  test("an event carries the exception chain, oldest frame first, the trace and the tags", () => {
    const cause = new TypeError("root for bob@example.com");
    const event = sentryEvent(
      new Error("outer", { cause }),
      { traceId: "a".repeat(32), spanId: "b".repeat(16), requestId: "r-1", tags: { route: "/v1/x" } },
      EVENT_OPTS,
      "f".repeat(32),
    );
    expect(event).toMatchObject({
      event_id: "f".repeat(32),
      level: "error",
      platform: "node",
      release: "herald@0.1.0",
      tags: { service: "gateway", route: "/v1/x", request_id: "r-1", trace_id: "a".repeat(32) },
      contexts: { trace: { trace_id: "a".repeat(32), span_id: "b".repeat(16) } },
    });
    const values = (event.exception as { values: { type: string; value: string }[] }).values;
    expect(values.map((v) => v.type)).toEqual(["TypeError", "Error"]);
    expect(JSON.stringify(event)).not.toContain("bob@example.com");
  });

  test("stack frames are read oldest first", () => {
    const frames = stackFrames("Error: x\n    at inner (/app/a.ts:1:2)\n    at /app/b.ts:3:4\nouter@/app/c.ts:5:6");
    expect(frames.map((f) => f.filename)).toEqual(["/app/c.ts", "/app/b.ts", "/app/a.ts"]);
    expect(frames[2]).toMatchObject({ function: "inner", lineno: 1, colno: 2 });
  });

  test("the envelope is three lines, the item header giving the payload's byte length", () => {
    const event = sentryEvent(new Error("ü"), {}, EVENT_OPTS, "e".repeat(32));
    const [header = "", item = "", payload = ""] = sentryEnvelope(event, DSN.dsn).split("\n");
    expect(JSON.parse(header)).toMatchObject({ event_id: "e".repeat(32), dsn: DSN.dsn });
    expect(JSON.parse(item)).toMatchObject({ type: "event", length: new TextEncoder().encode(payload).length });
    expect(JSON.parse(payload)).toMatchObject({ event_id: "e".repeat(32) });
  });
});

describe("createSentryReporter", () => {
  test("posts with the auth header, one report at a time", async () => {
    const seen: { url: string; auth: string | null }[] = [];
    const reporter = createSentryReporter({
      ...EVENT_OPTS,
      dsn: DSN,
      version: "0.1.0",
      fetch: (async (url: string, init: RequestInit) => {
        seen.push({ url, auth: new Headers(init.headers).get("x-sentry-auth") });
        return new Response("{}");
      }) as unknown as typeof fetch,
    });
    reporter.report(new Error("a"));
    reporter.report(new Error("b"));
    await reporter.flush();
    expect(seen).toHaveLength(2);
    expect(seen[0]).toEqual({ url: DSN.envelopeUrl, auth: "Sentry sentry_version=7, sentry_key=abc123, sentry_client=herald/0.1.0" });
  });

  test("drops reports past the queue, gives each send its deadline, and flush waits no longer than asked", async () => {
    const reasons: string[] = [];
    const hang = ((_url: string, init: RequestInit) =>
      new Promise((_, reject) => init.signal?.addEventListener("abort", () => reject(new Error("timed out"))))) as unknown as typeof fetch;
    const reporter = createSentryReporter({
      ...EVENT_OPTS,
      dsn: DSN,
      version: "0.1.0",
      maxQueue: 2,
      timeoutMs: 50,
      fetch: hang,
      onDropped: (r) => reasons.push(r),
    });
    const started = performance.now();
    for (let i = 0; i < 5; i++) reporter.report(new Error(`e${i}`));
    expect(performance.now() - started).toBeLessThan(50);
    // The first is in flight, two wait, two are dropped: said once, when the send in flight ends.
    expect(reasons).toEqual([]);
    const flushStarted = performance.now();
    await reporter.flush(20);
    expect(performance.now() - flushStarted).toBeLessThan(45);
    await reporter.flush(1_000);
    expect(reasons.filter((r) => r === "timed out")).toHaveLength(3);
    expect(reasons.filter((r) => r.includes("queue was full"))).toEqual(["2 reports dropped: the report queue was full"]);
  });

  test("a fetch that throws synchronously or a bad onDropped never reaches the caller", async () => {
    const reporter = createSentryReporter({
      ...EVENT_OPTS,
      dsn: DSN,
      version: "0.1.0",
      fetch: (() => {
        throw new Error("no network");
      }) as unknown as typeof fetch,
      onDropped: () => {
        throw new Error("logger broke");
      },
    });
    expect(() => reporter.report(new Error("x"))).not.toThrow();
    await reporter.flush();
  });

  test("the no-op reporter is disabled and does nothing", async () => {
    expect(NOOP_ERROR_REPORTER.enabled).toBe(false);
    NOOP_ERROR_REPORTER.report(new Error("x"));
    await NOOP_ERROR_REPORTER.flush();
  });
});
