import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { getPreferences, putCategory } from "../../lib/db/preferences.ts";
import { signUnsubscribe, type UnsubscribeClaims } from "../../lib/unsubscribe.ts";
import { createAppFixture, send, type AppFixture } from "../../test/support/gateway-fixture.ts";
import { createApp } from "../app.ts";
import { uuidv7 } from "../ids.ts";

const SECRET = "unsubscribe route test secret, thirty-two or more characters";
let f: AppFixture;
let app: ReturnType<typeof createApp>;
beforeAll(async () => {
  f = await createAppFixture();
  app = createApp({ ...f.deps, recipients: { db: f.db.db, tokenSecret: SECRET } });
  await putCategory(f.db.db, "acme", "security", { required: true, defaults: {} });
});
afterAll(async () => {
  await f.cleanup();
});

const hour = () => Math.floor(Date.now() / 1000) + 3600;
const claimsFor = (over: Partial<UnsubscribeClaims> = {}): UnsubscribeClaims => ({
  tenantId: "acme",
  userId: `u-${uuidv7()}`,
  category: "news",
  channel: "email",
  exp: hour(),
  ...over,
});
const oneClick = (token: string, body: string | undefined = "List-Unsubscribe=One-Click", to = app) =>
  send(to, `/v1/unsubscribe/${token}`, {
    method: "POST",
    key: null,
    ...(body === undefined ? {} : { body, headers: { "content-type": "application/x-www-form-urlencoded" } }),
  });
const own = async (c: UnsubscribeClaims) => (await getPreferences(f.db.db, c.tenantId, c.userId)).preferences;

describe("POST /v1/unsubscribe/:token", () => {
  test("the mail client's one-click POST turns the category off on the channel, without an API key, and again changes nothing", async () => {
    const c = claimsFor();
    const token = await signUnsubscribe(SECRET, c);
    const res = await oneClick(token);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({ result: "unsubscribed", category: "news", channel: "email" });
    expect(await own(c)).toEqual([{ category: "news", channel: "email", enabled: false }]);
    const again = await oneClick(token, undefined);
    expect(again.status).toBe(200);
    expect(await own(c)).toEqual([{ category: "news", channel: "email", enabled: false }]);
  });

  test("a browser's form post gets a page", async () => {
    const c = claimsFor({ channel: "*" });
    const res = await send(app, `/v1/unsubscribe/${await signUnsubscribe(SECRET, c)}`, {
      method: "POST",
      key: null,
      body: "List-Unsubscribe=One-Click",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "text/html,application/xhtml+xml,*/*;q=0.8" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/html");
    expect(await res.text()).toContain("Unsubscribed");
    expect(await own(c)).toEqual([{ category: "news", channel: "*", enabled: false }]);
  });

  test("a required category stays on and says so", async () => {
    const c = claimsFor({ category: "security" });
    const res = await oneClick(await signUnsubscribe(SECRET, c));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ result: "required" });
    expect(await own(c)).toEqual([]);
  });

  test("a forged or tampered token is 401 problem+json and changes nothing", async () => {
    const c = claimsFor();
    const forged = await signUnsubscribe("someone else's secret, also long enough to pass", c);
    const res = await oneClick(forged);
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const [, signature] = (await signUnsubscribe(SECRET, c)).split(".");
    const other = Buffer.from(JSON.stringify({ t: "acme", u: "victim", c: "news", ch: "email", exp: hour() })).toString("base64url");
    expect((await oneClick(`${other}.${signature}`)).status).toBe(401);
    expect((await oneClick("not-a-token")).status).toBe(401);
    expect(await own(c)).toEqual([]);
    expect((await getPreferences(f.db.db, "acme", "victim")).preferences).toEqual([]);
  });

  test("an expired link is 410 and changes nothing", async () => {
    const c = claimsFor({ exp: Math.floor(Date.now() / 1000) - 1 });
    const res = await oneClick(await signUnsubscribe(SECRET, c));
    expect(res.status).toBe(410);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await own(c)).toEqual([]);
  });

  test("answers 503 naming HERALD_TOKEN_SECRET when the gateway has none", async () => {
    const c = claimsFor();
    const res = await oneClick(await signUnsubscribe(SECRET, c), undefined, f.app);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { detail: string }).detail).toContain("HERALD_TOKEN_SECRET");
    expect(await own(c)).toEqual([]);
  });
});

describe("GET /v1/unsubscribe/:token", () => {
  test("shows a page whose button POSTs, and changes nothing: mail scanners follow links", async () => {
    const c = claimsFor();
    const res = await send(app, `/v1/unsubscribe/${await signUnsubscribe(SECRET, c)}`, { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/html");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await res.text();
    expect(html).toContain('<form method="post">');
    expect(html).toContain('name="List-Unsubscribe" value="One-Click"');
    expect(html).toContain("news email notifications");
    expect(await own(c)).toEqual([]);
  });

  test("refuses a forged link (401) and an expired one (410) as the POST does", async () => {
    const forged = await signUnsubscribe("someone else's secret, also long enough to pass", claimsFor());
    expect((await send(app, `/v1/unsubscribe/${forged}`, { key: null })).status).toBe(401);
    const expired = await signUnsubscribe(SECRET, claimsFor({ exp: 1 }));
    expect((await send(app, `/v1/unsubscribe/${expired}`, { key: null })).status).toBe(410);
  });
});
