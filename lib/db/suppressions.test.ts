import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { suppressions } from "../../schemas/tables.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/services.ts";
import { keyOf, recordSuppressions, suppressedAmong, suppressionAddress, type Suppression } from "./suppressions.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

const entry = (over: Partial<Suppression> = {}): Suppression => ({
  tenantId: "acme",
  channel: "email",
  address: "gone@example.com",
  reason: "hard bounce",
  source: "bounce",
  notificationId: null,
  ...over,
});

/** Counts every statement the given function sends. */
function counting(): { sql: TestDatabase["sql"]; statements: () => number } {
  let n = 0;
  return {
    sql: {
      run: (text, params) => {
        n++;
        return db.sql.run(text, params);
      },
    },
    statements: () => n,
  };
}

describe("suppressionAddress", () => {
  test("normalises each channel's recipient the way suppressions store it", () => {
    expect(suppressionAddress("email", { to: "  Jane.Doe@Example.COM ", subject: "s", body: "b" })).toBe("jane.doe@example.com");
    expect(suppressionAddress("sms", { to: "+1 (415) 555-0100", body: "b" })).toBe("+14155550100");
    expect(suppressionAddress("sms", { to: "+14155550100", body: "b" })).toBe("+14155550100");
    expect(suppressionAddress("push", { to: "device-Token:1", title: "t", body: "b" })).toBe("device-Token:1");
  });

  test("is null for channels without a recipient address, and for payloads without a usable one", () => {
    expect(suppressionAddress("webhook", { url: "https://hooks.example.com", to: "x", body: {} })).toBeNull();
    expect(suppressionAddress("in_app", { title: "t", body: "b" })).toBeNull();
    expect(suppressionAddress("email", {})).toBeNull();
    expect(suppressionAddress("email", { to: "   " })).toBeNull();
    expect(suppressionAddress("sms", { to: "0415 555 0100" })).toBeNull();
    expect(suppressionAddress("push", null)).toBeNull();
  });
});

describe("recordSuppressions and suppressedAmong", () => {
  test("record many in one statement, keep the first of an address, and count only the new ones", async () => {
    const c = counting();
    const first = entry({ tenantId: "first", reason: "550 no such user" });
    expect(await recordSuppressions(c.sql, [first, entry({ tenantId: "first", channel: "push", address: "tok-1", source: "unregistered" })])).toBe(2);
    expect(c.statements()).toBe(1);
    expect(await recordSuppressions(db.sql, [entry({ tenantId: "first", reason: "a later complaint", source: "complaint" })])).toBe(0);
    const found = await suppressedAmong(db.sql, [{ tenantId: "first", channel: "email", address: "gone@example.com" }]);
    expect(found.get(keyOf(first))).toEqual({ reason: "550 no such user", source: "bounce" });
  });

  test("a repeat within one call is recorded once", async () => {
    expect(await recordSuppressions(db.sql, [entry({ tenantId: "twice" }), entry({ tenantId: "twice", reason: "again" })])).toBe(1);
    const rows = await db.db.select().from(suppressions);
    expect(rows.filter((r) => r.tenantId === "twice")).toHaveLength(1);
  });

  test("suppressedAmong answers only the keys suppressed for that tenant and channel, in one statement whatever the count", async () => {
    const notificationId = "0199a3f4-6a7b-7c8d-9e0f-112233445566";
    await recordSuppressions(db.sql, [entry({ tenantId: "among", notificationId }), entry({ tenantId: "among", channel: "sms", address: "+14155550100" })]);
    const keys = [
      { tenantId: "among", channel: "email" as const, address: "gone@example.com" },
      { tenantId: "among", channel: "sms" as const, address: "+14155550100" },
      { tenantId: "other", channel: "email" as const, address: "gone@example.com" },
      { tenantId: "among", channel: "push" as const, address: "gone@example.com" },
      ...Array.from({ length: 500 }, (_, i) => ({ tenantId: "among", channel: "email" as const, address: `fine-${i}@example.com` })),
    ];
    const c = counting();
    const found = await suppressedAmong(c.sql, keys);
    expect(c.statements()).toBe(1);
    expect([...found.keys()].sort()).toEqual([keyOf(keys[0]!), keyOf(keys[1]!)].sort());
    expect((await db.db.select().from(suppressions)).find((r) => r.tenantId === "among" && r.channel === "email")?.notificationId).toBe(notificationId);
  });

  test("send no statement for no keys or no entries", async () => {
    const c = counting();
    expect((await suppressedAmong(c.sql, [])).size).toBe(0);
    expect(await recordSuppressions(c.sql, [])).toBe(0);
    expect(c.statements()).toBe(0);
  });

  test("keep a reason Postgres could not store as text, made storable", async () => {
    expect(await recordSuppressions(db.sql, [entry({ tenantId: "nul", reason: "bad\u0000byte" })])).toBe(1);
    const found = await suppressedAmong(db.sql, [{ tenantId: "nul", channel: "email", address: "gone@example.com" }]);
    expect(found.get(keyOf({ tenantId: "nul", channel: "email", address: "gone@example.com" }))?.reason).not.toContain("\u0000");
  });
});
