import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstream } from "@nats-io/jetstream";
import { eq } from "drizzle-orm";
import { listDeadLetters, replayDeadLetters } from "../../processor/replay.ts";
import { envelope } from "../../processor/test-harness.ts";
import { notifications } from "../../schemas/tables.ts";
import { createApp } from "../app.ts";
import { createAppFixture, send, TENANT_KEY, type AppFixture } from "../test-fixture.ts";

const ADMIN_KEY = "admin-key-ops-0123456789";
let f: AppFixture;
let app: ReturnType<typeof createApp>;
const failed = envelope({ channel: "email", tenantId: "acme", payload: { to: "a@example.com", subject: "Hi", body: "x" } });

beforeAll(async () => {
  f = await createAppFixture();
  await f.jsm.streams.add({ name: f.topo.streams.dlq, subjects: [f.topo.wildcards.dlq] });
  await f.jsm.streams.add({ name: f.topo.streams.events, subjects: [f.topo.wildcards.events] });
  const db = f.db.db;
  app = createApp({
    ...f.deps,
    admin: {
      keys: new Map([[ADMIN_KEY, "ops"]]),
      deadLetters: { list: (q) => listDeadLetters(f.nc, f.topo, q), replay: (o) => replayDeadLetters(f.nc, db, f.topo, o) },
    },
  });
  // One notification that failed for good, and one piece of garbage, as the processor dead-letters them.
  await db.insert(notifications).values({ id: failed.id, tenantId: "acme", userId: failed.userId, channel: "email", type: "transactional", priority: "normal", status: "failed", attempts: 3, lastError: "smtp EENVELOPE: 550", payload: failed.payload });
  const js = jetstream(f.nc);
  await js.publish(f.topo.dlqSubject("email"), JSON.stringify({ v: 1, reason: "failed", error: "smtp EENVELOPE: 550", attempts: 3, failedAt: "2026-11-26T06:00:00.000Z", envelope: failed }));
  await js.publish(`${f.topo.namespace}.v1.dlq.invalid`, JSON.stringify({ v: 1, reason: "invalid", error: "not JSON", failedAt: "2026-11-26T06:00:01.000Z", subject: "x", raw: "garbage" }));
});
afterAll(async () => {
  await f.cleanup();
});

const admin = (path: string, opts: { body?: unknown; key?: string | null } = {}) => send(app, `/admin/v1${path}`, { key: opts.key === undefined ? ADMIN_KEY : opts.key, ...(opts.body !== undefined ? { body: opts.body } : {}) });

describe("/admin/v1", () => {
  test("needs an admin key: 401 without one or with an unknown one, 403 with a tenant's", async () => {
    expect((await admin("/dead-letters", { key: null })).status).toBe(401);
    expect((await admin("/dead-letters", { key: "not-a-known-key-000" })).status).toBe(401);
    const forbidden = await admin("/dead-letters", { key: TENANT_KEY });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get("content-type")).toBe("application/problem+json");
  });

  test("lists dead letters without payloads, filtered by channel or tenant; a bad filter is 400 with its path", async () => {
    const all = (await (await admin("/dead-letters")).json()) as { data: { id: string | null; reason: string; channel: string; attempts: number | null }[]; total: number };
    expect(all.total).toBe(2);
    expect(all.data.map((d) => [d.reason, d.id, d.channel, d.attempts])).toEqual([
      ["failed", failed.id, "email", 3],
      ["invalid", null, "invalid", null],
    ]);
    expect(JSON.stringify(all)).not.toContain("a@example.com");
    expect(((await (await admin("/dead-letters?tenant=acme")).json()) as { data: unknown[] }).data.length).toBe(1);
    expect(((await (await admin("/dead-letters?channel=sms")).json()) as { data: unknown[] }).data.length).toBe(0);
    const bad = await admin("/dead-letters?channel=fax&limit=0");
    expect(bad.status).toBe(400);
    const problem = (await bad.json()) as { type: string; errors: { path: string }[] };
    expect(problem.type).toBe("https://herald.dev/problems/invalid_query");
    expect(problem.errors.map((e) => e.path).sort()).toEqual(["channel", "limit"]);
  });

  test("replays: a dry run changes nothing, then the row goes retrying, its envelope is back in the work stream and its dead letter is gone", async () => {
    expect((await admin("/dead-letters/replay", { body: { dryRun: true, surprise: 1 } })).status).toBe(400);
    const dry = (await (await admin("/dead-letters/replay", { body: { dryRun: true } })).json()) as { replayed: string[]; invalid: number };
    expect(dry).toMatchObject({ replayed: [failed.id], invalid: 1 });
    const [before] = await f.db.db.select({ status: notifications.status }).from(notifications).where(eq(notifications.id, failed.id));
    expect(before?.status).toBe("failed");

    const work = await f.count();
    const res = await admin("/dead-letters/replay", { body: { channel: "email" } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { replayed: string[] }).replayed).toEqual([failed.id]);
    const [after] = await f.db.db.select({ status: notifications.status }).from(notifications).where(eq(notifications.id, failed.id));
    expect(after?.status).toBe("retrying");
    expect(await f.count()).toBe(work + 1);
    const left = (await (await admin("/dead-letters")).json()) as { data: { reason: string }[] };
    expect(left.data.map((d) => d.reason)).toEqual(["invalid"]);
  });

  test("does not exist without admin keys", async () => {
    expect((await send(createApp(f.deps), "/admin/v1/dead-letters", { key: ADMIN_KEY })).status).toBe(404);
  });
});
