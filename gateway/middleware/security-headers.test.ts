import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { signUnsubscribe } from "../../lib/unsubscribe.ts";
import { createAppFixture, send, type AppFixture } from "../../test/support/gateway-fixture.ts";
import { createApp } from "../app.ts";
import { DOCS_CSP } from "../routes/docs-page.ts";
import { isHttps, securityHeaders, STRICT_CSP } from "./security-headers.ts";

const SECRET = "security headers test secret, thirty-two or more characters";

/** The headers every answer carries, whatever its route or status. */
function expectBaseline(res: Response): void {
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  expect(res.headers.get("referrer-policy")).toBe("no-referrer");
  expect(res.headers.get("x-frame-options")).toBe("DENY");
}

describe("securityHeaders()", () => {
  const app = new Hono();
  app.use(securityHeaders({ hstsMaxAgeSeconds: 60 }));
  app.get("/json", (c) => c.json({ ok: true }));
  app.get("/own", (c) => c.html("<p>hi</p>", 200, { "content-security-policy": "default-src 'self'" }));

  test("gives a JSON answer the strict policy and no HSTS over plain http", async () => {
    const res = await app.request("http://herald/json");
    expectBaseline(res);
    expect(res.headers.get("content-security-policy")).toBe(STRICT_CSP);
    expect(res.headers.get("strict-transport-security")).toBeNull();
  });

  test("keeps the policy a route set itself", async () => {
    const res = await app.request("http://herald/own");
    expect(res.headers.get("content-security-policy")).toBe("default-src 'self'");
    expectBaseline(res);
  });

  test("sends HSTS over https, and behind a proxy that says the client used https", async () => {
    expect((await app.request("https://herald/json")).headers.get("strict-transport-security")).toBe("max-age=60; includeSubDomains");
    const proxied = await app.request("http://herald/json", { headers: { "x-forwarded-proto": "https, http" } });
    expect(proxied.headers.get("strict-transport-security")).toBe("max-age=60; includeSubDomains");
    const plain = await app.request("http://herald/json", { headers: { "x-forwarded-proto": "http" } });
    expect(plain.headers.get("strict-transport-security")).toBeNull();
  });

  test("isHttps reads the first hop of X-Forwarded-Proto, case-insensitively", () => {
    expect(isHttps(new Request("http://h/", { headers: { "x-forwarded-proto": " HTTPS " } }))).toBe(true);
    expect(isHttps(new Request("http://h/", { headers: { "x-forwarded-proto": "http, https" } }))).toBe(false);
    expect(isHttps(new Request("http://h/"))).toBe(false);
  });
});

describe("the gateway's answers", () => {
  let f: AppFixture;
  let app: ReturnType<typeof createApp>;
  beforeAll(async () => {
    f = await createAppFixture();
    app = createApp({ ...f.deps, recipients: { db: f.db.db, tokenSecret: SECRET } });
  });
  afterAll(async () => {
    await f.cleanup();
  });

  test("a probe, a 401, a 404 and a 400 all carry the headers and the strict policy", async () => {
    const answers = await Promise.all([
      send(app, "/health/live", { key: null }),
      send(app, "/v1/notifications", { key: null }),
      send(app, "/nowhere"),
      send(app, "/v1/notifications", { body: "{" }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([200, 401, 404, 400]);
    for (const res of answers) {
      expectBaseline(res);
      expect(res.headers.get("content-security-policy")).toBe(STRICT_CSP);
    }
  });

  test("/docs keeps the policy that lets Redoc run from this origin", async () => {
    const res = await send(app, "/docs", { key: null });
    expect(res.status).toBe(200);
    expectBaseline(res);
    expect(res.headers.get("content-security-policy")).toBe(DOCS_CSP);
  });

  test("the unsubscribe page keeps the policy that lets its form post to itself", async () => {
    const token = await signUnsubscribe(SECRET, {
      tenantId: "acme",
      userId: "u-headers",
      category: "news",
      channel: "email",
      exp: Math.floor(Date.now() / 1000) + 3600,
    });
    const res = await send(app, `/v1/unsubscribe/${token}`, { key: null });
    expect(res.status).toBe(200);
    expectBaseline(res);
    expect(res.headers.get("content-security-policy")).toContain("form-action 'self'");
  });

  test("an https request through a proxy gets HSTS", async () => {
    const res = await send(app, "/health/live", { key: null, headers: { "x-forwarded-proto": "https" } });
    expect(res.headers.get("strict-transport-security")).toStartWith("max-age=31536000");
  });
});
