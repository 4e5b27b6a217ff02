import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstream } from "@nats-io/jetstream";
import { eq } from "drizzle-orm";
import { uuidv7 } from "../ids.ts";
import { OTHER_KEY } from "../../test/support/constants.ts";
import { createAppFixture, send, type AppFixture } from "../../test/support/gateway-fixture.ts";
import { recordSuppressions } from "../../lib/db/suppressions.ts";
import { addSchedules } from "../../lib/db/schedules.ts";
import { eraseUserDeadLetters } from "../../lib/nats/dead-letters.ts";
import type { Channel, Status } from "../../schemas/enums.ts";
import { deliveryAttempts, notifications, schedules, suppressions } from "../../schemas/tables.ts";
import { createApp } from "../app.ts";

let f: AppFixture;
let app: ReturnType<typeof createApp>;
beforeAll(async () => {
  f = await createAppFixture();
  await f.jsm.streams.add({ name: f.topo.streams.dlq, subjects: [f.topo.wildcards.dlq] });
  const deadLetters = { eraseUser: (tenantId: string, userId: string) => eraseUserDeadLetters(f.nc, f.topo, tenantId, userId) };
  app = createApp({ ...f.deps, recipients: { db: f.db.db, deadLetters } });
});
afterAll(async () => {
  await f.cleanup();
});

const tag = () => uuidv7().slice(-12);
const put = (path: string, body: unknown, key?: string) => send(app, path, { method: "PUT", body, ...(key ? { key } : {}) });

/** A user's recipient data, with addresses unique to this test run. */
function person() {
  const t = tag();
  const digits = String(Number.parseInt(t.slice(-7), 16) % 10_000_000).padStart(7, "0");
  return { userId: `user-${t}`, email: `ada.${t}@example.com`, phone: `+1415${digits}`, token: `device-token-${t}` };
}
type Person = ReturnType<typeof person>;

/** Notifications of each kind for the person, stored as the processor would have: sent, failed with an error, scheduled, in-app. */
async function history(tenantId: string, p: Person) {
  const row = (channel: Channel, status: Status, payload: Record<string, unknown>, extra: Partial<typeof notifications.$inferInsert> = {}) => ({
    id: uuidv7(),
    createdAt: new Date(),
    tenantId,
    userId: p.userId,
    channel,
    type: "transactional" as const,
    priority: "normal" as const,
    status,
    payload,
    metadata: { ref: `order for ${p.email}` },
    attempts: 1,
    ...extra,
  });
  const rows = [
    row("email", "sent", { to: p.email.toUpperCase(), subject: "Hi", body: `Hello ${p.email}` }),
    row("sms", "failed", { to: p.phone, body: "Code 1234" }, { lastError: `21211: invalid To number ${p.phone}` }),
    row("push", "sent", { to: p.token, title: "Hi", body: "Hello" }),
    row("in_app", "sent", { title: "Hi", body: `Your address ${p.email}` }),
    row("email", "scheduled", { to: p.email, subject: "Later", body: "Soon" }, { attempts: 0, scheduledFor: new Date(Date.now() + 3_600_000) }),
  ];
  await f.db.db.insert(notifications).values(rows);
  await f.db.db.insert(deliveryAttempts).values([
    {
      notificationId: rows[0]!.id,
      notificationCreatedAt: rows[0]!.createdAt,
      attempt: 1,
      provider: "smtp",
      outcome: "sent" as const,
      latencyMs: 5,
      error: null,
    },
    {
      notificationId: rows[1]!.id,
      notificationCreatedAt: rows[1]!.createdAt,
      attempt: 1,
      provider: "twilio",
      outcome: "permanent_error" as const,
      latencyMs: 5,
      error: `rejected ${p.phone}`,
    },
  ]);
  await addSchedules(f.db.db, [
    { id: rows[4]!.id, createdAt: rows[4]!.createdAt.toISOString(), dueAt: new Date(Date.now() + 3_600_000).toISOString(), reason: "scheduled" },
  ]);
  await recordSuppressions(f.db.sql, [
    { tenantId, channel: "email", address: p.email, reason: `550 no such user ${p.email}`, source: "bounce", notificationId: rows[0]!.id },
    { tenantId, channel: "sms", address: p.phone, reason: "unreachable", source: "bounce", notificationId: rows[1]!.id },
    { tenantId, channel: "push", address: p.token, reason: "unregistered", source: "bounce", notificationId: rows[2]!.id },
  ]);
  await jetstream(f.nc).publish(
    f.topo.dlqSubject("sms"),
    JSON.stringify({
      v: 1,
      reason: "failed",
      error: "invalid number",
      attempts: 1,
      failedAt: new Date().toISOString(),
      envelope: {
        v: 1,
        id: rows[1]!.id,
        tenantId,
        userId: p.userId,
        channel: "sms",
        type: "transactional",
        priority: "normal",
        payload: { to: p.phone, body: "Code 1234" },
        metadata: null,
        idempotencyKey: null,
        correlationId: null,
        scheduledFor: null,
        acceptedAt: new Date().toISOString(),
      },
    }),
  );
  return rows;
}

/** A profile, a device and preferences for the person. */
async function profile(p: Person, key?: string) {
  expect((await put(`/v1/users/${p.userId}`, { email: p.email, phone: p.phone }, key)).status).toBe(201);
  expect((await send(app, `/v1/users/${p.userId}/devices`, { body: { token: p.token, platform: "ios" }, ...(key ? { key } : {}) })).status).toBe(201);
  const prefs = {
    preferences: [
      { category: "news", channel: "email", enabled: false },
      { category: "news", enabled: true },
    ],
  };
  expect((await put(`/v1/users/${p.userId}/preferences`, prefs, key)).status).toBe(200);
}

function dump(): string {
  const run = Bun.spawnSync(["pg_dump", "--data-only", f.db.url]);
  if (run.exitCode !== 0) throw new Error(`pg_dump failed: ${run.stderr.toString()}`);
  return run.stdout.toString().toLowerCase();
}

async function deadLettersOf(tenantId: string, userId: string): Promise<number> {
  const { state } = await f.jsm.streams.info(f.topo.streams.dlq);
  let n = 0;
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const m = await f.jsm.streams.getMessage(f.topo.streams.dlq, { seq }).catch(() => null);
    const e = (m?.json() as { envelope?: { tenantId: string; userId: string } } | undefined)?.envelope;
    if (e?.tenantId === tenantId && e.userId === userId) n++;
  }
  return n;
}

describe("DELETE /v1/users/:userId erases the user's personal data", () => {
  test("nothing of their addresses is left in Postgres or the DLQ; others' data stays; counts are right; a second DELETE answers zeros", async () => {
    const [ada, bob] = [person(), person()];
    // The same user id at another tenant, with addresses of its own.
    const beta = { ...person(), userId: ada.userId };
    await profile(ada);
    await profile(bob);
    await profile(beta, OTHER_KEY);
    const rows = await history("acme", ada);
    await history("acme", bob);
    await history("beta", beta);
    expect(await deadLettersOf("acme", ada.userId)).toBe(1);

    const res = await send(app, `/v1/users/${ada.userId}`, { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      userId: ada.userId,
      erased: { profile: 1, devices: 1, preferences: 2, notifications: 5, attempts: 1, cancelled: 1, suppressions: 3, deadLetters: 1 },
    });

    const text = dump();
    for (const secret of [ada.email, ada.phone, ada.token]) expect(text).not.toContain(secret.toLowerCase());
    for (const kept of [bob.email, bob.phone, bob.token, beta.email, beta.phone, beta.token]) expect(text).toContain(kept.toLowerCase());
    expect(await deadLettersOf("acme", ada.userId)).toBe(0);
    expect(await deadLettersOf("acme", bob.userId)).toBe(1);
    expect(await deadLettersOf("beta", ada.userId)).toBe(1);

    // Ids, statuses and counts stay; the scheduled one is cancelled and its schedule dropped at release.
    const after = await f.db.db.select().from(notifications).where(eq(notifications.userId, ada.userId));
    const mine = after.filter((r) => r.tenantId === "acme");
    expect(mine.map((r) => r.id).sort()).toEqual(rows.map((r) => r.id).sort());
    for (const r of mine) {
      expect(r.payload).toEqual({ erased: true });
      expect(r.metadata).toBeNull();
    }
    const scheduled = mine.find((r) => r.id === rows[4]!.id);
    expect(scheduled).toMatchObject({ status: "cancelled", lastError: "erased" });
    expect(mine.find((r) => r.id === rows[1]!.id)).toMatchObject({ status: "failed", lastError: null, attempts: 1 });
    expect(await f.db.db.select().from(schedules).where(eq(schedules.notificationId, rows[4]!.id))).toHaveLength(1);
    expect(after.filter((r) => r.tenantId === "beta").every((r) => r.payload.erased === undefined)).toBe(true);
    expect(await f.db.db.select().from(suppressions).where(eq(suppressions.tenantId, "beta"))).toHaveLength(3);

    const again = await send(app, `/v1/users/${ada.userId}`, { method: "DELETE" });
    expect(await again.json()).toEqual({
      userId: ada.userId,
      erased: { profile: 0, devices: 0, preferences: 0, notifications: 0, attempts: 0, cancelled: 0, suppressions: 0, deadLetters: 0 },
    });
    expect((await send(app, `/v1/users/${bob.userId}`)).status).toBe(200);
    expect((await send(app, `/v1/users/${ada.userId}`, { key: OTHER_KEY })).status).toBe(200);
  });

  test("answers deadLetters null on a gateway without access to the dead-letter stream", async () => {
    const p = person();
    await profile(p);
    const res = await send(f.app, `/v1/users/${p.userId}`, { method: "DELETE" });
    expect(await res.json()).toMatchObject({ erased: { profile: 1, devices: 1, deadLetters: null } });
  });
});

describe("GET /v1/users/:userId/export", () => {
  test("answers the profile, preferences, suppressions and notifications with payloads and attempts", async () => {
    const p = person();
    await profile(p);
    const rows = await history("acme", p);
    const byId = [...rows].sort((a, b) => (a.id < b.id ? -1 : 1));
    const res = await send(app, `/v1/users/${p.userId}/export`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      profile: { email: string; devices: unknown[] };
      preferences: unknown[];
      suppressions: Array<{ channel: string; address: string }>;
      notifications: Array<{ id: string; payload: Record<string, unknown>; deliveryAttempts: Array<{ provider: string; error: string | null }> }>;
      truncated: boolean;
      cursor: string | null;
    };
    expect(body.profile).toMatchObject({ email: p.email, devices: [{ token: p.token, platform: "ios" }] });
    expect(body.preferences).toHaveLength(2);
    expect(body.suppressions.map((s) => s.channel).sort()).toEqual(["email", "push", "sms"]);
    expect(body.notifications.map((n) => n.id)).toEqual(byId.map((r) => r.id));
    expect(body.notifications.find((n) => n.id === rows[1]!.id)).toMatchObject({
      payload: { to: p.phone },
      deliveryAttempts: [{ provider: "twilio", error: `rejected ${p.phone}` }],
    });
    expect(body).toMatchObject({ truncated: false, cursor: null });

    const other = (await (await send(app, `/v1/users/${p.userId}/export`, { key: OTHER_KEY })).json()) as typeof body;
    expect(other).toMatchObject({ profile: null, preferences: [], suppressions: [], notifications: [] });
    expect((await send(app, `/v1/users/${p.userId}/export?cursor=nope`)).status).toBe(400);
    const paged = (await (await send(app, `/v1/users/${p.userId}/export?cursor=${byId[2]!.id}`)).json()) as typeof body;
    expect(paged.notifications.map((n) => n.id)).toEqual(byId.slice(3).map((r) => r.id));
  });
});
