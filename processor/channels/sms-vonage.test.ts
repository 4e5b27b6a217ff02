import { afterAll, describe, expect, test } from "bun:test";
import { PermanentError, RetryableError } from "./errors.ts";
import { createVonageSender, VONAGE_MAX_TEXT_CHARS } from "./sms-vonage.ts";
import { classifyVonageAnswer } from "./sms-vonage-answer.ts";
import type { OutboundNotification } from "./types.ts";

const API_KEY = "a1b2c3d4";
const API_SECRET = "vonage-secret-1";
const FROM = "14155550100";
const TO = "+14155550123";
/** The peer's stand-in for a number Vonage refuses. */
const INVALID_TO = "+15005550001";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PROBLEMS = "https://developer.vonage.com/api-errors";

interface Seen {
  user: string;
  body: Record<string, unknown>;
}

/** What the peer answers once the request has passed its checks; default is 202. */
type Script = () => Promise<Response> | Response;

function problem(status: number, type: string, title: string, detail: string, extra?: Record<string, unknown>, headers?: Record<string, string>): Response {
  const body = { type: `${PROBLEMS}${type}`, title, detail, instance: crypto.randomUUID(), ...extra };
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/problem+json", ...headers } });
}

function invalidParam(name: string, reason: string): Response {
  return problem(422, "/messages-olympus#1150", "Invalid params", "The value of one or more parameters is invalid.", {
    invalid_parameters: [{ name, reason }],
  });
}

/** A local api.nexmo.com that checks the documented request (path, Basic auth, JSON, SMS text fields) and answers as Vonage documents. */
function startVonagePeer() {
  const seen: Seen[] = [];
  const scripts: Script[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (req.method !== "POST" || new URL(req.url).pathname !== "/v1/messages")
        return problem(404, "#not-found", "Not Found", "The requested resource does not exist");
      const [user = "", secret] = atob((req.headers.get("authorization") ?? "").replace(/^Basic /, "")).split(":");
      if (user !== API_KEY || secret !== API_SECRET) return problem(401, "#unauthorized", "Unauthorized", "You did not provide correct credentials.");
      if (!req.headers.get("content-type")?.startsWith("application/json"))
        return problem(415, "#unsupported-media-type", "Unsupported Media Type", "Use application/json");
      let body: Record<string, unknown>;
      try {
        body = await req.json();
      } catch {
        return problem(422, "#invalid-json", "Invalid JSON", "The request body did not contain valid JSON");
      }
      seen.push({ user, body });
      for (const field of ["message_type", "channel", "to", "from", "text"])
        if (typeof body[field] !== "string" || body[field] === "") return invalidParam(field, "is required");
      if (body.message_type !== "text") return invalidParam("message_type", "must be text for sms");
      if (body.channel !== "sms") return invalidParam("channel", "is not sms");
      const to = String(body.to);
      if (!/^[1-9]\d{6,14}$/.test(to)) return invalidParam("to", `${to} is not an E.164 number without a leading +`);
      if (to === INVALID_TO.slice(1)) return invalidParam("to", `The number ${to} is not valid`);
      if (!/^(?:\d{7,15}|[A-Za-z0-9 ]{1,11})$/.test(String(body.from))) return invalidParam("from", "is not a number or sender ID");
      if (String(body.text).length > 1000) return invalidParam("text", "is longer than 1000 characters");
      if (body.client_ref !== undefined && (typeof body.client_ref !== "string" || body.client_ref.length > 100))
        return invalidParam("client_ref", "must be a string of at most 100 characters");
      const script = scripts.shift();
      if (script) return script();
      return Response.json({ message_uuid: crypto.randomUUID() }, { status: 202 });
    },
  });
  return {
    baseUrl: `http://127.0.0.1:${server.port}`,
    seen,
    last: (): Seen | undefined => seen.at(-1),
    /** The next request that passes the checks gets this answer instead of a 202. */
    answerNext: (script: Script) => scripts.push(script),
    stop: () => server.stop(true),
  };
}

const peer = startVonagePeer();
afterAll(() => peer.stop());

const base = { apiKey: API_KEY, apiSecret: API_SECRET, from: FROM, baseUrl: peer.baseUrl, timeoutMs: 150 };
const sender = createVonageSender(base);
const ctx = { attempt: 1, signal: new AbortController().signal };

function note(payload: Record<string, unknown>): OutboundNotification {
  return { id: crypto.randomUUID(), tenantId: "acme", userId: "u", channel: "sms", type: "transactional", payload, metadata: null, correlationId: null };
}

async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => new Error("expected a failure"),
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );
}

describe("vonage sms sender", () => {
  test("posts the documented message and returns Vonage's message_uuid", async () => {
    const n = note({ to: TO, body: "Your code is 123456" });
    const result = await sender.send(n, ctx);
    expect(result.providerMessageId).toMatch(UUID);
    const req = peer.last();
    expect(req?.user).toBe(API_KEY);
    expect(req?.body).toEqual({ message_type: "text", channel: "sms", to: "14155550123", from: FROM, text: "Your code is 123456", client_ref: n.id });
    expect(sender.provider).toBe("vonage");
  });

  test("sends the notification id as client_ref so receipts can be matched", async () => {
    const n = note({ to: TO, body: "hi" });
    await sender.send(n, ctx);
    expect(peer.last()?.body.client_ref).toBe(n.id);
  });

  test("a sender number configured with + is sent without it", async () => {
    await createVonageSender({ ...base, from: `+${FROM}` }).send(note({ to: TO, body: "hi" }), ctx);
    expect(peer.last()?.body.from).toBe(FROM);
  });

  test("an invalid number (422/1150) is permanent, names the field and hides the number", async () => {
    const err = await failure(sender.send(note({ to: INVALID_TO, body: "hi" }), ctx));
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).unreachable).toBe(false);
    expect(err.message).toStartWith("vonage 1150 (HTTP 422): Invalid params");
    expect(err.message).toContain("[to]");
    expect(err.message).not.toContain("5005550001");
  });

  test("429 is retryable and honours Retry-After", async () => {
    peer.answerNext(() => problem(429, "/messages-olympus#1000", "Throttled", "Please wait, then retry your request", {}, { "retry-after": "7" }));
    const err = await failure(sender.send(note({ to: TO, body: "hi" }), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as RetryableError).retryAfterMs).toBe(7000);
    expect(err.message).toStartWith("vonage 1000 (HTTP 429): Throttled");
  });

  test("500 and 503 are retryable, even with a body that is not JSON", async () => {
    peer.answerNext(() => new Response("<html>upstream".repeat(100_000), { status: 500 }));
    peer.answerNext(() => problem(503, "/messages-olympus#1030", "Internal error", "There was an error processing your request", {}, { "retry-after": "2" }));
    const first = await failure(sender.send(note({ to: TO, body: "hi" }), ctx));
    expect(first).toBeInstanceOf(RetryableError);
    expect(first.message).toBe("vonage HTTP 500 (HTTP 500)");
    const second = await failure(sender.send(note({ to: TO, body: "hi" }), ctx));
    expect(second).toBeInstanceOf(RetryableError);
    expect((second as RetryableError).retryAfterMs).toBe(2000);
  });

  test("rejected credentials (401) are retryable and name the credentials", async () => {
    for (const wrong of [createVonageSender({ ...base, apiSecret: "stale-secret" }), createVonageSender({ ...base, apiKey: "" })]) {
      const err = await failure(wrong.send(note({ to: TO, body: "hi" }), ctx));
      expect(err).toBeInstanceOf(RetryableError);
      expect(err.message).toStartWith("vonage unauthorized (HTTP 401)");
      expect(err.message).toContain("check the Vonage API key and secret");
    }
  });

  test("a peer that holds the request times out as retryable within about timeoutMs", async () => {
    peer.answerNext(async () => {
      await Bun.sleep(2_000);
      return new Response(null, { status: 202 });
    });
    const started = performance.now();
    const err = await failure(sender.send(note({ to: TO, body: "hi" }), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toBe("vonage timed out after 150 ms");
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  test("the processor's signal aborts the call as retryable", async () => {
    peer.answerNext(async () => {
      await Bun.sleep(2_000);
      return new Response(null, { status: 202 });
    });
    const slow = createVonageSender({ ...base, timeoutMs: 5_000 });
    const err = await failure(slow.send(note({ to: TO, body: "hi" }), { attempt: 2, signal: AbortSignal.timeout(50) }));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toBe("vonage call abandoned by the processor");
  });

  test("a refused connection is retryable", async () => {
    const nowhere = createVonageSender({ ...base, baseUrl: "http://127.0.0.1:1" });
    const err = await failure(nowhere.send(note({ to: TO, body: "hi" }), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toStartWith("vonage network error");
  });

  test("an invalid payload is permanent and makes no request", async () => {
    const before = peer.seen.length;
    const payloads = [
      { to: "0044 20 7946 0000", body: "hi" },
      { to: TO },
      { to: TO, body: "x".repeat(1601) },
      { to: TO, body: "hi", extra: 1 },
      { to: TO, body: "x".repeat(VONAGE_MAX_TEXT_CHARS + 1) },
    ];
    for (const payload of payloads) {
      const err = await failure(sender.send(note(payload), ctx));
      expect(err).toBeInstanceOf(PermanentError);
      expect(err.message).not.toContain("7946");
    }
    expect(peer.seen.length).toBe(before);
  });

  test("a text of exactly the Vonage limit is sent", async () => {
    const result = await sender.send(note({ to: TO, body: "x".repeat(VONAGE_MAX_TEXT_CHARS) }), ctx);
    expect(result.providerMessageId).toMatch(UUID);
  });
});

describe("classifyVonageAnswer", () => {
  const body = (type: string, title: string, detail: string, extra?: Record<string, unknown>) =>
    JSON.stringify({ type: `${PROBLEMS}${type}`, title, detail, instance: "bf0ca0bf927b3b52e3cb03217e1a1ddf", ...extra });

  test("2xx is sent, with the uuid when the body has one", () => {
    expect(classifyVonageAnswer(202, JSON.stringify({ message_uuid: "aaaaaaaa-0000-4000-8000-000000000001" }), null)).toEqual({
      providerMessageId: "aaaaaaaa-0000-4000-8000-000000000001",
    });
    // Vonage took the message; a retry would text the person twice.
    expect(classifyVonageAnswer(202, "<cut off", null)).toEqual({});
    expect(classifyVonageAnswer(202, JSON.stringify({ message_uuid: "" }), null)).toEqual({});
  });

  test("408, 429 and 5xx are retryable with Retry-After", () => {
    for (const status of [408, 429, 500, 502, 503, 504]) {
      const outcome = classifyVonageAnswer(status, "", "3");
      expect(outcome).toBeInstanceOf(RetryableError);
      expect((outcome as RetryableError).retryAfterMs).toBe(3000);
    }
    const at = Date.parse("2030-01-01T00:00:00Z");
    const dated = classifyVonageAnswer(429, "", "Tue, 01 Jan 2030 00:00:05 GMT", at);
    expect((dated as RetryableError).retryAfterMs).toBe(5000);
  });

  test("credentials, balance, account and redirect answers are retryable (operator config)", () => {
    const cases: [number, string][] = [
      [401, body("#unauthorized", "Unauthorized", "You did not provide correct credentials.")],
      [402, body("#low-balance", "Low balance", "This request could not be performed due to your account balance being low.")],
      [403, body("#forbidden", "Forbidden", "Your account does not have permission to perform this action")],
      [403, body("#out-of-credit", "You do not have enough credit", "Your current balance is 30, but that costs 50.")],
      [422, body("/messages-olympus#1060", "Partner account barred", "The account has been barred from submitting messages.")],
      [301, ""],
    ];
    for (const [status, answer] of cases) expect(classifyVonageAnswer(status, answer, null)).toBeInstanceOf(RetryableError);
    expect((classifyVonageAnswer(401, "", null) as RetryableError).message).toContain("check the Vonage API key and secret");
    expect((classifyVonageAnswer(302, "", null) as RetryableError).message).toContain("redirects are not followed");
  });

  test("422 and 400 are permanent and carry Vonage's title without the number", () => {
    const cases: [number, string, string][] = [
      [
        422,
        body("/messages-olympus#1150", "Invalid params", "The value of `to` 447700900123 is invalid.", {
          invalid_parameters: [{ name: "to", reason: "+447700900123" }],
        }),
        "1150",
      ],
      [422, body("/messages-olympus#1120", "Invalid sender", "The `from` parameter is invalid for the given channel."), "1120"],
      [422, body("#invalid-json", "Invalid JSON", "The request body did not contain valid JSON"), "invalid-json"],
      [400, body("#invalid-params", "Bad Request", "The number 14155550123 is not valid."), "invalid-params"],
    ];
    for (const [status, answer, code] of cases) {
      const outcome = classifyVonageAnswer(status, answer, null);
      expect(outcome).toBeInstanceOf(PermanentError);
      expect((outcome as PermanentError).unreachable).toBe(false);
      expect((outcome as PermanentError).message).toStartWith(`vonage ${code} (HTTP ${status}): `);
      expect((outcome as PermanentError).message).not.toMatch(/\d{7}/);
    }
    expect(classifyVonageAnswer(404, "", null)).toEqual(new PermanentError("vonage HTTP 404 (HTTP 404)"));
  });
});
