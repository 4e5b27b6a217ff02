import { afterAll, describe, expect, test } from "bun:test";
import { PermanentError, RetryableError } from "./errors.ts";
import { createTwilioSender, type TwilioSenderOptions } from "./sms-twilio.ts";
import { classifyTwilioAnswer, redactPhoneNumbers } from "./sms-twilio-answer.ts";
import type { OutboundNotification } from "./types.ts";

const ACCOUNT = `AC${"a1".repeat(16)}`;
const TOKEN = "auth-token-1";
const KEY = `SK${"b2".repeat(16)}`;
const KEY_SECRET = "key-secret-1";
const SERVICE = `MG${"c3".repeat(16)}`;
const FROM = "+14155550100";
const TO = "+14155550123";
/** The peer's stand-in for a number Twilio refuses (21211). */
const INVALID_TO = "+15005550001";
const E164 = /^\+[1-9]\d{1,14}$/;

interface Seen {
  path: string;
  user: string;
  form: URLSearchParams;
}

/** What the peer answers once the request has passed its checks; default is 201. */
type Script = () => Promise<Response> | Response;

function twilioError(status: number, code: number, message: string, headers?: Record<string, string>): Response {
  return Response.json({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }, { status, headers });
}

/** A local api.twilio.com that checks the documented request (path, Basic auth, To, Body, one origin) and answers as Twilio documents. */
function startTwilioPeer() {
  const seen: Seen[] = [];
  const scripts: Script[] = [];
  const logins = new Map([
    [ACCOUNT, TOKEN],
    [KEY, KEY_SECRET],
  ]);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (req.method !== "POST") return twilioError(405, 20004, "Method not allowed");
      if (path !== `/2010-04-01/Accounts/${ACCOUNT}/Messages.json`) return twilioError(404, 20404, "The requested resource was not found");
      const [user = "", secret] = atob((req.headers.get("authorization") ?? "").replace(/^Basic /, "")).split(":");
      if (logins.get(user) !== secret) return twilioError(401, 20003, "Authenticate");
      if (!req.headers.get("content-type")?.startsWith("application/x-www-form-urlencoded"))
        return twilioError(400, 19056, "Input request content type is invalid");
      const form = new URLSearchParams(await req.text());
      seen.push({ path, user, form });
      const to = form.get("To") ?? "";
      if (!E164.test(to) || to === INVALID_TO) return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
      const from = form.get("From");
      const service = form.get("MessagingServiceSid");
      if ((from === null) === (service === null)) return twilioError(400, 21603, "A 'From' phone number or MessagingServiceSid is required.");
      if (from !== null && !E164.test(from)) return twilioError(400, 21212, `The 'From' number ${from} is not a valid phone number.`);
      if (service !== null && !/^MG[0-9a-f]{32}$/.test(service)) return twilioError(400, 21701, "The Messaging Service Sid is invalid.");
      if (!form.get("Body")) return twilioError(400, 21602, "Message body is required.");
      const script = scripts.shift();
      if (script) return script();
      const sid = `SM${crypto.randomUUID().replaceAll("-", "")}`;
      return Response.json({ sid, account_sid: ACCOUNT, status: service === null ? "queued" : "accepted", to, from, body: form.get("Body") }, { status: 201 });
    },
  });
  return {
    baseUrl: `http://127.0.0.1:${server.port}`,
    seen,
    last: (): Seen | undefined => seen.at(-1),
    /** The next request that passes the checks gets this answer instead of a 201. */
    answerNext: (script: Script) => scripts.push(script),
    stop: () => server.stop(true),
  };
}

const peer = startTwilioPeer();
afterAll(() => peer.stop());

const base = { accountSid: ACCOUNT, baseUrl: peer.baseUrl, timeoutMs: 150 };
const sender = createTwilioSender({ ...base, authToken: TOKEN, from: FROM });
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

describe("twilio sms sender", () => {
  test("posts the documented form and returns Twilio's sid", async () => {
    const result = await sender.send(note({ to: TO, body: "Your code is 123456" }), ctx);
    expect(result.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    const req = peer.last();
    expect(req?.user).toBe(ACCOUNT);
    expect(Object.fromEntries(req?.form ?? [])).toEqual({ To: TO, From: FROM, Body: "Your code is 123456" });
    expect(sender.provider).toBe("twilio");
  });

  test("API-key credentials put the key SID in auth and the account SID in the path", async () => {
    const keyed = createTwilioSender({ ...base, apiKeySid: KEY, apiKeySecret: KEY_SECRET, from: FROM });
    expect((await keyed.send(note({ to: TO, body: "hi" }), ctx)).providerMessageId).toMatch(/^SM/);
    expect(peer.last()?.user).toBe(KEY);
    expect(peer.last()?.path).toContain(`/Accounts/${ACCOUNT}/`);
  });

  test("a Messaging Service is sent instead of From", async () => {
    const viaService = createTwilioSender({ ...base, authToken: TOKEN, messagingServiceSid: SERVICE });
    await viaService.send(note({ to: TO, body: "hi" }), ctx);
    expect(peer.last()?.form.get("MessagingServiceSid")).toBe(SERVICE);
    expect(peer.last()?.form.has("From")).toBe(false);
  });

  test("StatusCallback is sent only when configured", async () => {
    await sender.send(note({ to: TO, body: "hi" }), ctx);
    expect(peer.last()?.form.has("StatusCallback")).toBe(false);
    const withCallback = createTwilioSender({ ...base, authToken: TOKEN, from: FROM, statusCallbackUrl: "https://herald.example/twilio/status" });
    await withCallback.send(note({ to: TO, body: "hi" }), ctx);
    expect(peer.last()?.form.get("StatusCallback")).toBe("https://herald.example/twilio/status");
  });

  test("an invalid 'To' (400/21211) is permanent, with the code and without the number", async () => {
    const err = await failure(sender.send(note({ to: INVALID_TO, body: "hi" }), ctx));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toStartWith("twilio 21211: The 'To' number");
    expect(err.message).not.toContain("5005550001");
  });

  test("429 is retryable and honours Retry-After", async () => {
    peer.answerNext(() => twilioError(429, 20429, "Too Many Requests", { "retry-after": "7" }));
    const err = await failure(sender.send(note({ to: TO, body: "hi" }), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as RetryableError).retryAfterMs).toBe(7000);
    expect(err.message).toContain("20429");
  });

  test("500 and 503 are retryable, even with a body that is not JSON", async () => {
    peer.answerNext(() => new Response("<html>upstream".repeat(100_000), { status: 500 }));
    peer.answerNext(() => twilioError(503, 20503, "Service unavailable", { "retry-after": "2" }));
    const first = await failure(sender.send(note({ to: TO, body: "hi" }), ctx));
    expect(first).toBeInstanceOf(RetryableError);
    expect(first.message).toBe("twilio HTTP 500");
    const second = await failure(sender.send(note({ to: TO, body: "hi" }), ctx));
    expect(second).toBeInstanceOf(RetryableError);
    expect((second as RetryableError).retryAfterMs).toBe(2000);
  });

  test("rejected credentials (401/20003) are retryable: the config is wrong, not the message", async () => {
    const wrong = createTwilioSender({ ...base, authToken: "stale-token", from: FROM });
    const err = await failure(wrong.send(note({ to: TO, body: "hi" }), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain("twilio 20003");
  });

  test("a peer that holds the request times out as retryable within about timeoutMs", async () => {
    peer.answerNext(async () => {
      await Bun.sleep(2_000);
      return new Response(null, { status: 201 });
    });
    const started = performance.now();
    const err = await failure(sender.send(note({ to: TO, body: "hi" }), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain("timed out after 150 ms");
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  test("the processor's signal aborts the call as retryable", async () => {
    peer.answerNext(async () => {
      await Bun.sleep(2_000);
      return new Response(null, { status: 201 });
    });
    const slow = createTwilioSender({ ...base, authToken: TOKEN, from: FROM, timeoutMs: 5_000 });
    const err = await failure(slow.send(note({ to: TO, body: "hi" }), { attempt: 2, signal: AbortSignal.timeout(50) }));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toBe("twilio call abandoned by the processor");
  });

  test("a refused connection is retryable", async () => {
    const nowhere = createTwilioSender({ ...base, baseUrl: "http://127.0.0.1:1", authToken: TOKEN, from: FROM });
    const err = await failure(nowhere.send(note({ to: TO, body: "hi" }), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toStartWith("twilio network error");
  });

  test("an invalid payload is permanent and makes no request", async () => {
    const before = peer.seen.length;
    for (const payload of [{ to: "0044 20 7946 0000", body: "hi" }, { to: TO }, { to: TO, body: "x".repeat(1601) }, { to: TO, body: "hi", extra: 1 }]) {
      const err = await failure(sender.send(note(payload), ctx));
      expect(err).toBeInstanceOf(PermanentError);
      expect(err.message).not.toContain("7946");
    }
    expect(peer.seen.length).toBe(before);
  });

  test("a half-configured credential or origin does not typecheck", () => {
    const attempts: TwilioSenderOptions[] = [
      // @ts-expect-error an API key without its secret
      { ...base, apiKeySid: KEY, from: FROM },
      // @ts-expect-error a token and a key at once
      { ...base, authToken: TOKEN, apiKeySid: KEY, apiKeySecret: KEY_SECRET, from: FROM },
      // @ts-expect-error both From and a Messaging Service
      { ...base, authToken: TOKEN, from: FROM, messagingServiceSid: SERVICE },
      // @ts-expect-error no origin at all
      { ...base, authToken: TOKEN },
    ];
    expect(attempts).toHaveLength(4);
  });
});

describe("classifyTwilioAnswer", () => {
  const body = (code: number, message: string) => JSON.stringify({ code, message, more_info: "", status: 400 });

  test("2xx is sent, with the sid when the body has one", () => {
    expect(classifyTwilioAnswer(201, JSON.stringify({ sid: "SM1", status: "queued" }), null)).toEqual({ providerMessageId: "SM1" });
    // Twilio took the message; a retry would text the person twice.
    expect(classifyTwilioAnswer(201, "<cut off", null)).toEqual({});
  });

  test("408, 429 and 5xx are retryable with Retry-After", () => {
    for (const status of [408, 429, 500, 502, 503, 504]) {
      const outcome = classifyTwilioAnswer(status, "", "3");
      expect(outcome).toBeInstanceOf(RetryableError);
      expect((outcome as RetryableError).retryAfterMs).toBe(3000);
    }
  });

  test("401, 403, code 20003 and redirects are retryable (operator config)", () => {
    expect(classifyTwilioAnswer(401, body(20003, "Authenticate"), null)).toBeInstanceOf(RetryableError);
    expect(classifyTwilioAnswer(403, body(20403, "Forbidden"), null)).toBeInstanceOf(RetryableError);
    expect(classifyTwilioAnswer(400, body(20003, "Authenticate"), null)).toBeInstanceOf(RetryableError);
    expect(classifyTwilioAnswer(301, "", null)).toBeInstanceOf(RetryableError);
  });

  test("other 4xx are permanent and carry Twilio's code", () => {
    const cases: [number, number, string][] = [
      [400, 21211, "The 'To' number +15551234567 is not a valid phone number."],
      [400, 21610, "Attempt to send to unsubscribed recipient"],
      [400, 21614, "'To' number is not a valid mobile number"],
      [400, 21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +447700900123"],
    ];
    for (const [status, code, message] of cases) {
      const outcome = classifyTwilioAnswer(status, body(code, message), null);
      expect(outcome).toBeInstanceOf(PermanentError);
      expect((outcome as PermanentError).message).toStartWith(`twilio ${code}: `);
      expect((outcome as PermanentError).message).not.toMatch(/\d{7}/);
    }
    expect(classifyTwilioAnswer(404, "", null)).toEqual(new PermanentError("twilio HTTP 404"));
  });
});

test("redactPhoneNumbers hides numbers with or without + but keeps SIDs and codes", () => {
  expect(redactPhoneNumbers("The 'To' number +15551234567 is invalid")).toBe("The 'To' number [number] is invalid");
  expect(redactPhoneNumbers("The 'To' number 5551234567 is not valid.")).toBe("The 'To' number [number] is not valid.");
  expect(redactPhoneNumbers(`account ${ACCOUNT}, error 21211`)).toBe(`account ${ACCOUNT}, error 21211`);
});
