import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createApp } from "../app.ts";
import type { ReadinessCheck } from "../context.ts";
import { createAppFixture, send, type AppFixture } from "../../test/support/gateway-fixture.ts";

let f: AppFixture;
beforeAll(async () => {
  f = await createAppFixture();
});
afterAll(async () => {
  await f.cleanup();
});

function realChecks(): ReadinessCheck[] {
  return [
    { name: "nats", check: async () => void (await f.nc.rtt()) },
    { name: "postgres", check: async () => void (await f.db.db.execute(sql`select 1`)) },
    { name: "idempotency", check: () => f.deps.store.ping() },
  ];
}

type Report = { status: string; checks: Record<string, { ok: boolean; latencyMs: number; error?: string }> };

describe("/health", () => {
  test("live answers 200 without an API key", async () => {
    const res = await send(f.app, "/health/live", { key: null });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  test("ready answers 200 with each dependency's latency when all answer", async () => {
    const app = createApp({ ...f.deps, readiness: realChecks() });
    const res = await send(app, "/health/ready", { key: null });
    expect(res.status).toBe(200);
    const report = (await res.json()) as Report;
    expect(report.status).toBe("ok");
    expect(Object.keys(report.checks).sort()).toEqual(["idempotency", "nats", "postgres"]);
    for (const check of Object.values(report.checks)) {
      expect(check.ok).toBe(true);
      expect(check.latencyMs).toBeGreaterThanOrEqual(0);
    }
  });

  test("ready answers 503 naming the failing and the hung dependency, within the deadline", async () => {
    const readiness: ReadinessCheck[] = [
      ...realChecks(),
      { name: "broken", check: () => Promise.reject(new Error("connection refused")) },
      { name: "hung", check: () => new Promise<void>(() => {}) },
    ];
    const app = createApp({ ...f.deps, readiness, options: { readinessTimeoutMs: 100 } });
    const started = Date.now();
    const res = await send(app, "/health/ready", { key: null });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(res.status).toBe(503);
    const report = (await res.json()) as Report;
    expect(report.status).toBe("unavailable");
    expect(report.checks.nats?.ok).toBe(true);
    expect(report.checks.broken).toMatchObject({ ok: false, error: "connection refused" });
    expect(report.checks.hung).toMatchObject({ ok: false, error: "no answer within 100 ms" });
  });

  test("startup answers 503 until every startup check passed once, then 200 without asking again", async () => {
    let streamsReady = false;
    let asked = 0;
    const startup: ReadinessCheck[] = [
      { name: "migrations", check: async () => void (await f.db.db.execute(sql`select 1 from notifications limit 0`)) },
      {
        name: "streams",
        check: async () => {
          asked += 1;
          if (!streamsReady) throw new Error("stream HERALD not found");
        },
      },
    ];
    const app = createApp({ ...f.deps, startup });
    const first = await send(app, "/health/startup", { key: null });
    expect(first.status).toBe(503);
    expect(((await first.json()) as Report).checks.streams).toMatchObject({ ok: false, error: "stream HERALD not found" });
    streamsReady = true;
    expect((await send(app, "/health/startup", { key: null })).status).toBe(200);
    streamsReady = false;
    const later = await send(app, "/health/startup", { key: null });
    expect(later.status).toBe(200);
    expect(asked).toBe(2);
  });

  test("ready carries the extra details it is given, e.g. the lane backlog of an embedded processor", async () => {
    const lanes = { urgent: { pending: 0, ackPending: 0 }, high: { pending: 3, ackPending: 1 } };
    const app = createApp({ ...f.deps, readiness: realChecks(), readinessDetails: async () => ({ lanes }) });
    const res = await send(app, "/health/ready", { key: null });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok", lanes });
  });
});
