import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTemplateEngine } from "../../lib/templates/render.ts";
import { OTHER_KEY } from "../../test/support/constants.ts";
import { createAppFixture, send, type AppFixture } from "../../test/support/gateway-fixture.ts";
import { createApp } from "../app.ts";

let f: AppFixture;
let app: AppFixture["app"];
const published: string[] = [];

beforeAll(async () => {
  f = await createAppFixture();
  app = createApp({ ...f.deps, templates: { db: f.db.db, engine: createTemplateEngine(), published: (tenant, name) => published.push(`${tenant}/${name}`) } });
});
afterAll(async () => {
  await f.cleanup();
});

const draft = {
  category: "orders",
  content: {
    variables: {
      type: "object",
      required: ["order"],
      properties: { order: { type: "object", required: ["id"], properties: { id: { type: "string" }, total: { type: "number" } } } },
    },
    locales: {
      default: {
        email: { subject: "Order {{ data.order.id }}", text: "Hi {{ user.name }}", html: "<p>{{ data.order.note }}</p>" },
        sms: { body: "Order {{ data.order.id }} shipped" },
      },
      de: { email: { subject: "Bestellung {{ data.order.id }}", text: "Hallo {{ user.name }}" } },
    },
  },
};

type Problem = { status: number; errors?: Array<{ path: string; message: string }> };
const json = async <T>(res: Response | Promise<Response>) => (await res).json() as Promise<T>;

describe("/v1/templates", () => {
  test("creates a template (201), refuses the same name again (409), and reads it back", async () => {
    const created = await send(app, "/v1/templates", { body: { name: "order-shipped", ...draft } });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: "order-shipped", category: "orders", publishedVersion: null, versions: [] });
    const again = await send(app, "/v1/templates", { body: { name: "order-shipped", ...draft } });
    expect(again.status).toBe(409);
    const read = await send(app, "/v1/templates/order-shipped");
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ name: "order-shipped", draft: { locales: { de: { email: { subject: "Bestellung {{ data.order.id }}" } } } } });
  });

  test("answers 404 for an unknown name and for another tenant's template", async () => {
    expect((await send(app, "/v1/templates/order-shipped", { key: OTHER_KEY })).status).toBe(404);
    expect((await send(app, "/v1/templates/nope")).status).toBe(404);
    expect((await send(app, "/v1/templates/order-shipped/publish", { method: "POST", key: OTHER_KEY })).status).toBe(404);
  });

  test("refuses a string that is not valid Liquid with 400, naming its field", async () => {
    const bad = structuredClone(draft);
    bad.content.locales.de.email.subject = "Bestellung {{ data.order.id | shout }}";
    const res = await send(app, "/v1/templates/order-bad", { method: "PUT", body: bad });
    expect(res.status).toBe(400);
    const problem = await json<Problem>(res);
    expect(problem.errors).toEqual([{ path: "content.locales.de.email.subject", message: expect.stringContaining("undefined filter: shout") }]);
    expect((await send(app, "/v1/templates/order-bad")).status).toBe(404);
  });

  test("PUT creates (201) then replaces the draft (200); publish numbers versions and keeps each as it was", async () => {
    expect((await send(app, "/v1/templates/welcome", { method: "PUT", body: draft })).status).toBe(201);
    expect(await json(send(app, "/v1/templates/welcome/publish", { method: "POST" }))).toEqual({ name: "welcome", version: 1 });
    expect(published).toContain("acme/welcome");
    const edited = structuredClone(draft);
    edited.content.locales.default.sms.body = "v2 {{ data.order.id }}";
    expect((await send(app, "/v1/templates/welcome", { method: "PUT", body: edited })).status).toBe(200);
    const v1 = await json<{ channels: { sms: { payload: { body: string } } } }>(
      send(app, "/v1/templates/welcome/preview", { body: { data: { order: { id: "o-1" } }, channel: "sms", version: 1 } }),
    );
    expect(v1.channels.sms.payload.body).toBe("Order o-1 shipped");
    expect(await json(send(app, "/v1/templates/welcome/publish", { method: "POST" }))).toEqual({ name: "welcome", version: 2 });
    const view = await json<{ publishedVersion: number; versions: Array<{ version: number }> }>(send(app, "/v1/templates/welcome"));
    expect(view.publishedVersion).toBe(2);
    expect(view.versions.map((v) => v.version)).toEqual([2, 1]);
  });

  test("refuses to publish a draft whose variables are no JSON Schema with 422 and paths", async () => {
    const bad = { ...draft, content: { ...draft.content, variables: { type: "object", properties: { order: { type: "thing" } } } } };
    await send(app, "/v1/templates/unpublishable", { method: "PUT", body: bad });
    const res = await send(app, "/v1/templates/unpublishable/publish", { method: "POST" });
    expect(res.status).toBe(422);
    expect((await json<Problem>(res)).errors?.map((e) => e.path)).toEqual(["content.variables.properties.order.type"]);
  });

  test("previews each channel with the locale it fell back to, escaping only html, and sends nothing", async () => {
    const res = await send(app, "/v1/templates/order-shipped/preview", {
      body: { data: { order: { id: "o-7", note: "<i>fragile</i>" } }, user: { name: "Max" }, locale: "de-AT" },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      name: "order-shipped",
      version: "draft",
      channels: {
        email: { locale: "de", payload: { subject: "Bestellung o-7", body: "Hallo Max" } },
        sms: { locale: "default", payload: { body: "Order o-7 shipped" } },
      },
    });
    const html = await json<{ channels: { email: { payload: { html: string } } } }>(
      send(app, "/v1/templates/order-shipped/preview", { body: { data: { order: { id: "o-7", note: "<i>x</i>" } }, channel: "email" } }),
    );
    expect(html.channels.email.payload.html).toBe("<p>&lt;i&gt;x&lt;/i&gt;</p>");
    expect(await f.count()).toBe(0);
  });

  test("a preview with data that fails the variables schema answers 400 with paths under data", async () => {
    const res = await send(app, "/v1/templates/order-shipped/preview", { body: { data: { order: { total: "12" } } } });
    expect(res.status).toBe(400);
    expect((await json<Problem>(res)).errors?.map((e) => e.path).sort()).toEqual(["data.order.id", "data.order.total"]);
    expect((await send(app, "/v1/templates/order-shipped/preview", { body: { data: {}, version: 9 } })).status).toBe(404);
  });

  test("lists the tenant's templates by name in pages", async () => {
    const first = await json<{ data: Array<{ name: string }>; nextCursor: string }>(send(app, "/v1/templates?limit=2"));
    expect(first.data.map((t) => t.name)).toEqual(["order-shipped", "unpublishable"]);
    const second = await json<{ data: Array<{ name: string }>; nextCursor: string | null }>(send(app, `/v1/templates?limit=2&cursor=${first.nextCursor}`));
    expect(second).toEqual({ data: [expect.objectContaining({ name: "welcome" })], nextCursor: null });
    expect((await send(app, "/v1/templates?cursor=garbage")).status).toBe(400);
    expect(await json(send(app, "/v1/templates", { key: OTHER_KEY }))).toEqual({ data: [], nextCursor: null });
  });
});
