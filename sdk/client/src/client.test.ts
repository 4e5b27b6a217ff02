import { describe, expect, test } from "bun:test";
import { HeraldClient } from "./client.ts";
import { ConflictError, HeraldNetworkError, HeraldTimeoutError, RateLimitedError, ServerError, UnavailableError, ValidationError } from "./errors.ts";
import type { RetryInfo } from "./transport.ts";

const SEND = { userId: "u-1", channel: "in_app", payload: { title: "Hi", body: "Hello" } } as const;
const ACCEPTED = { id: "0199a3f4-6a7b-7c8d-9e0f-112233445566", status: "accepted", acceptedAt: "2026-12-07T10:00:00.000Z" };

const problem = (status: number, code: string, headers: Record<string, string> = {}, extra: object = {}) =>
  new Response(JSON.stringify({ type: `https://herald.dev/problems/${code}`, title: code, status, detail: `${code} detail`, requestId: "r-1", ...extra }), {
    status,
    headers: { "content-type": "application/problem+json", ...headers },
  });

/** A fetch that answers from a script, one step per request, and keeps what it was sent. */
function scripted(...steps: Array<Response | Error>) {
  const seen: Array<{ method: string; url: string; headers: Headers }> = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    seen.push({ method: init?.method ?? "GET", url: String(input), headers: new Headers(init?.headers) });
    const step = steps.shift();
    if (step === undefined) throw new Error("script ran out");
    if (step instanceof Error) throw step;
    return step;
  }) as typeof globalThis.fetch;
  return { fetch, seen };
}

function client(fetch: typeof globalThis.fetch, retries: RetryInfo[] = [], timeoutMs = 10_000) {
  return new HeraldClient({
    baseUrl: "http://herald.test/",
    apiKey: "k-1",
    fetch,
    timeoutMs,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    onRetry: (r) => retries.push(r),
  });
}

describe("HeraldClient retries", () => {
  test("reuses one generated Idempotency-Key across retries of a send after 409 in flight and 503", async () => {
    const s = scripted(problem(409, "idempotency_in_flight"), problem(503, "unavailable"), Response.json(ACCEPTED, { status: 202 }));
    const retries: RetryInfo[] = [];
    await expect(client(s.fetch, retries).notifications.send(SEND)).resolves.toEqual(ACCEPTED as never);
    const keys = s.seen.map((r) => r.headers.get("idempotency-key"));
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(keys).size).toBe(1);
    expect(retries.map((r) => [r.attempt, r.idempotencyKey])).toEqual([
      [2, keys[0]!],
      [3, keys[0]!],
    ]);
    expect(s.seen[0]!.url).toBe("http://herald.test/v1/notifications");
    expect(s.seen[0]!.headers.get("authorization")).toBe("Bearer k-1");
  });

  test("sends the caller's Idempotency-Key as it is", async () => {
    const s = scripted(Response.json(ACCEPTED, { status: 202 }));
    await client(s.fetch).notifications.send(SEND, { idempotencyKey: "order-1" });
    expect(s.seen[0]!.headers.get("idempotency-key")).toBe("order-1");
  });

  test("waits what Retry-After asks on 429", async () => {
    const s = scripted(problem(429, "rate_limited", { "retry-after": "1" }), Response.json(ACCEPTED, { status: 202 }));
    const retries: RetryInfo[] = [];
    const started = performance.now();
    await client(s.fetch, retries).notifications.send(SEND);
    expect(retries[0]!.delayMs).toBe(1000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
  });

  test("does not retry a 400 and names each bad field", async () => {
    const s = scripted(problem(400, "invalid_body", {}, { errors: [{ path: "payload.to", message: "Invalid email address" }] }));
    const err = await client(s.fetch)
      .notifications.send(SEND)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).errors).toEqual([{ path: "payload.to", message: "Invalid email address" }]);
    expect((err as ValidationError).code).toBe("invalid_body");
    expect(s.seen).toHaveLength(1);
  });

  test("does not retry another 409 or a 422 with another body", async () => {
    const s = scripted(problem(409, "not_cancellable"), problem(422, "idempotency_mismatch"));
    const c = client(s.fetch);
    await expect(c.notifications.cancel("n-1")).rejects.toBeInstanceOf(ConflictError);
    await expect(c.notifications.send(SEND)).rejects.toBeInstanceOf(ConflictError);
    expect(s.seen).toHaveLength(2);
  });

  test("repeats a network failure of a GET, never of a POST without an Idempotency-Key", async () => {
    const s = scripted(new TypeError("fetch failed"), Response.json({ data: [], nextCursor: null }), new TypeError("fetch failed"));
    const c = client(s.fetch);
    await expect(c.notifications.list()).resolves.toEqual({ data: [], nextCursor: null });
    await expect(c.templates.create({ name: "t", category: "news", content: { locales: {} } })).rejects.toBeInstanceOf(HeraldNetworkError);
    expect(s.seen).toHaveLength(3);
  });

  test("stops after maxAttempts with the last answer's error", async () => {
    const s = scripted(problem(503, "unavailable"), problem(503, "unavailable"));
    await expect(client(s.fetch).notifications.get("n-1", { maxAttempts: 2 })).rejects.toBeInstanceOf(UnavailableError);
    expect(s.seen).toHaveLength(2);
  });

  test("gives up at once when Retry-After runs past the deadline", async () => {
    const s = scripted(problem(429, "daily_cap", { "retry-after": "3600" }));
    const err = await client(s.fetch)
      .notifications.send(SEND)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfter).toBe(3600);
    expect(s.seen).toHaveLength(1);
  });

  test("an abort during the backoff rejects with the signal's reason", async () => {
    const s = scripted(problem(503, "unavailable", { "retry-after": "5" }));
    const controller = new AbortController();
    const call = client(s.fetch).notifications.get("n-1", { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("caller gave up")), 20);
    await expect(call).rejects.toThrow("caller gave up");
  });

  test("the deadline ends a call whose answer never comes", async () => {
    const hanging = ((_: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)))) as typeof fetch;
    await expect(client(hanging, [], 50).notifications.get("n-1")).rejects.toBeInstanceOf(HeraldTimeoutError);
  });

  test("an answer that is not problem+json still becomes a typed error", async () => {
    const s = scripted(new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" }));
    const err = await client(s.fetch)
      .notifications.get("n-1")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect((err as ServerError).title).toBe("Bad Gateway");
  });
});
