import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApp } from "./app.ts";
import type { GatewayStore } from "./store/types.ts";
import { createAppFixture, send, VALID, type AppFixture } from "../test/support/gateway-fixture.ts";
import { captureLogs } from "../test/support/loggers.ts";
import type { NotificationReader } from "../schemas/views.ts";

let f: AppFixture;
beforeAll(async () => {
  f = await createAppFixture();
});
afterAll(async () => {
  await f.cleanup();
});

describe("createApp", () => {
  test("answers an unknown route with a 404 problem and its request id", async () => {
    const res = await send(f.app, "/nowhere", { key: null });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await res.json()) as { requestId: string; type: string };
    expect(problem.requestId).toBe(res.headers.get("x-request-id") ?? "missing");
    expect(problem.type).toBe("https://herald.dev/problems/not_found");
    expect((await send(f.app, "/v1/nowhere")).status).toBe(404);
    expect((await send(f.app, "/v1/nowhere", { key: null })).status).toBe(401);
  });

  test("replaces an unusable X-Request-Id with a generated one", async () => {
    const res = await send(f.app, "/health/live", { key: null, headers: { "x-request-id": "has spaces in it" } });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("turns an unexpected error into an opaque 500 and logs it", async () => {
    const { logger, lines } = captureLogs("error");
    const reader: NotificationReader = { ...f.deps.reader, get: () => Promise.reject(new Error("secret connection string")) };
    const app = createApp({ ...f.deps, reader, logger });
    const res = await send(app, "/v1/notifications/0190b6a0-0000-7000-8000-000000000000");
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("secret");
    expect(JSON.parse(text)).toMatchObject({ status: 500, title: "Internal server error" });
    expect(JSON.stringify(lines)).toContain("secret connection string");
  });

  test("answers 503 with Retry-After when the idempotency store is down, and publishes nothing", async () => {
    const down: GatewayStore = { ...f.deps.store, claim: () => Promise.reject(new Error("ECONNREFUSED")) };
    const app = createApp({ ...f.deps, store: down });
    const before = await f.count();
    const res = await send(app, "/v1/notifications", { body: VALID.email, headers: { "idempotency-key": "store-down" } });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await f.count()).toBe(before);
  });

  test("still answers 202 when the store cannot record an already durable message", async () => {
    const flaky: GatewayStore = { ...f.deps.store, remember: () => Promise.reject(new Error("timeout")) };
    const app = createApp({ ...f.deps, store: flaky });
    const res = await send(app, "/v1/notifications", { body: VALID.email });
    expect(res.status).toBe(202);
  });
});
