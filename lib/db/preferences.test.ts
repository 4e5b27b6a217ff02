import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestDatabase, type TestDatabase } from "../../test/support/services.ts";
import {
  applyUnsubscribe,
  getCategory,
  getPreferences,
  isOptedIn,
  listCategories,
  prefKey,
  preferencesAmong,
  putCategory,
  RequiredCategoryError,
  setPreferences,
} from "./preferences.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe("isOptedIn", () => {
  const entry = (own = {}, defaults = {}, required = false) => ({ required, defaults, own });

  test("an explicit channel beats `*`, which beats the category's default, which beats the opt-in of silence", () => {
    expect(isOptedIn(entry({ email: true, "*": false }, { email: false }), "email")).toBe(true);
    expect(isOptedIn(entry({ "*": false }, { email: true }), "email")).toBe(false);
    expect(isOptedIn(entry({ sms: false }, { email: false }), "email")).toBe(false);
    expect(isOptedIn(entry({}, { sms: false }), "email")).toBe(true);
    expect(isOptedIn(undefined, "push")).toBe(true);
  });

  test("a required category is always on, whatever the user stored before it became required", () => {
    expect(isOptedIn(entry({ email: false, "*": false }, { email: false }, true), "email")).toBe(true);
  });
});

describe("categories", () => {
  test("are put (created, then replaced), listed by name and read per tenant", async () => {
    expect((await putCategory(db.db, "acme", "news", { required: false, defaults: { sms: false } })).created).toBe(true);
    const again = await putCategory(db.db, "acme", "news", { required: false, defaults: { sms: false, push: false } });
    expect(again.created).toBe(false);
    expect(again.category).toMatchObject({ category: "news", required: false, defaults: { sms: false, push: false } });
    await putCategory(db.db, "acme", "billing", { required: true, defaults: {} });
    expect((await listCategories(db.db, "acme")).map((c) => c.category)).toEqual(["billing", "news"]);
    expect(await getCategory(db.db, "beta", "news")).toBeNull();
    expect(await listCategories(db.db, "beta")).toEqual([]);
  });
});

describe("preferences", () => {
  test("set upserts each choice and answers the effective value per channel of every category", async () => {
    await putCategory(db.db, "acme", "promo", { required: false, defaults: { email: false } });
    await setPreferences(db.db, "acme", "p-1", [{ category: "promo", channel: "*", enabled: false }]);
    const prefs = await setPreferences(db.db, "acme", "p-1", [
      { category: "promo", channel: "push", enabled: true },
      { category: "custom", channel: "sms", enabled: false },
    ]);
    expect(prefs.preferences).toEqual([
      { category: "custom", channel: "sms", enabled: false },
      { category: "promo", channel: "*", enabled: false },
      { category: "promo", channel: "push", enabled: true },
    ]);
    const byName = Object.fromEntries(prefs.categories.map((c) => [c.category, c]));
    expect(byName.promo).toEqual({
      category: "promo",
      required: false,
      channels: { email: false, sms: false, push: true, webhook: false, in_app: false },
    });
    expect(byName.custom?.channels).toEqual({ email: true, sms: false, push: true, webhook: true, in_app: true });
    expect(byName.news?.channels).toEqual({ email: true, sms: false, push: false, webhook: true, in_app: true });
    expect(byName.billing).toMatchObject({ required: true, channels: { email: true, sms: true } });
    expect((await getPreferences(db.db, "beta", "p-1")).preferences).toEqual([]);
  });

  test("refuses opting out of a required category, storing none of the batch; opting in is fine", async () => {
    const attempt = setPreferences(db.db, "acme", "p-2", [
      { category: "promo", channel: "email", enabled: false },
      { category: "billing", channel: "email", enabled: false },
    ]);
    expect(attempt).rejects.toBeInstanceOf(RequiredCategoryError);
    await attempt.catch((err: RequiredCategoryError) => expect(err.categories).toEqual(["billing"]));
    expect((await getPreferences(db.db, "acme", "p-2")).preferences).toEqual([]);
    expect((await setPreferences(db.db, "acme", "p-2", [{ category: "billing", channel: "*", enabled: true }])).preferences).toHaveLength(1);
  });

  test("the last of two choices for the same category and channel wins", async () => {
    const prefs = await setPreferences(db.db, "acme", "p-3", [
      { category: "news", channel: "email", enabled: false },
      { category: "news", channel: "email", enabled: true },
    ]);
    expect(prefs.preferences).toEqual([{ category: "news", channel: "email", enabled: true }]);
  });

  test("applyUnsubscribe turns the channel off, idempotently, and leaves a required category alone", async () => {
    expect(await applyUnsubscribe(db.db, "acme", "p-4", "news", "email")).toBe("unsubscribed");
    expect(await applyUnsubscribe(db.db, "acme", "p-4", "news", "email")).toBe("unsubscribed");
    expect((await getPreferences(db.db, "acme", "p-4")).preferences).toEqual([{ category: "news", channel: "email", enabled: false }]);
    expect(await applyUnsubscribe(db.db, "acme", "p-4", "billing", "email")).toBe("required");
    expect((await getPreferences(db.db, "acme", "p-4")).preferences).toHaveLength(1);
  });
});

describe("preferencesAmong", () => {
  test("reads many (tenant, user, category) in one statement; nothing stored and no category means no entry", async () => {
    await setPreferences(db.db, "acme", "a-1", [
      { category: "news", channel: "*", enabled: false },
      { category: "news", channel: "push", enabled: true },
    ]);
    let statements = 0;
    const sql = {
      run: (text: string, params: unknown[]) => {
        statements++;
        return db.sql.run(text, params);
      },
    };
    const found = await preferencesAmong(sql, [
      { tenantId: "acme", userId: "a-1", category: "news" },
      { tenantId: "acme", userId: "a-2", category: "news" },
      { tenantId: "acme", userId: "a-1", category: "billing" },
      { tenantId: "acme", userId: "a-1", category: "never-defined" },
      { tenantId: "beta", userId: "a-1", category: "news" },
    ]);
    expect(statements).toBe(1);
    const mine = found.get(prefKey("acme", "a-1", "news"));
    expect(mine).toEqual({ required: false, defaults: { sms: false, push: false }, own: { "*": false, push: true } });
    expect(isOptedIn(mine, "email")).toBe(false);
    expect(isOptedIn(mine, "push")).toBe(true);
    expect(found.get(prefKey("acme", "a-2", "news"))).toEqual({ required: false, defaults: { sms: false, push: false }, own: {} });
    expect(found.get(prefKey("acme", "a-1", "billing"))?.required).toBe(true);
    expect(found.has(prefKey("acme", "a-1", "never-defined"))).toBe(false);
    expect(found.has(prefKey("beta", "a-1", "news"))).toBe(false);
    expect((await preferencesAmong(sql, [])).size).toBe(0);
    expect(statements).toBe(1);
  });
});
