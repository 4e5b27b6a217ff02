import { Hono, type Context } from "hono";
import type { BaseEnv } from "../context.ts";
import { openApiDocument } from "../openapi/document.ts";
import { HTTP_METHODS, type Components, type MediaType, type OpenApiDocument, type Operation, type Parameter, type Reference, type ResponseObject } from "../openapi/types.ts";

/** Both pages depend only on the code, so a client or proxy may keep them for a while; the ETag revalidates cheaply. */
const CACHE_CONTROL = "public, max-age=300";
/** The page has no script and loads nothing: it must work air-gapped, and nothing in it can run. */
const DOCS_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text made safe for both element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch);
}

/** Inline code spans (`x`) of the document's descriptions, after escaping. */
const prose = (text: string | undefined) => (text ? escapeHtml(text).replace(/`([^`]+)`/g, "<code>$1</code>") : "");

/** Pretty JSON, escaped, with each component `$ref` turned into a link to that schema below. */
function jsonBlock(value: unknown): string {
  const text = escapeHtml(JSON.stringify(value, null, 2));
  return `<pre>${text.replace(/&quot;#\/components\/schemas\/(\w+)&quot;/g, '&quot;<a href="#schema-$1">#/components/schemas/$1</a>&quot;')}</pre>`;
}

/** Follows a `#/components/<kind>/<name>` reference; the document is ours, so a dangling one is a bug. */
function resolve<K extends "parameters" | "responses">(doc: OpenApiDocument, kind: K, item: Components[K][string] | Reference): Components[K][string] {
  if (!("$ref" in item)) return item;
  const found = doc.components[kind][item.$ref.slice(`#/components/${kind}/`.length)];
  if (found === undefined) throw new Error(`unresolved reference ${item.$ref}`);
  return found as Components[K][string];
}

const anchor = (op: Operation) => `op-${escapeHtml(op.operationId)}`;

function parametersTable(doc: OpenApiDocument, params: (Parameter | Reference)[]): string {
  const rows = params.map((p) => resolve(doc, "parameters", p)).map((p) => `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${p.in}</td><td>${p.required ? "yes" : "no"}</td><td>${jsonBlock(p.schema)}</td><td>${prose(p.description)}</td></tr>`);
  return `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>schema</th><th>description</th></tr>${rows.join("")}</table>`;
}

function samples(m: MediaType): string {
  const all = m.example === undefined ? Object.values(m.examples ?? {}) : [{ summary: "example", value: m.example }];
  return all.map((e) => `<details><summary>${prose(e.summary)}</summary>${jsonBlock(e.value)}</details>`).join("");
}

function content(media: Record<string, MediaType> | undefined): string {
  return Object.entries(media ?? {})
    .map(([type, m]) => `<p><code>${escapeHtml(type)}</code></p>${jsonBlock(m.schema)}${samples(m)}`)
    .join("");
}

function responsesTable(doc: OpenApiDocument, responses: Record<string, ResponseObject | Reference>): string {
  const rows = Object.entries(responses).map(([status, r]) => {
    const res = resolve(doc, "responses", r);
    const headers = Object.keys(res.headers ?? {}).map((h) => `<code>${escapeHtml(h)}</code>`);
    return `<tr><td><b>${escapeHtml(status)}</b></td><td>${prose(res.description)}${headers.length ? `<br>headers: ${headers.join(", ")}` : ""}</td><td>${content(res.content)}</td></tr>`;
  });
  return `<h4>Responses</h4><table><tr><th>status</th><th>meaning</th><th>body</th></tr>${rows.join("")}</table>`;
}

function operationSection(doc: OpenApiDocument, method: string, path: string, op: Operation): string {
  const auth = op.security?.length === 0 ? "none" : "<code>Authorization: Bearer &lt;api key&gt;</code>";
  const body = op.requestBody ? `<h4>Request body${op.requestBody.required ? " (required)" : ""}</h4>${content(op.requestBody.content)}` : "";
  return `<section id="${anchor(op)}"><h3><span class="m">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>
<p><b>${prose(op.summary)}</b></p><p>${prose(op.description)}</p><p>Auth: ${auth}</p>
${op.parameters?.length ? parametersTable(doc, op.parameters) : ""}${body}${responsesTable(doc, op.responses)}</section>`;
}

/** Every operation of the document, in document order. */
export function operationsOf(doc: OpenApiDocument): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) => HTTP_METHODS.flatMap((method) => (item[method] ? [{ method, path, op: item[method] }] : [])));
}

/** A plain server-rendered reference of the document: one section per operation, then every schema. */
export function renderDocsPage(doc: OpenApiDocument): string {
  const ops = operationsOf(doc);
  const toc = ops.map(({ method, path, op }) => `<li><a href="#${anchor(op)}"><span class="m">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></a> ${prose(op.summary)}</li>`);
  const schemas = Object.entries(doc.components.schemas).map(([name, schema]) => `<section id="schema-${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3>${jsonBlock(schema)}</section>`);
  const title = `${escapeHtml(doc.info.title)} ${escapeHtml(doc.info.version)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}pre{background:#f5f5f5;padding:.5rem;overflow:auto;font-size:12px;max-height:30rem;margin:0}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:.3rem;vertical-align:top;text-align:left}section{border-top:1px solid #ccc;margin-top:1.5rem}.m{font-weight:bold;color:#06c}</style>
</head><body><h1>${title}</h1><p>${prose(doc.info.description)}</p><p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI ${escapeHtml(doc.openapi)}).</p>
<h2>Operations</h2><ul>${toc.join("")}</ul>${ops.map(({ method, path, op }) => operationSection(doc, method, path, op)).join("\n")}
<h2>Schemas</h2>${schemas.join("\n")}</body></html>`;
}

/** A body rendered once with its validator: FNV-1a is enough to tell two builds apart, and needs no async digest. */
interface CachedBody {
  text: string;
  etag: string;
}

function cachedBody(text: string): CachedBody {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return { text, etag: `"${(hash >>> 0).toString(16)}-${text.length.toString(16)}"` };
}

/** 304 when the client holds this body already (`If-None-Match` may list several tags). */
function serve(c: Context<BaseEnv>, body: CachedBody, headers: Record<string, string>): Response {
  c.header("etag", body.etag);
  c.header("cache-control", CACHE_CONTROL);
  const held = c.req.header("if-none-match")?.split(",").map((t) => t.trim());
  if (held?.includes(body.etag)) return c.body(null, 304);
  return c.body(body.text, 200, headers);
}

/**
 * `GET /openapi.json` and `GET /docs`: the contract and its readable page.
 * No API key, like the probes: they describe the API and hold no data. Each
 * body is rendered on first request and kept.
 */
export function docsRoutes(): Hono<BaseEnv> {
  const routes = new Hono<BaseEnv>();
  let spec: CachedBody | undefined;
  let page: CachedBody | undefined;

  routes.get("/openapi.json", function openApiJson(c) {
    spec ??= cachedBody(JSON.stringify(openApiDocument()));
    return serve(c, spec, { "content-type": "application/json; charset=utf-8" });
  });

  routes.get("/docs", function docsPage(c) {
    page ??= cachedBody(renderDocsPage(openApiDocument()));
    return serve(c, page, { "content-type": "text/html; charset=utf-8", "content-security-policy": DOCS_CSP });
  });

  return routes;
}
