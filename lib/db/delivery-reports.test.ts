import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { DeliveryReport } from "../../schemas/delivery-reports.ts";
import type { Status } from "../../schemas/enums.ts";
import { deliveryAttempts, notifications } from "../../schemas/tables.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/services.ts";
import { findReported } from "./delivery-reports.ts";
import { applyDeliveryReports } from "./notification-repository.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

let seq = 0;
/** A notification in `status` whose sent attempt through `provider` recorded a fresh message id; returns both. */
async function sentRow(status: Status, provider = "twilio", lastError: string | null = null): Promise<{ id: string; messageId: string }> {
  const id = crypto.randomUUID();
  const messageId = `SM${++seq}`;
  const createdAt = new Date();
  await db.db.insert(notifications).values({
    id,
    createdAt,
    tenantId: "acme",
    userId: "u-1",
    channel: "sms",
    type: "transactional",
    priority: "normal",
    status,
    payload: { to: "+14155550100", body: "hi" },
    attempts: 1,
    lastError,
  });
  await db.db
    .insert(deliveryAttempts)
    .values({ notificationId: id, notificationCreatedAt: createdAt, attempt: 1, provider, outcome: "sent", latencyMs: 5, providerMessageId: messageId });
  return { id, messageId };
}

const report = (messageId: string, status: DeliveryReport["status"], over: Partial<DeliveryReport> = {}): DeliveryReport => ({
  provider: "twilio",
  providerMessageId: messageId,
  status,
  reason: status === "bounced" ? "twilio 30003" : null,
  at: new Date("2026-12-08T10:00:00Z"),
  ...over,
});

async function rowOf(id: string) {
  const [row] = await db.db.select().from(notifications).where(eq(notifications.id, id));
  return row;
}

describe("applyDeliveryReports", () => {
  test("moves sent to delivered and sent or delivered to bounced with the reason, and returns what it moved", async () => {
    const [a, b, c] = [await sentRow("sent"), await sentRow("sent"), await sentRow("delivered")];
    const moved = await applyDeliveryReports(db.sql, [report(a.messageId, "delivered"), report(b.messageId, "bounced"), report(c.messageId, "bounced")]);
    expect(moved.map((m) => [m.id, m.status, m.reason]).sort()).toEqual(
      [
        [a.id, "delivered", null],
        [b.id, "bounced", "twilio 30003"],
        [c.id, "bounced", "twilio 30003"],
      ].sort(),
    );
    expect(moved.find((m) => m.id === b.id)).toMatchObject({ tenantId: "acme", userId: "u-1", channel: "sms", payload: { to: "+14155550100" } });
    expect(moved[0]?.at.toISOString()).toBe("2026-12-08T10:00:00.000Z");
    expect(await rowOf(a.id)).toMatchObject({ status: "delivered", lastError: null });
    expect(await rowOf(b.id)).toMatchObject({ status: "bounced", lastError: "twilio 30003" });
  });

  test("never moves backwards or out of another status, and a delivery keeps the earlier error", async () => {
    const bounced = await sentRow("bounced", "twilio", "twilio 30005");
    const delivered = await sentRow("delivered", "twilio", "an earlier timeout");
    const others = await Promise.all((["failed", "cancelled", "processing", "retrying", "suppressed"] as const).map((s) => sentRow(s)));
    const moved = await applyDeliveryReports(db.sql, [
      report(bounced.messageId, "delivered"),
      report(bounced.messageId, "bounced", { reason: "again" }),
      report(delivered.messageId, "delivered"),
      ...others.map((o) => report(o.messageId, "delivered")),
      ...others.map((o) => report(o.messageId, "bounced")),
    ]);
    expect(moved).toEqual([]);
    expect(await rowOf(bounced.id)).toMatchObject({ status: "bounced", lastError: "twilio 30005" });
    expect(await rowOf(delivered.id)).toMatchObject({ status: "delivered", lastError: "an earlier timeout" });
    for (const [i, s] of ["failed", "cancelled", "processing", "retrying", "suppressed"].entries())
      expect((await rowOf(others[i]!.id))?.status).toBe(s as Status);
  });

  test("a bounce and a delivery for one notification in one call end it bounced", async () => {
    const a = await sentRow("sent");
    const moved = await applyDeliveryReports(db.sql, [report(a.messageId, "delivered"), report(a.messageId, "bounced")]);
    expect(moved.map((m) => m.status)).toEqual(["bounced"]);
    expect((await rowOf(a.id))?.status).toBe("bounced");
  });

  test("finds a notification only through its provider's attempt: an unknown id or another provider's changes nothing", async () => {
    const a = await sentRow("sent", "resend");
    expect(await applyDeliveryReports(db.sql, [report(a.messageId, "delivered"), report("SM-unknown", "bounced")])).toEqual([]);
    expect((await rowOf(a.id))?.status).toBe("sent");
    expect(await applyDeliveryReports(db.sql, [])).toEqual([]);
  });

  test("of two racing reports for one notification, the bounce wins whatever the order", async () => {
    for (let i = 0; i < 5; i++) {
      const a = await sentRow("sent");
      await Promise.all([applyDeliveryReports(db.sql, [report(a.messageId, "bounced")]), applyDeliveryReports(db.sql, [report(a.messageId, "delivered")])]);
      expect((await rowOf(a.id))?.status).toBe("bounced");
    }
  });
});

describe("findReported", () => {
  test("names the notification of a provider's message id whatever its status, and nothing for another provider", async () => {
    const a = await sentRow("bounced", "resend");
    expect(await findReported(db.sql, "resend", [a.messageId, "nope"])).toEqual([
      { id: a.id, tenantId: "acme", userId: "u-1", channel: "sms", status: "bounced", payload: { to: "+14155550100", body: "hi" } },
    ]);
    expect(await findReported(db.sql, "twilio", [a.messageId])).toEqual([]);
    expect(await findReported(db.sql, "twilio", [])).toEqual([]);
  });
});
