import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createAppFixture, send, TENANT_KEY, VALID, type AppFixture, type SendOptions } from "./test-fixture.ts";

let f: AppFixture;
beforeAll(async () => {
  f = await createAppFixture();
});
afterAll(async () => {
  await f.cleanup();
});

interface Case {
  name: string;
  path?: string;
  opts: SendOptions;
  status: number;
  paths?: string[];
}

const email = VALID.email as { payload: Record<string, unknown> };
const big = "x".repeat(300 * 1024);

const CASES: Case[] = [
  { name: "missing fields", opts: { body: { channel: "email" } }, status: 400, paths: ["userId", "payload"] },
  { name: "wrong types", opts: { body: { ...VALID.email, userId: 42, priority: 5 } }, status: 400, paths: ["userId", "priority"] },
  { name: "an unknown channel", opts: { body: { userId: "u", channel: "pigeon", payload: {} } }, status: 400, paths: ["channel"] },
  { name: "an invalid email", opts: { body: { ...VALID.email, payload: { ...email.payload, to: "not-an-email" } } }, status: 400, paths: ["payload.to"] },
  { name: "a phone number that is not E.164", opts: { body: { ...VALID.sms, payload: { to: "0044 20 7946", body: "b" } } }, status: 400, paths: ["payload.to"] },
  { name: "a webhook URL that is not http(s)", opts: { body: { ...VALID.webhook, payload: { url: "ftp://files.example.com", body: {} } } }, status: 400, paths: ["payload.url"] },
  { name: "an unknown top-level field", opts: { body: { ...VALID.in_app, extra: true } }, status: 400, paths: [""] },
  { name: "malformed JSON", opts: { body: '{"userId": "u", ' }, status: 400 },
  { name: "a text/plain content type", opts: { body: JSON.stringify(VALID.email), headers: { "content-type": "text/plain" } }, status: 415 },
  { name: "an oversize body", opts: { body: { ...VALID.in_app, payload: { title: "t", body: big } } }, status: 413 },
  { name: "no API key", opts: { body: VALID.email, key: null }, status: 401 },
  { name: "an unknown API key", opts: { body: VALID.email, key: "wrong-key" }, status: 401 },
  { name: "a non-Bearer scheme", opts: { body: VALID.email, key: null, headers: { authorization: `Basic ${TENANT_KEY}` } }, status: 401 },
  { name: "1,001 batch items", path: "/v1/notifications/batch", opts: { body: { notifications: Array(1001).fill(VALID.email) } }, status: 400, paths: ["notifications"] },
  { name: "an empty batch", path: "/v1/notifications/batch", opts: { body: { notifications: [] } }, status: 400, paths: ["notifications"] },
];

describe("rejected requests", () => {
  test.each(CASES)("$name → $status problem+json, nothing published, nothing stored", async (c) => {
    const before = await f.count();
    const key = `bad-${c.name}`;
    const res = await send(f.app, c.path ?? "/v1/notifications", { ...c.opts, headers: { "idempotency-key": key.replaceAll(" ", "-"), ...c.opts.headers } });
    expect(res.status).toBe(c.status);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await res.json()) as { type: string; status: number; title: string; requestId: string; errors?: { path: string }[] };
    expect(problem).toMatchObject({ status: c.status, requestId: res.headers.get("x-request-id") ?? "missing" });
    expect(problem.type).toStartWith("https://herald.dev/problems/");
    if (c.paths) expect(problem.errors?.map((e) => e.path)).toEqual(c.paths);
    expect(await f.count()).toBe(before);
    expect(await f.deps.store.claim("acme", key.replaceAll(" ", "-"), "probe", 1_000)).toEqual({ kind: "claimed" });
  });

  test("a chunked upload is cut off at the limit even without a Content-Length", async () => {
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 1;
        if (sent > 64) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const res = await f.app.request("/v1/notifications", {
      method: "POST",
      headers: { authorization: `Bearer ${TENANT_KEY}`, "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(sent).toBeLessThan(10);
  });

  test("an Idempotency-Key with spaces is refused with the header as path", async () => {
    const res = await send(f.app, "/v1/notifications", { body: VALID.email, headers: { "idempotency-key": "has space" } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { path: string }[] }).errors[0]?.path).toBe("Idempotency-Key");
  });

  test("a 401 names the Bearer scheme and never reaches validation", async () => {
    const res = await send(f.app, "/v1/notifications", { body: "not json", key: null });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
  });

  test("application/json with a charset parameter is accepted", async () => {
    const res = await send(f.app, "/v1/notifications", { body: VALID.email, headers: { "content-type": "Application/JSON; charset=utf-8" } });
    expect(res.status).toBe(202);
  });
});
