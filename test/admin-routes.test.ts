import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstream } from "@nats-io/jetstream";
import { eq } from "drizzle-orm";
import { deadLetterAdmin } from "../processor/dead-letter-admin.ts";
import { createScheduler } from "../processor/scheduler.ts";
import { envelope } from "./support/processor-harness.ts";
import type { ReplayReport } from "../schemas/dead-letter.ts";
import { notifications } from "../schemas/tables.ts";
import { createApp } from "../gateway/app.ts";
import { ADMIN_KEY, TENANT_KEY } from "./support/constants.ts";
import { eventually } from "./support/eventually.ts";
import { ADMIN_KEYS, createAppFixture, send, type AppFixture } from "./support/gateway-fixture.ts";
import { silentLogger } from "./support/loggers.ts";

let f: AppFixture;
let app: ReturnType<typeof createApp>;
const failed = envelope({ channel: "email", tenantId: "acme", payload: { to: "a@example.com", subject: "Hi", body: "x" } });
// Older failures of another tenant, for the pages.
const older = [1, 2, 3].map((n) => ({
  e: envelope({ channel: "sms", tenantId: "beta", payload: { to: "+14155550100", body: `n${n}` } }),
  at: new Date(Date.UTC(2026, 10, 20, 6, 0, n)),
}));

beforeAll(async () => {
  f = await createAppFixture();
  await f.jsm.streams.add({ name: f.topo.streams.dlq, subjects: [f.topo.wildcards.dlq] });
  await f.jsm.streams.add({ name: f.topo.streams.events, subjects: [f.topo.wildcards.events] });
  const db = f.db.db;
  app = createApp({ ...f.deps, admin: { keys: ADMIN_KEYS, deadLetters: deadLetterAdmin(f.nc, { db, publisher: f.out, topo: f.topo, log: silentLogger }) } });
  // Notifications that failed for good, as the processor leaves their rows; the dead letter of the first only is still in the stream.
  await db.insert(notifications).values({
    id: failed.id,
    tenantId: "acme",
    userId: failed.userId,
    channel: "email",
    type: "transactional",
    priority: "normal",
    status: "failed",
    attempts: 3,
    lastError: "smtp EENVELOPE: 550",
    payload: failed.payload,
  });
  for (const { e, at } of older) {
    await db.insert(notifications).values({
      id: e.id,
      tenantId: "beta",
      userId: e.userId,
      channel: "sms",
      type: "transactional",
      priority: "normal",
      status: "failed",
      attempts: 8,
      lastError: "twilio 503",
      payload: e.payload,
      createdAt: at,
      updatedAt: at,
    });
  }
  const js = jetstream(f.nc);
  await js.publish(
    f.topo.dlqSubject("email"),
    JSON.stringify({ v: 1, reason: "failed", error: "smtp EENVELOPE: 550", attempts: 3, failedAt: "2026-11-26T06:00:00.000Z", envelope: failed }),
  );
  await js.publish(
    `${f.topo.namespace}.v1.dlq.invalid`,
    JSON.stringify({ v: 1, reason: "invalid", error: "not JSON", failedAt: "2026-11-26T06:00:01.000Z", subject: "x", raw: "garbage" }),
  );
});
afterAll(async () => {
  await f.cleanup();
});

const admin = (path: string, opts: { body?: unknown; key?: string | null } = {}) =>
  send(app, `/admin/v1${path}`, { key: opts.key === undefined ? ADMIN_KEY : opts.key, ...(opts.body !== undefined ? { body: opts.body } : {}) });
type List = { data: { id: string; tenantId: string; channel: string; error: string | null; attempts: number; failedAt: string }[]; nextCursor: string | null };
const list = async (query = "") => (await (await admin(`/dead-letters${query}`)).json()) as List;

describe("/admin/v1", () => {
  test("needs an admin key: 401 without one or with an unknown one, 403 with a tenant's", async () => {
    expect((await admin("/dead-letters", { key: null })).status).toBe(401);
    expect((await admin("/dead-letters", { key: "not-a-known-key-000" })).status).toBe(401);
    const forbidden = await admin("/dead-letters", { key: TENANT_KEY });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get("content-type")).toBe("application/problem+json");
    expect((await admin("/dead-letters/invalid", { key: TENANT_KEY })).status).toBe(403);
  });

  test("lists the failed rows oldest failure first, without payloads, filtered by channel or tenant; a bad filter is 400 with its path", async () => {
    const all = await list();
    expect(all.data.map((d) => [d.id, d.tenantId, d.channel, d.attempts])).toEqual([
      ...older.map(({ e }) => [e.id, "beta", "sms", 8]),
      [failed.id, "acme", "email", 3],
    ]);
    expect(all.data[0]).toMatchObject({ error: "twilio 503", failedAt: "2026-11-20T06:00:01.000Z" });
    expect(all.nextCursor).toBeNull();
    expect(JSON.stringify(all)).not.toContain("a@example.com");
    expect((await list("?tenant=acme")).data.map((d) => d.id)).toEqual([failed.id]);
    expect((await list("?channel=push")).data).toEqual([]);
    const bad = await admin("/dead-letters?channel=fax&limit=0");
    expect(bad.status).toBe(400);
    const problem = (await bad.json()) as { type: string; errors: { path: string }[] };
    expect(problem.type).toBe("https://herald.dev/problems/invalid_query");
    expect(problem.errors.map((e) => e.path).sort()).toEqual(["channel", "limit"]);
  });

  test("pages with a cursor: each row once, in order, and a cursor it did not issue is 400", async () => {
    const seen: string[] = [];
    let cursor: string | null = "";
    let pages = 0;
    while (cursor !== null) {
      const page: List = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.data.map((d) => d.id));
      cursor = page.nextCursor;
      pages++;
    }
    expect(pages).toBe(2);
    expect(seen).toEqual([...older.map(({ e }) => e.id), failed.id]);
    const filtered = await list("?tenant=beta&limit=2");
    expect((await list(`?tenant=beta&limit=2&cursor=${filtered.nextCursor}`)).data.map((d) => d.id)).toEqual(older.slice(2).map(({ e }) => e.id));
    const bad = await admin("/dead-letters?cursor=not-ours");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(["cursor"]);
  });

  test("lists the messages that were not envelopes from the stream, under their own route", async () => {
    const res = await admin("/dead-letters/invalid");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { seq: number; subject: string; error: string }[]; nextCursor: string | null };
    expect(body.data.map((d) => [d.seq, d.subject, d.error])).toEqual([[2, "x", "not JSON"]]);
    expect(body.nextCursor).toBeNull();
    expect(JSON.stringify(body)).not.toContain("garbage");
    const first = (await (await admin("/dead-letters/invalid?limit=1")).json()) as { data: unknown[]; nextCursor: string | null };
    expect(first).toEqual({ data: body.data, nextCursor: null });
    expect(((await (await admin("/dead-letters/invalid?cursor=2")).json()) as { data: unknown[] }).data).toEqual([]);
    expect((await admin("/dead-letters/invalid?cursor=-1")).status).toBe(400);
  });

  test("replays from Postgres: a dry run changes nothing, then the row goes retrying and the scheduler puts its envelope back in the work stream", async () => {
    expect((await admin("/dead-letters/replay", { body: { dryRun: true, surprise: 1 } })).status).toBe(400);
    const badSince = await admin("/dead-letters/replay", { body: { since: "2026-11-26" } });
    expect(badSince.status).toBe(400);
    expect(((await badSince.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(["since"]);
    const dry = (await (await admin("/dead-letters/replay", { body: { dryRun: true } })).json()) as ReplayReport;
    expect(dry).toEqual({ dryRun: true, wouldReplay: [...older.map(({ e }) => e.id), failed.id], unreplayable: [] });
    const recent = (await (await admin("/dead-letters/replay", { body: { dryRun: true, since: "2026-11-21T00:00:00+01:00" } })).json()) as ReplayReport;
    expect(recent).toEqual({ dryRun: true, wouldReplay: [failed.id], unreplayable: [] });
    const [before] = await f.db.db.select({ status: notifications.status }).from(notifications).where(eq(notifications.id, failed.id));
    expect(before?.status).toBe("failed");

    const work = await f.count();
    const res = await admin("/dead-letters/replay", { body: { channel: "email" } });
    expect(res.status).toBe(200);
    expect((await res.json()) as ReplayReport).toEqual({ dryRun: false, replayed: [failed.id], unreplayable: [], skipped: 0 });
    const [after] = await f.db.db.select({ status: notifications.status }).from(notifications).where(eq(notifications.id, failed.id));
    expect(after?.status).toBe("retrying");
    expect(await f.count()).toBe(work);
    // Released by the scheduler a processor runs.
    const scheduler = createScheduler({ db: f.db.db, publisher: f.out, topo: f.topo, log: silentLogger, options: { pollMs: 20, batchSize: 100 } });
    scheduler.start();
    try {
      await eventually(async () => (await f.count()) === work + 1, { label: "the replay published" });
    } finally {
      await scheduler.stop();
    }
    const sent = await f.message(work + 1);
    // The replay's attempt base, then its due time (ms): each release of a notification is its own.
    expect(sent.msgId).toMatch(new RegExp(`^acme:${failed.id}:release:3:\\d+$`));
    expect(sent.envelope).toMatchObject({ id: failed.id, payload: failed.payload, attemptBase: 3 });
    expect((await list()).data.map((d) => d.id)).toEqual(older.map(({ e }) => e.id));
  });

  test("does not exist without admin keys", async () => {
    expect((await send(createApp(f.deps), "/admin/v1/dead-letters", { key: ADMIN_KEY })).status).toBe(404);
  });
});
