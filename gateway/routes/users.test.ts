import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { uuidv7 } from "../ids.ts";
import { OTHER_KEY } from "../../test/support/constants.ts";
import { createAppFixture, send, type AppFixture } from "../../test/support/gateway-fixture.ts";
import { createApp } from "../app.ts";

let f: AppFixture;
beforeAll(async () => {
  f = await createAppFixture();
});
afterAll(async () => {
  await f.cleanup();
});

const fresh = () => `user-${uuidv7()}`;
const put = (path: string, body: unknown, key?: string) => send(f.app, path, { method: "PUT", body, ...(key ? { key } : {}) });
type Problem = { status: number; detail: string; errors?: { path: string; message: string }[] };

describe("/v1/users/:userId", () => {
  test("PUT creates (201) then replaces (200); GET reads; PATCH changes only what is given; DELETE erases", async () => {
    const id = fresh();
    const created = await put(`/v1/users/${id}`, { email: "a@example.com", locale: "de-AT", timeZone: "Europe/Berlin", data: { plan: "pro" } });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ userId: id, email: "a@example.com", phone: null, locale: "de-AT", devices: [] });
    const replaced = await put(`/v1/users/${id}`, { phone: "+14155550100" });
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).toMatchObject({ email: null, phone: "+14155550100", locale: null, timeZone: null, data: {} });

    const patched = await send(f.app, `/v1/users/${id}`, { method: "PATCH", body: { quietHours: { start: "22:00", end: "07:00" }, phone: null } });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ phone: null, quietHours: { start: "22:00", end: "07:00" } });
    expect(await (await send(f.app, `/v1/users/${id}`)).json()).toMatchObject({ userId: id, quietHours: { start: "22:00", end: "07:00" } });

    const deleted = await send(f.app, `/v1/users/${id}`, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toMatchObject({ userId: id, erased: { profile: 1 } });
    expect((await send(f.app, `/v1/users/${id}`)).status).toBe(404);
    expect((await send(f.app, `/v1/users/${id}`, { method: "DELETE" })).status).toBe(200);
  });

  test("another tenant's user is not there: GET, PATCH, devices and DELETE leave it alone", async () => {
    const id = fresh();
    await put(`/v1/users/${id}`, { email: "mine@example.com" });
    const res = await send(f.app, `/v1/users/${id}`, { key: OTHER_KEY });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect((await send(f.app, `/v1/users/${id}`, { method: "PATCH", body: { email: null }, key: OTHER_KEY })).status).toBe(404);
    expect((await send(f.app, `/v1/users/${id}/devices`, { body: { token: "t", platform: "ios" }, key: OTHER_KEY })).status).toBe(404);
    const other = await send(f.app, `/v1/users/${id}`, { method: "DELETE", key: OTHER_KEY });
    expect(other.status).toBe(200);
    expect(await other.json()).toMatchObject({ erased: { profile: 0, devices: 0 } });
    expect(await (await send(f.app, `/v1/users/${id}`)).json()).toMatchObject({ email: "mine@example.com", devices: [] });
  });

  test("PATCH of a user that does not exist is 404, and creates nothing", async () => {
    const id = fresh();
    expect((await send(f.app, `/v1/users/${id}`, { method: "PATCH", body: { email: "a@example.com" } })).status).toBe(404);
    expect((await send(f.app, `/v1/users/${id}`)).status).toBe(404);
  });

  test("answers 400 with the path of every bad field: phone, time zone, locale, quiet hours, unknown fields", async () => {
    const res = await put(`/v1/users/${fresh()}`, {
      phone: "0415 555 0100",
      timeZone: "Mars/Olympus",
      locale: "not a locale",
      quietHours: { start: "25:00", end: "07:00" },
      colour: "red",
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Problem;
    expect(body.errors?.map((e) => e.path).sort()).toEqual(["", "locale", "phone", "quietHours.start", "timeZone"]);
    const patch = await send(f.app, `/v1/users/${fresh()}`, { method: "PATCH", body: { email: "nope" } });
    expect(((await patch.json()) as Problem).errors?.map((e) => e.path)).toEqual(["email"]);
    const nul = await put(`/v1/users/${fresh()}`, { data: { a: "x\u0000y" } });
    expect(((await nul.json()) as Problem).errors?.map((e) => e.path)).toEqual(["data.a"]);
    const long = await put(`/v1/users/${"x".repeat(300)}`, {});
    expect(((await long.json()) as Problem).errors?.map((e) => e.path)).toEqual(["userId"]);
  });

  test("answers 415 for a body that is not JSON", async () => {
    const res = await send(f.app, `/v1/users/${fresh()}`, { method: "PUT", body: "email=a", headers: { "content-type": "text/plain" } });
    expect(res.status).toBe(415);
  });

  test("answers 503 on a gateway without the recipients' database", async () => {
    const { recipients: _, ...deps } = f.deps;
    expect((await send(createApp(deps), `/v1/users/${fresh()}`)).status).toBe(503);
  });
});

describe("/v1/users/:userId/devices", () => {
  const devices = async (id: string) => ((await (await send(f.app, `/v1/users/${id}`)).json()) as { devices: unknown[] }).devices;

  test("adds (201), updates the platform, moves a token between users, and removes (204, then 404)", async () => {
    const [a, b] = [fresh(), fresh()];
    await put(`/v1/users/${a}`, {});
    await put(`/v1/users/${b}`, {});
    const added = await send(f.app, `/v1/users/${a}/devices`, { body: { token: "tok/1:x", platform: "ios" } });
    expect(added.status).toBe(201);
    expect(await added.json()).toEqual({ token: "tok/1:x", platform: "ios" });
    expect((await send(f.app, `/v1/users/${a}/devices`, { body: { token: "tok/1:x", platform: "web" } })).status).toBe(201);
    expect(await devices(a)).toEqual([{ token: "tok/1:x", platform: "web" }]);

    await send(f.app, `/v1/users/${b}/devices`, { body: { token: "tok/1:x", platform: "android" } });
    expect(await devices(a)).toEqual([]);
    expect(await devices(b)).toEqual([{ token: "tok/1:x", platform: "android" }]);

    const path = `/v1/users/${b}/devices/${encodeURIComponent("tok/1:x")}`;
    expect((await send(f.app, path, { method: "DELETE" })).status).toBe(204);
    expect((await send(f.app, path, { method: "DELETE" })).status).toBe(404);
    expect(await devices(b)).toEqual([]);
  });

  test("refuses an unknown platform with its path, and a user that does not exist with 404", async () => {
    const id = fresh();
    await put(`/v1/users/${id}`, {});
    const bad = await send(f.app, `/v1/users/${id}/devices`, { body: { token: "t", platform: "blackberry" } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Problem).errors?.map((e) => e.path)).toEqual(["platform"]);
    expect((await send(f.app, `/v1/users/${fresh()}/devices`, { body: { token: "t", platform: "ios" } })).status).toBe(404);
  });
});

describe("/v1/users/:userId/preferences", () => {
  type Answer = { preferences: unknown[]; categories: { category: string; required: boolean; channels: Record<string, boolean> }[] };
  const category = (answer: Answer, name: string) => answer.categories.find((c) => c.category === name);

  test("answer every category with its effective value per channel: channel row > `*` > category default > on", async () => {
    await put("/v1/categories/digest", { defaults: { email: false, sms: false } });
    const id = fresh();
    const before = (await (await send(f.app, `/v1/users/${id}/preferences`)).json()) as Answer;
    expect(before.preferences).toEqual([]);
    expect(category(before, "digest")?.channels).toEqual({ email: false, sms: false, push: true, webhook: true, in_app: true });

    const res = await put(`/v1/users/${id}/preferences`, {
      preferences: [
        { category: "digest", channel: "email", enabled: true },
        { category: "digest", enabled: false },
      ],
    });
    expect(res.status).toBe(200);
    const after = (await res.json()) as Answer;
    expect(after.preferences).toEqual([
      { category: "digest", channel: "*", enabled: false },
      { category: "digest", channel: "email", enabled: true },
    ]);
    expect(category(after, "digest")).toEqual({
      category: "digest",
      required: false,
      channels: { email: true, sms: false, push: false, webhook: false, in_app: false },
    });
    expect(await (await send(f.app, `/v1/users/${id}/preferences`)).json()).toEqual(after);
    const theirs = (await (await send(f.app, `/v1/users/${id}/preferences`, { key: OTHER_KEY })).json()) as Answer;
    expect(theirs.preferences).toEqual([]);
  });

  test("refuses with 409 an opt-out of a required category, changing nothing", async () => {
    await put("/v1/categories/security", { required: true });
    const id = fresh();
    const res = await put(`/v1/users/${id}/preferences`, {
      preferences: [
        { category: "digest", channel: "sms", enabled: true },
        { category: "security", channel: "email", enabled: false },
      ],
    });
    expect(res.status).toBe(409);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(((await res.json()) as Problem).detail).toContain("security");
    const now = (await (await send(f.app, `/v1/users/${id}/preferences`)).json()) as Answer;
    expect(now.preferences).toEqual([]);
    expect(category(now, "security")).toMatchObject({ required: true, channels: { email: true } });
  });

  test("answers 400 with paths for a bad category or channel", async () => {
    const res = await put(`/v1/users/${fresh()}/preferences`, { preferences: [{ category: "Bad Name", channel: "fax", enabled: "no" }] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Problem).errors?.map((e) => e.path).sort()).toEqual([
      "preferences.0.category",
      "preferences.0.channel",
      "preferences.0.enabled",
    ]);
  });
});
