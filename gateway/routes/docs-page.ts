import type { OpenApiDocument } from "../openapi/types.ts";

/**
 * Only this origin: the page must work air-gapped. What Redoc needs beyond
 * 'self': its styles arrive as `<style>` elements (styled-components), its
 * search index runs in a worker started from a `blob:` URL, and its icons are
 * `data:` images. No 'unsafe-eval', no host anywhere.
 */
export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; worker-src blob:; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text made safe for both element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch);
}

const SANS = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
/** Local fonts only: Redoc's default faces would come from a font service. */
const THEME = { typography: { fontFamily: SANS, headings: { fontFamily: SANS }, code: { fontFamily: "ui-monospace, Menlo, Consolas, monospace" } } };

/** Redoc's options, read from the `<redoc>` element's attributes. */
const OPTIONS: Record<string, string> = {
  "required-props-first": "true",
  "expand-responses": "200,202",
  "path-in-middle-panel": "true",
  theme: JSON.stringify(THEME),
};

/** Paths of the page's assets, relative so the page also works behind a path prefix. */
export interface PageAssets {
  scriptPath: string;
  specPath: string;
}

/** The page: a `<redoc>` element naming the document, and Redoc's bundle from this origin. */
export function renderDocsPage(doc: OpenApiDocument, assets: PageAssets): string {
  const attrs = Object.entries({ "spec-url": assets.specPath, ...OPTIONS }).map(([k, v]) => ` ${k}="${escapeHtml(v)}"`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`${doc.info.title} ${doc.info.version}`)}</title>
</head><body>
<noscript>This reference needs JavaScript; the document itself is <a href="openapi.json">openapi.json</a>.</noscript>
<redoc${attrs.join("")}></redoc>
<script src="${escapeHtml(assets.scriptPath)}"></script>
</body></html>`;
}
