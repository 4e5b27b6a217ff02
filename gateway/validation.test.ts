import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { TENANT_KEY } from "../test/support/constants.ts";
import { createAppFixture, send, VALID, type AppFixture, type SendOptions } from "../test/support/gateway-fixture.ts";

let f: AppFixture;
beforeAll(async () => {
  f = await createAppFixture();
});
afterAll(async () => {
  await f.cleanup();
});

/** A cursor of the gateway's own shape around a timestamp it would never produce. */
function cursor(createdAt: string): string {
  return btoa(JSON.stringify([createdAt, "0190f0f0-0000-7000-8000-000000000000"]))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

interface Case {
  name: string;
  path?: string;
  opts: SendOptions;
  status: number;
  paths?: string[];
}

const email = VALID.email as { payload: Record<string, unknown> };
const big = "x".repeat(300 * 1024);
const hook = (extra: Record<string, unknown>) => ({ ...VALID.webhook, payload: { url: "https://hooks.example.com/in", body: {}, ...extra } });
const deep = (levels: number): string => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;
const nextYear = new Date().getUTCFullYear() + 2;

const CASES: Case[] = [
  { name: "missing fields", opts: { body: { channel: "email" } }, status: 400, paths: ["userId", "payload"] },
  { name: "wrong types", opts: { body: { ...VALID.email, userId: 42, priority: 5 } }, status: 400, paths: ["userId", "priority"] },
  { name: "an unknown channel", opts: { body: { userId: "u", channel: "pigeon", payload: {} } }, status: 400, paths: ["channel"] },
  { name: "an invalid email", opts: { body: { ...VALID.email, payload: { ...email.payload, to: "not-an-email" } } }, status: 400, paths: ["payload.to"] },
  {
    name: "a phone number that is not E.164",
    opts: { body: { ...VALID.sms, payload: { to: "0044 20 7946", body: "b" } } },
    status: 400,
    paths: ["payload.to"],
  },
  {
    name: "a webhook URL that is not http(s)",
    opts: { body: { ...VALID.webhook, payload: { url: "ftp://files.example.com", body: {} } } },
    status: 400,
    paths: ["payload.url"],
  },
  { name: "an unknown top-level field", opts: { body: { ...VALID.in_app, extra: true } }, status: 400, paths: [""] },
  { name: "malformed JSON", opts: { body: '{"userId": "u", ' }, status: 400 },
  { name: "a text/plain content type", opts: { body: JSON.stringify(VALID.email), headers: { "content-type": "text/plain" } }, status: 415 },
  { name: "an oversize body", opts: { body: { ...VALID.in_app, payload: { title: "t", body: big } } }, status: 413 },
  { name: "no API key", opts: { body: VALID.email, key: null }, status: 401 },
  { name: "an unknown API key", opts: { body: VALID.email, key: "wrong-key" }, status: 401 },
  { name: "a non-Bearer scheme", opts: { body: VALID.email, key: null, headers: { authorization: `Basic ${TENANT_KEY}` } }, status: 401 },
  {
    name: "1,001 batch items",
    path: "/v1/notifications/batch",
    opts: { body: { notifications: Array(1001).fill(VALID.email) } },
    status: 400,
    paths: ["notifications"],
  },
  { name: "an empty batch", path: "/v1/notifications/batch", opts: { body: { notifications: [] } }, status: 400, paths: ["notifications"] },
  // What Postgres could never store or a provider never send: refused here, not left to poison a batch.
  { name: "a NUL character in a webhook body", opts: { body: hook({ body: { s: "\u0000" } }) }, status: 400, paths: ["payload.body.s"] },
  { name: "a NUL character in a key", opts: { body: hook({ body: { "a\u0000b": 1 } }) }, status: 400, paths: ["payload.body.a\u0000b"] },
  { name: "a lone surrogate in the userId", opts: { body: { ...VALID.email, userId: "u\ud800" } }, status: 400, paths: ["userId"] },
  { name: "a lone surrogate in metadata", opts: { body: { ...VALID.email, metadata: { k: "\udc00x" } } }, status: 400, paths: ["metadata.k"] },
  {
    name: "JSON nested 6,000 levels in a webhook body",
    opts: { body: `{"userId":"u","channel":"webhook","payload":{"url":"https://hooks.example.com/","body":${deep(6000)}}}` },
    status: 400,
  },
  { name: "scheduledFor in year 0000", opts: { body: { ...VALID.email, scheduledFor: "0000-01-01T00:00:00Z" } }, status: 400, paths: ["scheduledFor"] },
  {
    name: "scheduledFor more than a year ahead",
    opts: { body: { ...VALID.email, scheduledFor: `${nextYear}-06-01T00:00:00Z` } },
    status: 400,
    paths: ["scheduledFor"],
  },
  { name: "scheduledFor on 30 February", opts: { body: { ...VALID.email, scheduledFor: "2027-02-30T00:00:00Z" } }, status: 400, paths: ["scheduledFor"] },
  {
    name: "a CR/LF in a webhook header value",
    opts: { body: hook({ headers: { "x-ref": "a\r\nx-injected: 1" } }) },
    status: 400,
    paths: ["payload.headers.x-ref"],
  },
  { name: "a webhook header name with a space", opts: { body: hook({ headers: { "x ref": "a" } }) }, status: 400, paths: ["payload.headers.x ref"] },
  {
    name: "a webhook header Herald sets itself",
    opts: { body: hook({ headers: { "Webhook-Signature": "v1,forged" } }) },
    status: 400,
    paths: ["payload.headers.Webhook-Signature"],
  },
  { name: "a non-ASCII webhook header value", opts: { body: hook({ headers: { "x-name": "Zoë" } }) }, status: 400, paths: ["payload.headers.x-name"] },
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

  test("a batch refuses an unstorable item with its path and accepts the rest", async () => {
    const before = await f.count();
    const res = await send(f.app, "/v1/notifications/batch", {
      body: {
        notifications: [
          VALID.email,
          hook({ body: { s: "\u0000" } }),
          JSON.parse(`{"userId":"u","channel":"webhook","payload":{"url":"https://hooks.example.com/","body":${deep(6000)}}}`),
        ],
      },
    });
    expect(res.status).toBe(207);
    const { results } = (await res.json()) as { results: { status: string; error?: { status: number; errors?: { path: string }[] } }[] };
    expect(results.map((r) => r.status)).toEqual(["accepted", "rejected", "rejected"]);
    expect(results[1]?.error?.errors?.map((e) => e.path)).toEqual(["payload.body.s"]);
    expect(results[2]?.error?.status).toBe(400);
    expect(results[2]?.error?.errors?.[0]?.path).toStartWith("payload.body.a.a.a");
    expect(await f.count()).toBe(before + 1);
  });

  test.each([
    ["a NUL userId on the list", "/v1/notifications?userId=%00", "userId"],
    ["a NUL userId on the inbox", "/v1/inbox?userId=%00", "userId"],
    ["a cursor dated 30 February", `/v1/notifications?cursor=${cursor("2026-02-30T00:00:00.000000Z")}`, "cursor"],
    ["a cursor in month 13", `/v1/notifications?cursor=${cursor("2026-13-01T00:00:00.000000Z")}`, "cursor"],
    ["a cursor in year 0000", `/v1/notifications?cursor=${cursor("0000-01-01T00:00:00.000000Z")}`, "cursor"],
    ["an inbox cursor dated 30 February", `/v1/inbox?userId=u&cursor=${cursor("2026-02-30T00:00:00.000000Z")}`, "cursor"],
  ])("%s → 400 with the parameter as path", async (_name, path, param) => {
    const res = await send(f.app, path);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toContain(param);
  });

  test("read-all with a NUL userId → 400 with its path", async () => {
    const res = await send(f.app, "/v1/inbox/read-all", { body: { userId: "\u0000" } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(["userId"]);
  });

  test("application/json with a charset parameter is accepted", async () => {
    const res = await send(f.app, "/v1/notifications", { body: VALID.email, headers: { "content-type": "Application/JSON; charset=utf-8" } });
    expect(res.status).toBe(202);
  });
});
