import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openApiDocument } from "../openapi/document.ts";
import type { OpenApiDocument } from "../openapi/types.ts";
import { createAppFixture, send, type AppFixture } from "../../test/support/gateway-fixture.ts";
import { escapeHtml, operationsOf, renderDocsPage } from "./docs.ts";

let f: AppFixture;
beforeAll(async () => {
  f = await createAppFixture();
});
afterAll(async () => {
  await f.cleanup();
});

describe("GET /openapi.json", () => {
  test("answers the document without an API key, cacheable", async () => {
    const res = await send(f.app, "/openapi.json", { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("application/json");
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  });

  test("answers 304 to the ETag it gave", async () => {
    const first = await send(f.app, "/openapi.json", { key: null });
    const tag = first.headers.get("etag");
    expect(tag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    const again = await send(f.app, "/openapi.json", { key: null, headers: { "if-none-match": `"other", ${tag}` } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect(again.headers.get("etag")).toBe(tag);
  });

  test("ignores an API key, even a wrong one", async () => {
    expect((await send(f.app, "/openapi.json", { key: "not-a-key" })).status).toBe(200);
  });
});

describe("GET /docs", () => {
  let html = "";
  beforeAll(async () => {
    const res = await send(f.app, "/docs", { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("etag")).toBeTruthy();
    html = await res.text();
  });

  test("is an HTML page that needs no API key", () => {
    expect(html).toStartWith("<!doctype html>");
    expect(html).toContain("</html>");
  });

  test("has a section for every operation with its method, path and summary", () => {
    for (const { method, path, op } of operationsOf(openApiDocument())) {
      const section = html.match(new RegExp(`<section id="op-${op.operationId}">([\\s\\S]*?)</section>`))?.[1] ?? "";
      expect(section).toContain(`<span class="m">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code>`);
      expect(section).toContain(escapeHtml(op.summary));
      expect(html).toContain(`href="#op-${op.operationId}"`);
    }
  });

  test("shows the request body schema and links every schema it names", () => {
    const create = html.match(/<section id="op-createNotification">([\s\S]*?)<\/section>/)?.[1] ?? "";
    expect(create).toContain("Request body (required)");
    expect(create).toContain('<a href="#schema-NotificationRequest">');
    expect(create).toContain("<summary>Email (the README&#39;s example)</summary>");
    for (const name of Object.keys(openApiDocument().components.schemas)) expect(html).toContain(`<section id="schema-${name}">`);
    for (const [, target] of html.matchAll(/href="#([^"]+)"/g)) expect(html).toContain(`id="${target}"`);
  });

  test("loads nothing from elsewhere and runs no script", () => {
    expect(html).not.toMatch(/<script|<link|<iframe|<img|@import|url\(/i);
    const links = [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/gi)].map((m) => m[1] ?? "");
    expect(links.length).toBeGreaterThan(10);
    for (const link of links) expect(link).toMatch(/^(#[\w-]+|openapi\.json)$/);
  });

  test("escapes what the document says", () => {
    const doc = openApiDocument();
    const evil = `<script>alert("x")</script> & 'quotes'`;
    const get = doc.paths["/health/live"]?.get;
    if (get === undefined) throw new Error("missing operation");
    const tampered: OpenApiDocument = { ...doc, info: { ...doc.info, title: evil }, paths: { "/health/live": { get: { ...get, summary: evil, description: evil } } } };
    const page = renderDocsPage(tampered);
    expect(page).not.toContain("<script>");
    expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;");
    // Schema JSON is escaped too: the zod email pattern's quote and the problem examples' URLs stay text.
    expect(html).toContain("[A-Za-z0-9_&#39;+");
    expect(html).not.toMatch(/"https?:\/\//);
  });
});
