import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openApiDocument } from "../openapi/document.ts";
import type { OpenApiDocument } from "../openapi/types.ts";
import { createAppFixture, send, type AppFixture } from "../../test/support/gateway-fixture.ts";
import { REDOC_LOGO_SRC } from "./docs-assets.ts";
import { escapeHtml, renderDocsPage } from "./docs-page.ts";
import { withCodeSamples } from "./docs-samples.ts";

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

/** Every URL the page names: element sources and links, and the `<redoc>` element's document. */
const urlsOf = (html: string) => [...html.matchAll(/\b(?:src|href|spec-url)\s*=\s*"([^"]*)"/gi)].map((m) => m[1] ?? "");

describe("GET /docs", () => {
  let res: Response;
  let html = "";
  beforeAll(async () => {
    res = await send(f.app, "/docs", { key: null });
    html = await res.text();
  });

  test("is an HTML page that needs no API key, cacheable with an ETag", () => {
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    expect(res.headers.get("etag")).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(html).toStartWith("<!doctype html>");
    expect(html).toContain("</html>");
    expect(html).toContain("<title>Herald API ");
  });

  test("loads Redoc's bundle and the document from this origin only", () => {
    const urls = urlsOf(html);
    expect(urls).toEqual([
      expect.stringMatching(/^openapi\.json$/),
      expect.stringMatching(/^docs\/assets\/openapi\.[0-9a-f]{8}\.json$/),
      expect.stringMatching(/^docs\/assets\/redoc\.standalone\.[0-9a-f]{8}\.js$/),
    ]);
    expect(html).toContain(`<script src="${urls[2]}"></script>`);
    expect(html).not.toMatch(/\/\/|<link|<iframe|<img|@import|url\(/i);
  });

  test("its Content-Security-Policy allows this origin and nothing elsewhere", () => {
    const csp = res.headers.get("content-security-policy") ?? "";
    const directives = new Map(
      csp
        .split(";")
        .map((d) => d.trim().split(/\s+/))
        .map(([name = "", ...sources]) => [name, sources]),
    );
    expect(directives.get("default-src")).toEqual(["'none'"]);
    expect(directives.get("script-src")).toEqual(["'self'"]);
    expect(directives.get("connect-src")).toEqual(["'self'"]);
    expect(directives.get("frame-ancestors")).toEqual(["'none'"]);
    const sources = [...directives.values()].flat();
    for (const s of sources) expect(s).toMatch(/^('none'|'self'|'unsafe-inline'|blob:|data:)$/);
    expect(sources).not.toContain("'unsafe-eval'");
  });

  test("escapes what the document says", () => {
    const evil = `<script>alert("x")</script> & 'quotes'`;
    const doc: OpenApiDocument = { ...openApiDocument(), info: { ...openApiDocument().info, title: evil } };
    const page = renderDocsPage(doc, { scriptPath: 'a"b.js', specPath: "c<d>.json" });
    expect(page).not.toContain("<script>alert");
    expect(page).toContain(`<title>${escapeHtml(evil)}`);
    expect(page).toContain('src="a&quot;b.js"');
    expect(page).toContain('spec-url="c&lt;d&gt;.json"');
  });
});

describe("GET /docs/assets/:file", () => {
  const pageUrls = async () => urlsOf(await (await send(f.app, "/docs", { key: null })).text());
  const asset = async (url: string, headers: Record<string, string> = {}) => send(f.app, `/${url}`, { key: null, headers });

  test("serves Redoc's bundle as JavaScript, cached for good and revalidated by ETag", async () => {
    const [, , script = ""] = await pageUrls();
    const res = await asset(script);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const body = await res.text();
    expect(body.length).toBeGreaterThan(500_000);
    expect(body).toContain("Redoc");
    const again = await asset(script, { "if-none-match": res.headers.get("etag") ?? "" });
    expect(again.status).toBe(304);
  });

  test("the bundle names no image from elsewhere: Redoc's CDN logo is taken out", async () => {
    const [, , script = ""] = await pageUrls();
    const body = await (await asset(script)).text();
    expect(REDOC_LOGO_SRC).toContain("https://");
    expect(body).not.toContain(REDOC_LOGO_SRC);
    expect(body).not.toMatch(/\bsrc:"https?:/);
  });

  test("serves the document with request samples as JSON; /openapi.json stays without them", async () => {
    const [, spec = ""] = await pageUrls();
    const res = await asset(spec);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(withCodeSamples(openApiDocument()))));
    expect(JSON.stringify(await (await send(f.app, "/openapi.json", { key: null })).json())).not.toContain("x-codeSamples");
  });

  test("answers 404 problem+json to a name it does not have, such as an older build's", async () => {
    const res = await send(f.app, "/docs/assets/redoc.standalone.00000000.js", { key: null });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toStartWith("application/problem+json");
  });
});
