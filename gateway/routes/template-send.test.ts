import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTemplate, publishTemplate } from "../../lib/db/templates.ts";
import { addDevice, putUser } from "../../lib/db/users.ts";
import type { TemplateContent } from "../../schemas/recipients.ts";
import { createAppFixture, send, type AppFixture } from "../../test/support/gateway-fixture.ts";
import { createApp } from "../app.ts";
import { createTemplateCache } from "../../lib/templates/cache.ts";
import { templateSendDeps } from "../runtime/template-deps.ts";

const content: TemplateContent = {
  variables: { type: "object", properties: { order: { type: "object", properties: { total: { type: "number" } }, required: ["total"] } }, required: ["order"] },
  locales: {
    default: { email: { subject: "Order {{ data.order.total }}", text: "Thanks" }, push: { title: "Order", body: "{{ data.order.total }}" } },
    de: { email: { subject: "Bestellung {{ data.order.total }}", text: "Danke" } },
  },
};

let f: AppFixture;
beforeAll(async () => {
  f = await createAppFixture();
});
afterAll(async () => {
  await f.cleanup();
});

describe("POST /v1/notifications by template", () => {
  let app: AppFixture;
  beforeAll(async () => {
    const probe = await createAppFixture();
    app = await createAppFixture({ templateSends: templateSendDeps(probe.db.sql, createTemplateCache(probe.db.db)) });
    // The templates and users live in the probe's database, which the deps read.
    const db = probe.db.db;
    await createTemplate(db, "acme", { name: "order-shipped", category: "orders", content });
    await publishTemplate(db, "acme", "order-shipped");
    await putUser(db, "acme", "ada", { email: "ada@example.com", locale: "de" });
    await addDevice(db, "acme", "ada", { token: "fcm-token-1", platform: "android" });
    await putUser(db, "acme", "bob", { phone: "+14155550100" });
    await createTemplate(db, "acme", { name: "draft-only", category: "orders", content });
    const own = app.cleanup;
    app = { ...app, cleanup: async () => void (await Promise.all([own(), probe.cleanup()])) };
  });
  afterAll(async () => {
    await app.cleanup();
  });

  const body = (over: Record<string, unknown> = {}) => ({
    userId: "ada",
    template: "order-shipped",
    data: { order: { total: 42 } },
    channel: "email",
    ...over,
  });

  test("accepts one channel like an explicit send, with the version fixed in the published payload", async () => {
    const res = await send(app.app, "/v1/notifications", { body: body() });
    expect(res.status).toBe(202);
    const answer = (await res.json()) as { id: string; status: string };
    expect(answer.status).toBe("accepted");
    const { envelope } = await app.message(await app.count());
    expect(envelope).toMatchObject({ id: answer.id, channel: "email", userId: "ada" });
    expect(envelope.payload).toEqual({ template: { name: "order-shipped", version: 1, category: "orders" }, data: { order: { total: 42 } } });
  });

  test("without a channel, every channel the template has becomes a notification of its own", async () => {
    const before = await app.count();
    const res = await send(app.app, "/v1/notifications", { body: body({ channel: undefined, locale: "de" }) });
    expect(res.status).toBe(202);
    const { notifications } = (await res.json()) as { notifications: Array<{ channel: string; status: string; id: string }> };
    expect(notifications.map((n) => [n.channel, n.status])).toEqual([
      ["email", "accepted"],
      ["push", "accepted"],
    ]);
    expect(await app.count()).toBe(before + 2);
  });

  test("invalid data is a 400 with the field's path, and nothing is published", async () => {
    const before = await app.count();
    const res = await send(app.app, "/v1/notifications", { body: body({ data: { order: { total: "forty-two" } } }) });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: Array<{ path: string }> };
    expect(problem.errors.map((e) => e.path)).toEqual(["data.order.total"]);
    const missing = await send(app.app, "/v1/notifications", { body: body({ data: {} }) });
    expect(((await missing.json()) as { errors: Array<{ path: string }> }).errors.map((e) => e.path)).toEqual(["data.order"]);
    expect(await app.count()).toBe(before);
  });

  test("an unknown or unpublished template, a channel it lacks, an unknown user or one without the address: 400 naming the field", async () => {
    const before = await app.count();
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ template: "nope" }, "template", /no published template named nope/],
      [{ template: "draft-only" }, "template", /no published template/],
      [{ channel: "sms" }, "channel", /has no sms content/],
      [{ userId: "ghost" }, "userId", /no user ghost/],
      [{ userId: "bob" }, "userId", /user bob has no email address/],
      [{ channel: "email", channels: ["email"] }, "channels", /not both/],
    ];
    for (const [over, path, message] of cases) {
      const res = await send(app.app, "/v1/notifications", { body: body(over) });
      expect(res.status).toBe(400);
      const problem = (await res.json()) as { errors: Array<{ path: string; message: string }> };
      expect(problem.errors[0]?.path).toBe(path);
      expect(problem.errors[0]?.message).toMatch(message);
    }
    expect(await app.count()).toBe(before);
  });

  test("the same Idempotency-Key names the same notifications and replays the answer", async () => {
    const first = await send(app.app, "/v1/notifications", {
      body: body({ channel: undefined, channels: ["email", "push"] }),
      headers: { "idempotency-key": "tpl-1" },
    });
    const again = await send(app.app, "/v1/notifications", {
      body: body({ channel: undefined, channels: ["email", "push"] }),
      headers: { "idempotency-key": "tpl-1" },
    });
    expect(first.status).toBe(202);
    expect(again.headers.get("idempotency-replayed")).toBe("true");
    expect(await again.json()).toEqual(await first.json());
  });
});

test("a gateway without template sends wired answers 503", async () => {
  const res = await send(f.app, "/v1/notifications", { body: { userId: "ada", template: "x" } });
  expect(res.status).toBe(503);
});

test("templates or recipients that do not answer: 503 with Retry-After and nothing published", async () => {
  const down = () => Promise.reject(new Error("connection refused"));
  const app = createApp({ ...f.deps, templateSends: { published: down, recipient: down, validate: () => [] } });
  const before = await f.count();
  const res = await send(app, "/v1/notifications", { body: { userId: "ada", template: "order-shipped", data: {} } });
  expect(res.status).toBe(503);
  expect(res.headers.get("retry-after")).toBe("1");
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  expect(await f.count()).toBe(before);
});
