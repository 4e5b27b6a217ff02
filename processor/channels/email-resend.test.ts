import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { classifyResendAnswer, createResendSender, type ResendSenderOptions } from "./email-resend.ts";
import { PermanentError, RetryableError } from "./errors.ts";
import type { OutboundNotification } from "./types.ts";

const API_KEY = "re_test_0123456789abcdef";
const FROM = "Herald <notify@example.com>";

interface Accepted {
  id: string;
  idempotencyKey: string;
  body: { from: string; to: string[]; subject: string; text?: string; html?: string; headers?: Record<string, string> };
}

/** What the peer answers once the request passed its checks; default: accepted. */
type Script = () => Response;

const resendError = (status: number, name: string, message: string, headers?: Record<string, string>) =>
  Response.json({ statusCode: status, name, message }, { status, headers });

/**
 * A local api.resend.com for `POST /emails`: checks the documented request
 * (bearer key, a User-Agent, JSON with from, to, subject and text or html, an
 * Idempotency-Key of 1–256 characters) and answers as Resend documents,
 * including replaying an idempotency key's first answer and refusing it for
 * another body.
 */
function startResendPeer() {
  const accepted: Accepted[] = [];
  const byKey = new Map<string, { body: string; id: string }>();
  const scripts: Script[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method !== "POST" || url.pathname !== "/emails") return resendError(404, "not_found", "The requested endpoint does not exist.");
      const auth = req.headers.get("authorization");
      if (auth === null) return resendError(401, "missing_api_key", "Missing API key in the authorization header.");
      if (auth !== `Bearer ${API_KEY}`) return resendError(403, "invalid_api_key", "API key is invalid.");
      if (!req.headers.get("user-agent")) return resendError(403, "validation_error", "A User-Agent header is required.");
      if (!(req.headers.get("content-type") ?? "").startsWith("application/json")) return resendError(400, "validation_error", "Content-Type must be JSON.");
      const key = req.headers.get("idempotency-key");
      if (key !== null && (key.length < 1 || key.length > 256)) return resendError(400, "invalid_idempotency_key", "The key must be between 1-256 chars.");
      const raw = await req.text();
      const body = JSON.parse(raw) as Accepted["body"];
      const to = typeof body.to === "string" ? [body.to] : body.to;
      if (!body.from || !Array.isArray(to) || to.length === 0 || to.length > 50 || !body.subject || (body.text === undefined && body.html === undefined)) {
        return resendError(422, "validation_error", "Missing `from`, `to`, `subject`, or a body.");
      }
      if (to.some((address) => !address.includes("@"))) return resendError(422, "validation_error", "Invalid `to` field.");
      const script = scripts.shift();
      if (script) return script();
      if (key !== null) {
        const earlier = byKey.get(key);
        if (earlier && earlier.body !== raw)
          return resendError(409, "invalid_idempotent_request", "Same idempotency key used with a different request payload.");
        if (earlier) return Response.json({ id: earlier.id });
      }
      const id = crypto.randomUUID();
      if (key !== null) byKey.set(key, { body: raw, id });
      accepted.push({ id, idempotencyKey: key ?? "", body });
      return Response.json({ id });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, accepted, scripts, stop: () => server.stop(true) };
}

const peer = startResendPeer();
afterAll(() => peer.stop());
beforeEach(() => {
  peer.accepted.length = 0;
  peer.scripts.length = 0;
});

const sender = (overrides: Partial<ResendSenderOptions> = {}) =>
  createResendSender({ apiKey: API_KEY, from: FROM, baseUrl: peer.url, timeoutMs: 2000, ...overrides });
const notification = (payload: Record<string, unknown>, id = crypto.randomUUID()): OutboundNotification => ({
  id,
  tenantId: "acme",
  userId: "user-1",
  channel: "email",
  type: "transactional",
  payload,
  metadata: null,
  correlationId: "corr-1",
});
const ctx = { attempt: 1, signal: new AbortController().signal };
const mail = { to: "ada@example.com", subject: "Your code", body: "It is 123456", html: "<p>It is <b>123456</b></p>" };

describe("the resend sender against a peer that checks Resend's documented request", () => {
  test("sends from, to, subject, text and html with the key, and returns Resend's id", async () => {
    const n = notification(mail);
    const result = await sender().send(n, ctx);
    expect(peer.accepted).toHaveLength(1);
    const [first] = peer.accepted;
    expect(first?.body).toEqual({ from: FROM, to: ["ada@example.com"], subject: "Your code", text: "It is 123456", html: "<p>It is <b>123456</b></p>" });
    expect(first?.idempotencyKey).toBe(`herald/acme/${n.id}`);
    expect(result).toEqual({ providerMessageId: first?.id });
  });

  test("passes a one-click unsubscribe link as Resend's headers List-Unsubscribe and List-Unsubscribe-Post", async () => {
    const url = "https://notify.example.com/v1/unsubscribe/eyJ0IjoiYWNtZSJ9.c2lnbmF0dXJl";
    await sender().send(notification({ ...mail, listUnsubscribe: url }), ctx);
    expect(peer.accepted[0]?.body.headers).toEqual({ "List-Unsubscribe": `<${url}>`, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" });
    await sender().send(notification(mail), ctx);
    expect(peer.accepted[1]?.body.headers).toBeUndefined();
  });

  test("a retry of the same notification is answered from Resend's record, not mailed twice", async () => {
    const n = notification(mail);
    const first = await sender().send(n, ctx);
    const again = await sender().send(n, { ...ctx, attempt: 2 });
    expect(again).toEqual(first);
    expect(peer.accepted).toHaveLength(1);
  });

  test("a wrong key is retried (the configuration, not the message), naming the key", async () => {
    const err = await sender({ apiKey: "re_wrong_key_000000" })
      .send(notification(mail), ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toContain("invalid_api_key");
    expect((err as Error).message).toContain("check the Resend key");
  });

  test("a field Resend refuses fails the notification at once", async () => {
    peer.scripts.push(() => resendError(422, "validation_error", "Invalid `to` field."));
    const refused = await sender()
      .send(notification(mail), ctx)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PermanentError);
    expect((refused as Error).message).toBe("resend validation_error (HTTP 422): Invalid `to` field.");
  });

  test("429 waits at least Retry-After; 500 and a proxy's 502 page are retried", async () => {
    peer.scripts.push(() => resendError(429, "rate_limit_exceeded", "Too many requests.", { "retry-after": "2" }));
    const limited = await sender()
      .send(notification(mail), ctx)
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RetryableError);
    expect((limited as RetryableError).retryAfterMs).toBe(2000);
    peer.scripts.push(() => resendError(500, "application_error", "An unexpected error occurred."));
    expect(
      await sender()
        .send(notification(mail), ctx)
        .catch((e: unknown) => e),
    ).toBeInstanceOf(RetryableError);
    peer.scripts.push(() => new Response("<html>Bad Gateway</html>", { status: 502 }));
    expect(
      await sender()
        .send(notification(mail), ctx)
        .catch((e: unknown) => e),
    ).toBeInstanceOf(RetryableError);
    expect(peer.accepted).toHaveLength(0);
  });

  test("a payload that is not an email fails before any call", async () => {
    const err = await sender()
      .send(notification({ to: "not-an-address", subject: "x", body: "y" }), ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(peer.accepted).toHaveLength(0);
  });

  test("no answer within the timeout is retried", async () => {
    const silent = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Promise<Response>(() => {}) });
    try {
      const err = await sender({ baseUrl: `http://127.0.0.1:${silent.port}`, timeoutMs: 200 })
        .send(notification(mail), ctx)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RetryableError);
      expect((err as Error).message).toBe("resend timed out after 200 ms");
    } finally {
      await silent.stop(true);
    }
  });
});

test("classifies Resend's answers: the same key for another body fails, a concurrent one is retried, a 2xx without an id is still sent", () => {
  const conflict = classifyResendAnswer(409, JSON.stringify({ statusCode: 409, name: "invalid_idempotent_request", message: "x" }), null);
  expect(conflict).toBeInstanceOf(PermanentError);
  const concurrent = classifyResendAnswer(409, JSON.stringify({ statusCode: 409, name: "concurrent_idempotent_requests", message: "x" }), null);
  expect(concurrent).toBeInstanceOf(RetryableError);
  expect(classifyResendAnswer(200, "not json", null)).toEqual({});
  expect(classifyResendAnswer(401, JSON.stringify({ name: "restricted_api_key", message: "x" }), null)).toBeInstanceOf(RetryableError);
});
