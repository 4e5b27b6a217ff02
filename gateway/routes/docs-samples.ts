import type { JsonSchema, OpenApiDocument, Operation, Parameter, PathItem, Reference, ResponseObject } from "../openapi/types.ts";

/** Redoc shows an operation's `x-codeSamples` as tabs; it generates none itself. */
export interface CodeSample {
  lang: string;
  label: string;
  source: string;
}

/** What both samples send; placeholders (`<id>`) and key variables are left for the reader. */
interface RequestShape {
  method: string;
  url: string;
  keyVar: string | undefined;
  headers: [name: string, shell: string, ts: string][];
  body: unknown;
}

const DEFAULT_BASE = "http://127.0.0.1:8080";
const json = (value: unknown) => JSON.stringify(value, null, 2);
const indent = (text: string, by: string) => text.replaceAll("\n", `\n${by}`);

function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf("/") + 1);
}

function resolveParam(doc: OpenApiDocument, p: Parameter | Reference): Parameter | undefined {
  return "$ref" in p ? doc.components.parameters[refName(p.$ref)] : p;
}

function requestShape(doc: OpenApiDocument, method: string, path: string, op: Operation): RequestShape {
  const params = (op.parameters ?? []).map((p) => resolveParam(doc, p)).filter((p) => p !== undefined);
  const query = params.filter((p) => p.in === "query" && p.required).map((p) => `${p.name}=<${p.name}>`);
  const url = `${doc.servers?.[0]?.url ?? DEFAULT_BASE}${path.replace(/\{(\w+)\}/g, "<$1>")}${query.length ? `?${query.join("&")}` : ""}`;
  const scheme = Object.keys((op.security ?? doc.security)[0] ?? {})[0];
  const keyVar = scheme === undefined ? undefined : scheme === "adminKey" ? "HERALD_ADMIN_KEY" : "HERALD_API_KEY";
  const media = op.requestBody?.content["application/json"];
  const body = media?.example ?? Object.values(media?.examples ?? {})[0]?.value;
  const headers: RequestShape["headers"] = [];
  if (body !== undefined) headers.push(["Content-Type", "application/json", '"application/json"']);
  // Optional, but the one header that makes a retry safe: worth showing on every call that takes it.
  if (params.some((p) => p.name === "Idempotency-Key")) headers.push(["Idempotency-Key", "$(uuidgen)", "crypto.randomUUID()"]);
  return { method: method.toUpperCase(), url, keyVar, headers, body };
}

function curl(r: RequestShape): string {
  const lines = [`curl -s${r.method === "GET" ? "" : ` -X ${r.method}`} "${r.url}"`];
  if (r.keyVar) lines.push(`-H "Authorization: Bearer $${r.keyVar}"`);
  for (const [name, shell] of r.headers) lines.push(`-H "${name}: ${shell}"`);
  if (r.body !== undefined) lines.push(`-d '${json(r.body).replaceAll("'", "'\\''")}'`);
  return lines.join(" \\\n  ");
}

type SchemaShape = {
  $ref?: string;
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  type?: string | string[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
};

/** `name?: Type;` for each property, or undefined when the schema lists none. */
function members(schema: SchemaShape, named: Set<string>): string[] | undefined {
  if (schema.properties === undefined) return undefined;
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([k, v]) => `${/^\w+$/.test(k) ? k : JSON.stringify(k)}${required.has(k) ? "" : "?"}: ${tsType(v, named)};`);
}

/** A TypeScript type for a JSON Schema; component schemas stay named, and their names are added to `named`. */
function tsType(schema: JsonSchema, named: Set<string>): string {
  const s = schema as SchemaShape;
  if (s.$ref !== undefined) {
    named.add(refName(s.$ref));
    return refName(s.$ref);
  }
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  const union = s.anyOf ?? s.oneOf;
  if (union) return union.map((u) => tsType(u, named)).join(" | ");
  if (Array.isArray(s.type)) return s.type.map((type) => tsType({ ...schema, type }, named)).join(" | ");
  switch (s.type) {
    case "string":
    case "boolean":
    case "null":
      return s.type;
    case "integer":
    case "number":
      return "number";
    case "array": {
      const item = s.items ? tsType(s.items, named) : "unknown";
      return item.includes(" | ") ? `(${item})[]` : `${item}[]`;
    }
  }
  const inline = members(s, named);
  if (inline) return `{ ${inline.map((m) => m.slice(0, -1)).join("; ")} }`;
  if (typeof s.additionalProperties === "object") return `Record<string, ${tsType(s.additionalProperties, named)}>`;
  return s.type === "object" ? "Record<string, unknown>" : "unknown";
}

/** `type X = …;` for the answer's schema and every named schema it uses, dependencies first. */
function typeDeclarations(doc: OpenApiDocument, root: string): string[] {
  const seen = new Set<string>();
  const decls: string[] = [];
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const schema = doc.components.schemas[name] ?? {};
    const named = new Set<string>();
    const lines = members(schema as SchemaShape, named);
    const body = lines ? `{\n  ${lines.join("\n  ")}\n}` : tsType(schema, named);
    for (const dep of named) visit(dep);
    decls.push(`type ${name} = ${body};`);
  };
  visit(root);
  return decls;
}

function typescript(doc: OpenApiDocument, r: RequestShape, op: Operation): string {
  const ok = Object.entries(op.responses).find(([status]) => status.startsWith("2"))?.[1] as ResponseObject | undefined;
  const [type, media] = Object.entries(ok?.content ?? {})[0] ?? [];
  const ref = media?.schema.$ref;
  const decls = typeof ref === "string" ? typeDeclarations(doc, refName(ref)) : [];
  const headers = [
    ...(r.keyVar ? [`Authorization: \`Bearer \${process.env.${r.keyVar}}\``] : []),
    ...r.headers.map(([name, , ts]) => `${/^\w+$/.test(name) ? name : `"${name}"`}: ${ts}`),
  ];
  const init = [
    ...(r.method === "GET" ? [] : [`method: "${r.method}"`]),
    ...(headers.length ? [`headers: {\n    ${headers.join(",\n    ")},\n  }`] : []),
    ...(r.body === undefined ? [] : [`body: JSON.stringify(${indent(json(r.body), "  ")})`]),
  ];
  // biome-ignore lint/suspicious/noTemplateCurlyInString: writes the sample's own template literal
  const url = r.url.includes("<") ? `\`${r.url.replace(/=<(\w+)>/g, "=${encodeURIComponent($1)}").replace(/<(\w+)>/g, "${$1}")}\`` : `"${r.url}"`;
  const call = `const res = await fetch(${url}${init.length ? `, {\n  ${init.join(",\n  ")},\n}` : ""});`;
  const placeholders = [...r.url.matchAll(/<(\w+)>/g)].map(([, name]) => `const ${name} = "<${name}>";`);
  const read = decls.length
    ? `const answer: ${refName(ref as string)} = await res.json();`
    : type?.includes("json")
      ? "const answer: unknown = await res.json();"
      : "const answer: string = await res.text();";
  // biome-ignore lint/suspicious/noTemplateCurlyInString: writes the sample's own template literal
  const check = "if (!res.ok) throw new Error(`${res.status}: ${await res.text()}`); // an application/problem+json body";
  return [...decls, ...(decls.length ? [""] : []), ...placeholders, call, check, read].join("\n");
}

/** The curl and TypeScript samples of one operation. */
export function codeSamples(doc: OpenApiDocument, method: string, path: string, op: Operation): CodeSample[] {
  const shape = requestShape(doc, method, path, op);
  return [
    { lang: "Shell", label: "curl", source: curl(shape) },
    { lang: "TypeScript", label: "TypeScript", source: typescript(doc, shape, op) },
  ];
}

/** A copy of the document whose every operation carries its samples; the contract at /openapi.json stays without them. */
export function withCodeSamples(doc: OpenApiDocument): OpenApiDocument {
  const samplesOf = (path: string, item: PathItem) =>
    Object.fromEntries(Object.entries(item).map(([method, op]) => [method, { ...op, "x-codeSamples": codeSamples(doc, method, path, op) }]));
  return { ...doc, paths: Object.fromEntries(Object.entries(doc.paths).map(([path, item]) => [path, samplesOf(path, item)])) };
}
