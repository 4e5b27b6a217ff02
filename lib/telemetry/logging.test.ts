import { describe, expect, test } from "bun:test";
import { Writable } from "node:stream";
import type { DestinationStream } from "pino";
import { correlationId, traceIdFromTraceparent } from "./correlation.ts";
import pretty from "pino-pretty";
import { createHeraldLogger, wantsPrettyLogs } from "./logging.ts";
import { logContext, logInfo, REDACTED, sampleScore } from "./log-lines.ts";

function capture(): { stream: DestinationStream; lines: () => Array<Record<string, unknown>>; raw: () => string } {
  const out: string[] = [];
  return {
    stream: { write: (s: string) => void out.push(s) },
    lines: () => out.map((s) => JSON.parse(s) as Record<string, unknown>),
    raw: () => out.join(""),
  };
}

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("correlationId", () => {
  const from = (h: Record<string, string>) => correlationId((n) => h[n]);

  test("takes an acceptable X-Request-Id first", () => {
    expect(from({ "x-request-id": "req-42", traceparent: TRACEPARENT })).toEqual({ id: "req-42", source: "x-request-id" });
  });

  test("falls back to the traceparent's trace id, so logs and traces share one id", () => {
    expect(from({ traceparent: TRACEPARENT })).toEqual({ id: "4bf92f3577b34da6a3ce929d0e0e4736", source: "traceparent" });
    expect(from({ "x-request-id": "has space", traceparent: TRACEPARENT }).source).toBe("traceparent");
  });

  test("generates a UUID when neither is usable", () => {
    const got = from({ "x-request-id": "x".repeat(129), traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01" });
    expect(got.source).toBe("generated");
    expect(got.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("rejects malformed traceparents", () => {
    expect(traceIdFromTraceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).toBeUndefined();
    expect(traceIdFromTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")).toBeUndefined();
    expect(traceIdFromTraceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")).toBeUndefined();
    expect(traceIdFromTraceparent(`${TRACEPARENT}-extra`)).toBeUndefined();
    expect(traceIdFromTraceparent(undefined)).toBeUndefined();
  });
});

describe("createHeraldLogger", () => {
  test("sampling at 0 drops every info and debug line and never a warn, error or fatal", () => {
    const out = capture();
    const log = createHeraldLogger({ level: "trace", service: "herald-gateway", sampleRate: 0, destination: out.stream });
    const child = logContext(log, { correlationId: "req-1" });
    for (const l of [log, child]) {
      for (let i = 0; i < 50; i++) {
        l.trace("t");
        l.debug("d");
        l.info("i");
        l.warn("w");
        l.error("e");
        l.fatal("f");
      }
    }
    const levels = out.lines().map((l) => l.level);
    expect(levels.filter((v) => Number(v) < 40)).toEqual([]);
    expect(levels.filter((v) => v === 40).length).toBe(100);
    expect(levels.filter((v) => v === 50).length).toBe(100);
    expect(levels.filter((v) => v === 60).length).toBe(100);
  });

  test("a sample rate keeps about that share of info lines", () => {
    const out = capture();
    const log = createHeraldLogger({ level: "info", service: "herald-gateway", sampleRate: 0.3, destination: out.stream });
    for (let i = 0; i < 2000; i++) log.info("i");
    const kept = out.lines().length;
    expect(kept).toBeGreaterThan(450);
    expect(kept).toBeLessThan(750);
  });

  test("one correlation id is kept or dropped as a whole, the same way in every process", () => {
    const ids = Array.from({ length: 200 }, (_, i) => `req-${i}`);
    const keptIn = (service: string) => {
      const out = capture();
      const log = createHeraldLogger({ level: "info", service, sampleRate: 0.5, destination: out.stream });
      for (const id of ids) for (let i = 0; i < 5; i++) logContext(log, { correlationId: id }).info("step");
      const counts = new Map<string, number>();
      for (const l of out.lines()) counts.set(String(l.correlationId), (counts.get(String(l.correlationId)) ?? 0) + 1);
      return counts;
    };
    const gateway = keptIn("herald-gateway");
    const processor = keptIn("herald-processor");
    expect([...gateway.values()].every((n) => n === 5)).toBe(true);
    expect([...gateway.keys()].sort()).toEqual([...processor.keys()].sort());
    expect(gateway.size).toBe(ids.filter((id) => sampleScore(id) < 0.5).length);
    expect(gateway.size).toBeGreaterThan(60);
    expect(gateway.size).toBeLessThan(140);
  });

  test("without sampling every line is written, with service and context ids", () => {
    const out = capture();
    const log = createHeraldLogger({ level: "info", service: "herald-processor", destination: out.stream });
    logContext(log, { correlationId: "req-9", notificationId: "n-1", tenantId: "acme", channel: "sms", lane: "high" }).info("sent");
    logContext(log, { correlationId: null, notificationId: "n-2" }).info("no correlation");
    const [first, second] = out.lines();
    expect(first).toMatchObject({
      service: "herald-processor",
      correlationId: "req-9",
      notificationId: "n-1",
      tenantId: "acme",
      channel: "sms",
      lane: "high",
      msg: "sent",
    });
    expect(second).toMatchObject({ notificationId: "n-2" });
    expect(second && "correlationId" in second).toBe(false);
  });

  test("logInfo keeps the same correlation ids as logContext, and writes the ids with the line", () => {
    const ids = Array.from({ length: 200 }, (_, i) => `req-${i}`);
    const out = capture();
    const log = createHeraldLogger({ level: "info", service: "herald-processor", sampleRate: 0.5, destination: out.stream }).child({ component: "processor" });
    for (const id of ids) logInfo(log, { correlationId: id, notificationId: "n-1", tenantId: "acme", channel: "sms" }, "notification sent", { attempt: 1 });
    const kept = out.lines().map((l) => String(l.correlationId));
    expect(kept).toEqual(ids.filter((id) => sampleScore(id) < 0.5));
    expect(out.lines()[0]).toMatchObject({
      service: "herald-processor",
      component: "processor",
      notificationId: "n-1",
      tenantId: "acme",
      channel: "sms",
      attempt: 1,
      msg: "notification sent",
    });
  });

  test("logInfo writes every line unsampled, and nothing below the level", () => {
    const out = capture();
    logInfo(
      createHeraldLogger({ level: "info", service: "herald-gateway", destination: out.stream }),
      { correlationId: "req-1", tenantId: "acme" },
      "notification accepted",
    );
    logInfo(createHeraldLogger({ level: "warn", service: "herald-gateway", destination: out.stream }), { correlationId: "req-2" }, "notification accepted");
    expect(out.lines()).toEqual([expect.objectContaining({ correlationId: "req-1", tenantId: "acme", msg: "notification accepted" })]);
  });

  test("logInfo's direct line is the line pino writes for the same call, byte for byte but the time", () => {
    const direct = capture();
    const viaPino = capture();
    const ctx = { correlationId: 'req "quoted" \\ ü', notificationId: "n-1", tenantId: "acme", channel: "sms", lane: "high" };
    const extra = { accepted: 3, items: 4, ok: true, note: "line\nbreak", token: "hk_live_secret" };
    const child = createHeraldLogger({ level: "info", service: "herald-gateway", destination: direct.stream }).child({ component: "gateway" });
    logInfo(child, ctx, "batch accepted", extra);
    logInfo(child, { correlationId: "req-2" }, "notification accepted");
    const reference = createHeraldLogger({ level: "info", service: "herald-gateway", destination: viaPino.stream }).child({ component: "gateway" });
    reference.info({ ...ctx, ...extra }, "batch accepted");
    reference.info({ correlationId: "req-2" }, "notification accepted");
    const withoutTime = (raw: string) => raw.replace(/"time":\d+/g, '"time":0');
    expect(withoutTime(direct.raw())).toBe(withoutTime(viaPino.raw()));
    expect(direct.raw()).not.toContain("hk_live_secret");
    expect(direct.lines()[0]).toMatchObject({
      level: 30,
      service: "herald-gateway",
      component: "gateway",
      correlationId: ctx.correlationId,
      token: REDACTED,
      accepted: 3,
    });
  });

  const secrets: Array<[string, Record<string, unknown>, string]> = [
    ["an email recipient in a payload", { payload: { to: "alice@example.com", subject: "Hi", body: "x" } }, "alice@example.com"],
    ["a phone recipient in a nested envelope", { envelope: { payload: { to: "+14155550100", body: "x" } } }, "+14155550100"],
    ["a bare recipient field", { to: "bob@example.com" }, "bob@example.com"],
    ["an email field", { user: { email: "carol@example.com" } }, "carol@example.com"],
    ["a phone field", { phone: "+442071838750" }, "+442071838750"],
    ["a message body", { notification: { body: "your one-time code is 918273" } }, "918273"],
    ["an html body", { html: "<p>reset link: https://x/reset?t=abc</p>" }, "reset?t=abc"],
    ["an authorization header", { req: { headers: { authorization: "Bearer hk_live_123456789" } } }, "hk_live_123456789"],
    ["an API key header", { headers: { "x-api-key": "hk_live_abcdefgh" } }, "hk_live_abcdefgh"],
    ["an apiKey field", { apiKey: "hk_test_87654321" }, "hk_test_87654321"],
    ["a token", { push: { token: "fcm-device-token-xyz" } }, "fcm-device-token-xyz"],
    ["a webhook secret", { config: { webhookSecret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0" } }, "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"],
    ["a password", { db: { password: "hunter2-hunter2" } }, "hunter2-hunter2"],
  ];
  for (const [kind, obj, secret] of secrets) {
    test(`redacts ${kind}`, () => {
      const out = capture();
      createHeraldLogger({ level: "info", service: "herald-gateway", destination: out.stream }).info(obj, "logged");
      expect(out.raw()).not.toContain(secret);
      expect(out.raw()).toContain(REDACTED);
    });
  }

  test("redaction copies rather than mutates what was logged, and leaves errors to pino's serializer", () => {
    const out = capture();
    const envelope = { id: "n-1", payload: { to: "erin@example.com" } };
    createHeraldLogger({ level: "info", service: "herald-processor", destination: out.stream }).error(
      { envelope, err: new Error("provider said no") },
      "failed",
    );
    expect(envelope.payload.to).toBe("erin@example.com");
    expect(out.lines()[0]).toMatchObject({ envelope: { id: "n-1", payload: REDACTED }, err: { type: "Error", message: "provider said no" } });
  });

  test("keeps what operators need next to the redacted fields", () => {
    const out = capture();
    createHeraldLogger({ level: "info", service: "herald-gateway", destination: out.stream }).info(
      { id: "n-1", channel: "email", payload: { to: "a@b.c" } },
      "accepted",
    );
    expect(out.lines()[0]).toMatchObject({ id: "n-1", channel: "email", payload: REDACTED });
  });

  test("pretty output only for a terminal in development", () => {
    expect(wantsPrettyLogs("development", true)).toBe(true);
    expect(wantsPrettyLogs("development", false)).toBe(false);
    expect(wantsPrettyLogs("production", true)).toBe(false);
    expect(wantsPrettyLogs("development", undefined)).toBe(false);
  });

  test("pretty output is human-readable and still redacted", async () => {
    const out: string[] = [];
    // pino-pretty pipes into its destination, so it needs a real Writable.
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        out.push(chunk.toString());
        done();
      },
    });
    const log = createHeraldLogger({ level: "info", service: "herald-all", pretty, destination });
    log.info({ correlationId: "req-7", payload: { to: "dave@example.com" } }, "accepted");
    // The prettifier is a stream pipeline: let it drain before reading.
    await new Promise((resolve) => setImmediate(resolve));
    const text = out.join("");
    expect(text).toContain("INFO");
    expect(text).toContain("accepted");
    expect(text).toContain("req-7");
    expect(text).not.toContain("dave@example.com");
    expect(() => JSON.parse(text)).toThrow();
  });
});
