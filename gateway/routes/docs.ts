import { Hono, type Context } from "hono";
import type { BaseEnv } from "../context.ts";
import { AppError } from "../errors.ts";
import { openApiDocument } from "../openapi/document.ts";
import { HTTP_METHODS, type OpenApiDocument, type Operation } from "../openapi/types.ts";
import { cachedBody, docsAssets, type CachedBody, type DocsAssets } from "./docs-assets.ts";
import { DOCS_CSP, renderDocsPage } from "./docs-page.ts";

/** Both pages depend only on the code, so a client or proxy may keep them for a while; the ETag revalidates cheaply. */
const PAGE_CACHE = "public, max-age=300";
/** Assets are named by their content: a new build gets new names, so an old copy never goes stale. */
const ASSET_CACHE = "public, max-age=31536000, immutable";

/** Every operation of the document, in document order. */
export function operationsOf(doc: OpenApiDocument): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) => HTTP_METHODS.flatMap((method) => (item[method] ? [{ method, path, op: item[method] }] : [])));
}

/** 304 when the client holds this body already (`If-None-Match` may list several tags). */
function serve(c: Context<BaseEnv>, body: CachedBody, cacheControl: string, headers: Record<string, string>): Response {
  c.header("etag", body.etag);
  c.header("cache-control", cacheControl);
  const held = c.req
    .header("if-none-match")
    ?.split(",")
    .map((t) => t.trim());
  if (held?.includes(body.etag)) return c.body(null, 304);
  return c.body(body.text, 200, headers);
}

/**
 * `GET /openapi.json`, `GET /docs` and the page's assets: the contract and
 * its reference UI (Redoc), served from this origin only. No API key, like the
 * probes: they describe the API and hold no data. Bodies are built on first
 * request and kept.
 */
export function docsRoutes(): Hono<BaseEnv> {
  const routes = new Hono<BaseEnv>();
  let spec: CachedBody | undefined;
  let page: CachedBody | undefined;
  let assets: Promise<DocsAssets> | undefined;
  const pageAssets = (): Promise<DocsAssets> => {
    // A failed load is not kept: the next request tries again.
    assets ??= docsAssets(openApiDocument()).catch((err: unknown) => {
      assets = undefined;
      throw err;
    });
    return assets;
  };

  routes.get("/openapi.json", function openApiJson(c) {
    spec ??= cachedBody(JSON.stringify(openApiDocument()));
    return serve(c, spec, PAGE_CACHE, { "content-type": "application/json; charset=utf-8" });
  });

  routes.get("/docs", async function docsPage(c) {
    const { script, spec: withSamples } = await pageAssets();
    page ??= cachedBody(renderDocsPage(openApiDocument(), { scriptPath: `docs/assets/${script.name}`, specPath: `docs/assets/${withSamples.name}` }));
    return serve(c, page, PAGE_CACHE, { "content-type": "text/html; charset=utf-8", "content-security-policy": DOCS_CSP });
  });

  routes.get("/docs/assets/:file", async function docsAsset(c) {
    const asset = (await pageAssets()).byName.get(c.req.param("file"));
    if (asset === undefined) throw new AppError("not_found", { detail: "No such asset: its name changes with each build, so reload /docs" });
    return serve(c, asset.body, ASSET_CACHE, { "content-type": asset.contentType, "x-content-type-options": "nosniff" });
  });

  return routes;
}
