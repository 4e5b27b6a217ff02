import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { preferences } from "../../schemas/tables.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/services.ts";
import { setPreferences } from "./preferences.ts";
import { addDevice, deleteUser, getUser, patchUser, putUser, removeDevice, userKey, usersAmong } from "./users.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
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

describe("the users writer", () => {
  test("puts a user (created, then replaced with absent fields cleared), patches only what is given, and deletes", async () => {
    const first = await putUser(db.db, "acme", "u-1", { email: "a@example.com", phone: "+14155550100", locale: "de-AT", data: { plan: "pro" } });
    expect(first.created).toBe(true);
    expect(first.user).toMatchObject({ userId: "u-1", email: "a@example.com", phone: "+14155550100", locale: "de-AT", timeZone: null, data: { plan: "pro" } });
    const replaced = await putUser(db.db, "acme", "u-1", { email: "b@example.com" });
    expect(replaced.created).toBe(false);
    expect(replaced.user).toMatchObject({ email: "b@example.com", phone: null, locale: null, data: {} });
    expect(replaced.user.createdAt).toBe(first.user.createdAt);

    const patched = await patchUser(db.db, "acme", "u-1", { timeZone: "Europe/Berlin", quietHours: { start: "22:00", end: "07:00" }, email: null });
    expect(patched).toMatchObject({ email: null, timeZone: "Europe/Berlin", quietHours: { start: "22:00", end: "07:00" } });
    expect(await patchUser(db.db, "acme", "nobody", { email: null })).toBeNull();
    expect(await getUser(db.db, "beta", "u-1")).toBeNull();

    await addDevice(db.db, "acme", "u-1", { token: "t-1", platform: "ios" });
    await setPreferences(db.db, "acme", "u-1", [{ category: "news", channel: "*", enabled: false }]);
    expect(await deleteUser(db.db, "acme", "u-1")).toBe(true);
    expect(await getUser(db.db, "acme", "u-1")).toBeNull();
    const left = await db.db
      .select()
      .from(preferences)
      .where(and(eq(preferences.tenantId, "acme"), eq(preferences.userId, "u-1")));
    expect(left).toEqual([]);
    expect(await deleteUser(db.db, "acme", "u-1")).toBe(false);
  });

  test("a device token belongs to one user of a tenant: adding it elsewhere moves it, another tenant keeps its own", async () => {
    for (const u of ["d-1", "d-2"]) await putUser(db.db, "acme", u, {});
    await putUser(db.db, "beta", "d-1", {});
    expect(await addDevice(db.db, "acme", "d-1", { token: "shared", platform: "android" })).toEqual({ moved: false });
    expect(await addDevice(db.db, "beta", "d-1", { token: "shared", platform: "android" })).toEqual({ moved: false });
    expect(await addDevice(db.db, "acme", "d-1", { token: "shared", platform: "web" })).toEqual({ moved: false });
    expect((await getUser(db.db, "acme", "d-1"))?.devices).toEqual([{ token: "shared", platform: "web" }]);
    expect(await addDevice(db.db, "acme", "d-2", { token: "shared", platform: "ios" })).toEqual({ moved: true });
    expect((await getUser(db.db, "acme", "d-1"))?.devices).toEqual([]);
    expect((await getUser(db.db, "acme", "d-2"))?.devices).toEqual([{ token: "shared", platform: "ios" }]);
    expect((await getUser(db.db, "beta", "d-1"))?.devices).toEqual([{ token: "shared", platform: "android" }]);
    expect(await addDevice(db.db, "acme", "missing", { token: "x", platform: "ios" })).toBeNull();
    expect(await removeDevice(db.db, "acme", "d-1", "shared")).toBe(false);
    expect(await removeDevice(db.db, "acme", "d-2", "shared")).toBe(true);
  });

  test("two users claiming the same token at once leave it with exactly one of them", async () => {
    for (const u of ["r-1", "r-2", "r-3", "r-4"]) await putUser(db.db, "acme", u, {});
    await Promise.all(["r-1", "r-2", "r-3", "r-4"].map((u) => addDevice(db.db, "acme", u, { token: "contested", platform: "ios" })));
    const holders = (await Promise.all(["r-1", "r-2", "r-3", "r-4"].map((u) => getUser(db.db, "acme", u)))).filter((u) => u?.devices.length === 1);
    expect(holders).toHaveLength(1);
  });
});

describe("usersAmong", () => {
  test("reads many users with their devices in one statement, keyed by userKey, missing ones left out", async () => {
    await putUser(db.db, "acme", "m-1", { email: "m1@example.com", locale: "fr", quietHours: { start: "22:00", end: "08:00" }, data: { a: 1 } });
    await putUser(db.db, "acme", "m-2", { phone: "+14155550101" });
    await putUser(db.db, "beta", "m-1", { email: "beta@example.com" });
    await addDevice(db.db, "acme", "m-1", { token: "m1-a", platform: "ios" });
    await addDevice(db.db, "acme", "m-1", { token: "m1-b", platform: "android" });
    const c = counting();
    const found = await usersAmong(c.sql, [
      { tenantId: "acme", userId: "m-1" },
      { tenantId: "acme", userId: "m-2" },
      { tenantId: "beta", userId: "m-1" },
      { tenantId: "acme", userId: "absent" },
      { tenantId: "acme", userId: "m-1" },
    ]);
    expect(c.statements()).toBe(1);
    expect([...found.keys()].sort()).toEqual([userKey("acme", "m-1"), userKey("acme", "m-2"), userKey("beta", "m-1")].sort());
    expect(found.get(userKey("acme", "m-1"))).toEqual({
      userId: "m-1",
      email: "m1@example.com",
      phone: null,
      locale: "fr",
      timeZone: null,
      quietHours: { start: "22:00", end: "08:00" },
      data: { a: 1 },
      devices: [
        { token: "m1-a", platform: "ios" },
        { token: "m1-b", platform: "android" },
      ],
    });
    expect(found.get(userKey("acme", "m-2"))).toMatchObject({ phone: "+14155550101", devices: [], data: {} });
    expect(found.get(userKey("beta", "m-1"))?.email).toBe("beta@example.com");
  });

  test("sends nothing for no keys", async () => {
    const c = counting();
    expect((await usersAmong(c.sql, [])).size).toBe(0);
    expect(c.statements()).toBe(0);
  });
});
