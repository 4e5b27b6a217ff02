// Redoc (search, schema tables, sample tabs) over Scalar: its one-file bundle is exported by its package, so it imports by name as text and the compiled binary embeds it.
import type { OpenApiDocument } from "../openapi/types.ts";
import { withCodeSamples } from "./docs-samples.ts";

/** A body kept with its validator: FNV-1a is enough to tell two builds apart, and needs no async digest. */
export interface CachedBody {
  text: string;
  etag: string;
  /** The FNV-1a hash as 8 hex digits, for content-addressed names. */
  hash: string;
}

export function cachedBody(text: string): CachedBody {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  const hash = (h >>> 0).toString(16).padStart(8, "0");
  return { text, hash, etag: `"${hash}-${text.length.toString(16)}"` };
}

/** A file the page loads from this origin, named by its content so it can be cached for good. */
export interface DocsAsset {
  name: string;
  contentType: string;
  body: CachedBody;
}

function asset(stem: string, ext: string, contentType: string, text: string): DocsAsset {
  const body = cachedBody(text);
  return { name: `${stem}.${body.hash}.${ext}`, contentType, body };
}

/** The page's two assets: the UI's script and the document it renders, with request samples added. */
export interface DocsAssets {
  script: DocsAsset;
  spec: DocsAsset;
  byName: ReadonlyMap<string, DocsAsset>;
}

/** Redoc's menu footer shows its vendor's logo from a CDN; an empty `src` loads nothing, so the page asks nothing of elsewhere. */
export const REDOC_LOGO_SRC = 'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"';

/** Loaded on the first request for the page: the bundle as a module costs a process more memory than it is worth to one that never serves it. */
export async function docsAssets(doc: OpenApiDocument): Promise<DocsAssets> {
  const { default: redocBundle } = await import("redoc/bundles/redoc.standalone.js", { with: { type: "text" } });
  const script = asset("redoc.standalone", "js", "text/javascript; charset=utf-8", redocBundle.replace(REDOC_LOGO_SRC, 'src:""'));
  const spec = asset("openapi", "json", "application/json; charset=utf-8", JSON.stringify(withCodeSamples(doc)));
  return { script, spec, byName: new Map([script, spec].map((a) => [a.name, a])) };
}
