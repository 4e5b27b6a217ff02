import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { OTHER_KEY } from "../../test/support/constants.ts";
import { createAppFixture, send, type AppFixture } from "../../test/support/gateway-fixture.ts";

let f: AppFixture;
beforeAll(async () => {
  f = await createAppFixture();
});
afterAll(async () => {
  await f.cleanup();
});

const put = (name: string, body: unknown, key?: string) => send(f.app, `/v1/categories/${name}`, { method: "PUT", body, ...(key ? { key } : {}) });

describe("/v1/categories", () => {
  test("PUT creates (201) with defaults filled in, then replaces (200); GET reads one and lists the tenant's by name", async () => {
    const created = await put("news", {});
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ category: "news", required: false, defaults: {} });
    const replaced = await put("news", { defaults: { sms: false } });
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).toMatchObject({ category: "news", required: false, defaults: { sms: false } });
    await put("billing", { required: true });
    await put("theirs", {}, OTHER_KEY);

    expect(await (await send(f.app, "/v1/categories/news")).json()).toMatchObject({ category: "news", defaults: { sms: false } });
    const list = (await (await send(f.app, "/v1/categories")).json()) as { data: { category: string; required: boolean }[] };
    expect(list.data.map((c) => [c.category, c.required])).toEqual([
      ["billing", true],
      ["news", false],
    ]);
  });

  test("another tenant's category and an unknown one answer 404", async () => {
    expect((await send(f.app, "/v1/categories/theirs")).status).toBe(404);
    expect((await send(f.app, "/v1/categories/nothing-here")).status).toBe(404);
    expect((await send(f.app, "/v1/categories/NOT%20A%20SLUG")).status).toBe(404);
  });

  test("answers 400 with paths for a bad name, an unknown channel and a non-boolean", async () => {
    const badName = await put("Bad%20Name", {});
    expect(badName.status).toBe(400);
    expect(((await badName.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(["category"]);
    const badBody = await put("ok", { required: "yes", defaults: { fax: true } });
    expect(badBody.status).toBe(400);
    expect(((await badBody.json()) as { errors: { path: string }[] }).errors.map((e) => e.path).sort()).toEqual(["defaults", "required"]);
  });
});
