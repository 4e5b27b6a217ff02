import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TemplateContent } from "../../schemas/recipients.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/services.ts";
import { createTemplateCache, createVersionCache } from "../templates/cache.ts";
import {
  createTemplate,
  decodeNameCursor,
  getTemplate,
  getVersion,
  isTemplateExistsError,
  isTemplateNotPublishableError,
  listTemplates,
  publishedVersionOf,
  publishTemplate,
  putDraft,
  versionKeyOf,
  versionsAmong,
} from "./templates.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

const content = (subject: string): TemplateContent => ({
  variables: { type: "object", properties: { id: { type: "string" } } },
  locales: { default: { email: { subject, text: "Order {{ data.id }}" } } },
});

async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("did not throw");
}

describe("templates writer", () => {
  test("creates once; the same name again is a TemplateExistsError, another tenant's is its own", async () => {
    const view = await createTemplate(db.db, "acme", { name: "welcome", category: "account", content: content("Hi") });
    expect(view).toMatchObject({ name: "welcome", category: "account", publishedVersion: null, versions: [] });
    expect(isTemplateExistsError(await thrown(createTemplate(db.db, "acme", { name: "welcome", category: "account", content: content("Hi") })))).toBe(true);
    await createTemplate(db.db, "beta", { name: "welcome", category: "account", content: content("Hallo") });
    expect((await getTemplate(db.db, "beta", "welcome"))?.draft.locales.default?.email?.subject).toBe("Hallo");
    expect(await getTemplate(db.db, "acme", "nope")).toBeNull();
  });

  test("publish numbers versions 1, 2, …; a version never changes after the draft is edited", async () => {
    expect((await putDraft(db.db, "acme", "order", { category: "orders", content: content("v1") })).created).toBe(true);
    expect(await publishTemplate(db.db, "acme", "order")).toBe(1);
    const edited = await putDraft(db.db, "acme", "order", { category: "orders-2", content: content("v2") });
    expect(edited.created).toBe(false);
    expect(edited.template.publishedVersion).toBe(1);
    expect((await publishedVersionOf(db.db, "acme", "order"))?.content.locales.default?.email?.subject).toBe("v1");
    expect(await publishTemplate(db.db, "acme", "order")).toBe(2);
    expect(await getVersion(db.db, "acme", "order", 1)).toMatchObject({ version: 1, category: "orders", content: content("v1") });
    expect(await publishedVersionOf(db.db, "acme", "order")).toMatchObject({ version: 2, category: "orders-2", content: content("v2") });
    expect((await getTemplate(db.db, "acme", "order"))?.versions.map((v) => v.version)).toEqual([2, 1]);
    expect(await publishTemplate(db.db, "acme", "missing")).toBeNull();
    expect(await publishedVersionOf(db.db, "beta", "order")).toBeNull();
  });

  test("concurrent publishes get distinct versions", async () => {
    await putDraft(db.db, "acme", "race", { category: "c", content: content("r") });
    const versions = await Promise.all(Array.from({ length: 8 }, () => publishTemplate(db.db, "acme", "race")));
    expect([...versions].sort((a, b) => Number(a) - Number(b))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test("refuses to publish a draft whose variables are not a JSON Schema, naming the paths; nothing is written", async () => {
    const bad: TemplateContent = { variables: { type: "objekt" }, locales: { default: {}, de: { sms: { body: "x" } } } };
    await putDraft(db.db, "acme", "broken", { category: "c", content: bad });
    const err = await thrown(publishTemplate(db.db, "acme", "broken"));
    expect(isTemplateNotPublishableError(err)).toBe(true);
    if (!isTemplateNotPublishableError(err)) return;
    expect(err.errors.map((e) => e.path).sort()).toEqual(["content.locales.default.sms", "content.variables.type"]);
    expect((await getTemplate(db.db, "acme", "broken"))?.versions).toEqual([]);
  });

  test("lists by name in keyset pages", async () => {
    for (const name of ["l-a", "l-b", "l-c"]) await putDraft(db.db, "listing", name, { category: "c", content: content(name) });
    const first = await listTemplates(db.db, "listing", { limit: 2 });
    expect(first.data.map((t) => t.name)).toEqual(["l-a", "l-b"]);
    const after = decodeNameCursor(first.nextCursor ?? "");
    expect(after).toBe("l-b");
    const second = await listTemplates(db.db, "listing", { limit: 2, after: after ?? "" });
    expect(second).toMatchObject({ data: [{ name: "l-c" }], nextCursor: null });
  });

  test("versionsAmong reads many versions in one statement; the version cache reads each once", async () => {
    let statements = 0;
    const sql = {
      run: (text: string, params: unknown[]) => {
        statements++;
        return db.sql.run(text, params);
      },
    };
    const v1 = { tenantId: "acme", name: "order", version: 1 };
    const v2 = { tenantId: "acme", name: "order", version: 2 };
    const keys = [v1, v2, { tenantId: "acme", name: "order", version: 9 }, { tenantId: "beta", name: "order", version: 1 }];
    const found = await versionsAmong(sql, keys);
    expect(statements).toBe(1);
    expect([...found.keys()].sort()).toEqual([versionKeyOf(v1), versionKeyOf(v2)].sort());
    expect(found.get(versionKeyOf(v2))?.content.locales.default?.email?.subject).toBe("v2");
    const cache = createVersionCache(sql);
    await cache.among(keys);
    const again = await cache.among([v1, v2]);
    expect(statements).toBe(2);
    expect(again.size).toBe(2);
  });

  test("the template cache reads a template once per TTL, and forgets it on invalidate", async () => {
    let t = 0;
    const cache = createTemplateCache(db.db, 1_000, { now: () => t });
    const first = await cache.published("acme", "order");
    expect(first?.version).toBe(2);
    expect(await cache.published("acme", "order")).toBe(first);
    await publishTemplate(db.db, "acme", "order");
    expect((await cache.published("acme", "order"))?.version).toBe(2);
    t = 1_000;
    expect((await cache.published("acme", "order"))?.version).toBe(3);
    await publishTemplate(db.db, "acme", "order");
    cache.invalidate("acme", "order");
    expect((await cache.published("acme", "order"))?.version).toBe(4);
  });
});
