// @herald/client against a real `herald gateway` (own namespace, database and Redis prefix).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  AuthenticationError,
  ForbiddenError,
  HeraldClient,
  type HeraldClientOptions,
  NotFoundError,
  type NotificationRequest,
  RateLimitedError,
  type RetryInfo,
  ValidationError,
} from "@herald/client";
import { ADMIN_KEY, OTHER_KEY, TENANT_KEY } from "./support/constants.ts";
import { type HeraldProcess, startHerald } from "./support/herald-process.ts";
import { createStack, type Stack } from "./support/stack.ts";

const IN_APP: NotificationRequest = { userId: "client-user", channel: "in_app", payload: { title: "Hi", body: "Hello from the client" } };

let stack: Stack;
let gateway: HeraldProcess;
const client = (apiKey: string, extra: Partial<HeraldClientOptions> = {}) =>
  new HeraldClient({ baseUrl: gateway.url, apiKey, timeoutMs: 10_000, retry: { baseDelayMs: 10 }, ...extra });

beforeAll(async () => {
  stack = await createStack();
  // Beta gets one request a second, so its second request in a row meets a 429.
  gateway = await startHerald("gateway", { ...stack.env, HERALD_RATE_LIMIT_TENANTS: "beta:1:1" });
}, 30_000);

afterAll(async () => {
  await gateway?.signal("SIGTERM");
  await stack?.cleanup();
});

describe("@herald/client against herald gateway", () => {
  test("sends a notification and reads it back, typed", async () => {
    const herald = client(TENANT_KEY);
    const accepted = await herald.notifications.send(IN_APP);
    expect(accepted.status).toBe("accepted");
    const view = await herald.notifications.get(accepted.id);
    expect({ id: view.id, userId: view.userId, channel: view.channel, status: view.status }).toEqual({
      id: accepted.id,
      userId: "client-user",
      channel: "in_app",
      status: "accepted",
    });
  });

  test("a send whose answer was lost is retried with the same Idempotency-Key and names the same notification", async () => {
    const answers: Array<{ key: string | null; id: string; replayed: string | null }> = [];
    let cut = false;
    // The gateway answers the first attempt, then the connection "drops" before the caller sees it.
    const flaky = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const res = await fetch(input, init);
      const body = (await res.clone().json()) as { id: string };
      answers.push({ key: new Headers(init?.headers).get("idempotency-key"), id: body.id, replayed: res.headers.get("idempotency-replayed") });
      if (!cut) {
        cut = true;
        throw new TypeError("socket hang up");
      }
      return res;
    }) as typeof fetch;
    const retries: RetryInfo[] = [];
    const accepted = await client(TENANT_KEY, { fetch: flaky, onRetry: (r) => retries.push(r) }).notifications.send(IN_APP);
    expect(retries).toHaveLength(1);
    expect(answers).toHaveLength(2);
    expect(answers[0]!.key).toBe(answers[1]!.key);
    expect(answers.map((a) => a.id)).toEqual([accepted.id, accepted.id]);
    expect(answers.map((a) => a.replayed)).toEqual([null, "true"]);
  });

  test("an invalid body is a ValidationError naming each field, sent once", async () => {
    let calls = 0;
    const counting = ((input: RequestInfo | URL, init?: RequestInit) => {
      calls++;
      return fetch(input, init);
    }) as typeof fetch;
    const err = await client(TENANT_KEY, { fetch: counting })
      .notifications.send({ userId: "client-user", channel: "email", payload: { to: "not-an-address", subject: "Hi", body: "Hello" } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect(v.status).toBe(400);
    expect(v.code).toBe("invalid_body");
    expect(v.errors.map((e) => e.path)).toContain("payload.to");
    expect(v.requestId).toBeString();
    expect(calls).toBe(1);
  });

  test("an unknown key is an AuthenticationError, another tenant's id a NotFoundError", async () => {
    await expect(client("no-such-key").notifications.list()).rejects.toBeInstanceOf(AuthenticationError);
    const id = (await client(TENANT_KEY).notifications.send(IN_APP)).id;
    const err = await client(OTHER_KEY)
      .notifications.get(id)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).status).toBe(404);
  });

  test("a key without the send scope is a ForbiddenError; the admin routes made it and audited it", async () => {
    const admin = client(ADMIN_KEY);
    const issued = await admin.admin.apiKeys.create({ tenantId: "acme", scopes: ["read"], name: "client test" });
    expect(issued.key).toStartWith("hk_live_");
    const reader = client(issued.key);
    const err = await reader.notifications.send(IN_APP).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForbiddenError);
    expect((err as ForbiddenError).code).toBe("forbidden");
    await expect(reader.notifications.list({ userId: "client-user" })).resolves.toHaveProperty("data");
    expect((await admin.admin.tenants.get("acme")).id).toBe("acme");
    const audit = await admin.admin.audit.list({ action: "api_key.created" });
    expect(audit.data.map((e) => e.target)).toContain(issued.id);
  });

  test("a 429 waits what Retry-After says, then succeeds", async () => {
    // The first may wait out the token the 404 test spent; the second, at once and without retries, meets the limit.
    await client(OTHER_KEY).notifications.send({ ...IN_APP, userId: "beta-user" });
    const limited = await client(OTHER_KEY, { retry: { maxAttempts: 1 } })
      .notifications.send({ ...IN_APP, userId: "beta-user" })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitedError);
    const retryAfter = (limited as RateLimitedError).retryAfter;
    expect(retryAfter).toBeGreaterThanOrEqual(1);

    const retries: RetryInfo[] = [];
    const started = performance.now();
    const accepted = await client(OTHER_KEY, { onRetry: (r) => retries.push(r) }).notifications.send({ ...IN_APP, userId: "beta-user" });
    expect(accepted.status).toBe("accepted");
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries[0]!.error).toBeInstanceOf(RateLimitedError);
    expect(retries[0]!.delayMs).toBe((retries[0]!.error as RateLimitedError).retryAfter! * 1000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(retries[0]!.delayMs - 50);
  }, 15_000);
});
