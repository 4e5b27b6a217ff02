// The typed contract of @herald/client (sdk/client/src/contract.ts), rendered from the gateway's OpenAPI document:
// request bodies there come from the zod schemas the routes parse with, answers from the handlers' own types.
import type { JsonSchema, OpenApiDocument, Operation, Parameter, Reference, ResponseObject } from "../gateway/openapi/types.ts";

/**
 * Operations a service's client has no use for, with why; every other
 * operation of the document must have a client method.
 */
export const NOT_IN_CLIENT: Record<string, string> = {
  streamInbox: "Server-Sent Events for browsers, authenticated by an inbox token (EventSource)",
  unsubscribePage: "a signed link a mail client opens",
  unsubscribe: "a signed link a mail client posts",
  twilioStatusCallback: "a provider's signed callback",
  resendWebhook: "a provider's signed callback",
  healthLive: "a probe for orchestrators",
  healthStartup: "a probe for orchestrators",
  healthReady: "a probe for orchestrators",
  metrics: "Prometheus text for scrapers",
  openApiDocument: "the contract this client is generated from",
  docs: "an HTML page",
  docsAsset: "a file of the HTML page",
};

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (name: string) => (IDENTIFIER.test(name) ? name : JSON.stringify(name));
const doc = (text: unknown, indent: string) =>
  typeof text === "string" && text !== "" ? `${indent}/** ${text.replace(/\*\//g, "*\\/").replace(/\s*\n\s*/g, " ")} */\n` : "";
const refName = (ref: string) => {
  const name = ref.slice(ref.lastIndexOf("/") + 1);
  if (!IDENTIFIER.test(name)) throw new Error(`cannot name ${ref} in TypeScript`);
  return name;
};
const union = (parts: string[]) => {
  const unique = [...new Set(parts)];
  if (unique.length === 0) return "never";
  return unique.length === 1 ? String(unique[0]) : unique.map((p) => (p.includes("&") ? `(${p})` : p)).join(" | ");
};

/** A JSON Schema (2020-12, the subset the document uses) as a TypeScript type. */
export function tsType(s: JsonSchema | boolean, indent = ""): string {
  // A boolean schema (JSON Schema 2020-12): `true` takes anything, `false` nothing.
  if (typeof s === "boolean") return s ? "unknown" : "never";
  if (typeof s.$ref === "string") return refName(s.$ref);
  if (Array.isArray(s.type)) {
    const rest = { ...s, type: undefined };
    return union(s.type.map((t) => (t === "null" ? "null" : tsType(typeof t === "string" ? { ...s, type: t } : rest, indent))));
  }
  if ("const" in s) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return union(s.enum.map((v) => JSON.stringify(v)));
  if (Array.isArray(s.oneOf) || Array.isArray(s.anyOf)) {
    const parts = ((s.oneOf ?? s.anyOf) as JsonSchema[]).map((p) => tsType(p, indent));
    return union(parts);
  }
  if (Array.isArray(s.allOf)) return (s.allOf as JsonSchema[]).map((p) => tsType(p, indent)).join(" & ");
  switch (s.type) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array":
      // A tuple: `prefixItems`, and nothing after them when `items` is false.
      if (Array.isArray(s.prefixItems) && s.items === false) return `[${(s.prefixItems as JsonSchema[]).map((p) => tsType(p, indent)).join(", ")}]`;
      return s.items === undefined ? "unknown[]" : `Array<${tsType(s.items as JsonSchema, indent)}>`;
    case "object":
      return objectType(s, indent);
    default:
      return s.properties === undefined ? "unknown" : objectType(s, indent);
  }
}

function objectType(s: JsonSchema, indent: string): string {
  const props = (s.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((s.required ?? []) as string[]);
  const extra = s.additionalProperties;
  const inner = `${indent}  `;
  const lines = Object.entries(props).map(
    ([name, p]) => `${doc(p.description, inner)}${inner}${key(name)}${required.has(name) ? "" : "?"}: ${tsType(p, inner)};`,
  );
  const valueType = extra === undefined || extra === true ? "unknown" : extra === false ? undefined : tsType(extra as JsonSchema, inner);
  const names = (s.propertyNames as JsonSchema | undefined)?.enum;
  if (lines.length === 0) {
    if (valueType === undefined) return "Record<string, never>";
    if (Array.isArray(names)) return `{ [K in ${union(names.map((n) => JSON.stringify(n)))}]?: ${valueType} }`;
    return `{ [key: string]: ${valueType} }`;
  }
  // Named fields and an open rest could disagree on type; the named ones are what callers use.
  if (extra !== undefined && extra !== false) lines.push(`${inner}[key: string]: unknown;`);
  return `{\n${lines.join("\n")}\n${indent}}`;
}

function resolveParam(d: OpenApiDocument, p: Parameter | Reference): Parameter {
  if ("$ref" in p) {
    const found = d.components.parameters[refName(p.$ref)];
    if (found === undefined) throw new Error(`no parameter ${p.$ref}`);
    return found;
  }
  return p;
}

function resolveResponse(d: OpenApiDocument, r: ResponseObject | Reference): ResponseObject {
  return "$ref" in r ? (d.components.responses[refName(r.$ref)] ?? { description: "" }) : r;
}

interface Rendered {
  id: string;
  method: string;
  path: string;
  idempotencyKey: boolean;
  types: string;
}

function renderOperation(d: OpenApiDocument, method: string, path: string, op: Operation): Rendered {
  const params = (op.parameters ?? []).map((p) => resolveParam(d, p));
  const fields = (where: Parameter["in"]) => {
    const ps = params.filter((p) => p.in === where);
    if (ps.length === 0) return undefined;
    return `{ ${ps.map((p) => `${key(p.name)}${p.required ? "" : "?"}: ${where === "path" ? "string" : tsType(p.schema)}`).join("; ")} }`;
  };
  const body = op.requestBody?.content["application/json"]?.schema;
  const ok = Object.entries(op.responses)
    .filter(([status]) => status.startsWith("2"))
    .map(([, r]) => resolveResponse(d, r).content?.["application/json"]?.schema);
  const answer = union(ok.map((s) => (s === undefined ? "undefined" : tsType(s, "    "))));
  const bodyType = body === undefined ? "undefined" : op.requestBody?.required ? tsType(body) : `${tsType(body)} | undefined`;
  const types = [
    doc(`${method.toUpperCase()} ${path}: ${op.summary}`, "  "),
    `  ${op.operationId}: {\n`,
    `    params: ${fields("path") ?? "Record<string, never>"};\n`,
    `    query: ${fields("query") ?? "undefined"};\n`,
    `    body: ${bodyType};\n`,
    `    response: ${answer};\n`,
    "  };\n",
  ].join("");
  const idempotencyKey = params.some((p) => p.in === "header" && p.name.toLowerCase() === "idempotency-key");
  return { id: op.operationId, method: method.toUpperCase(), path, idempotencyKey, types };
}

/** The whole of sdk/client/src/contract.ts. */
export function renderContract(d: OpenApiDocument): string {
  const ops: Rendered[] = [];
  for (const [path, item] of Object.entries(d.paths)) {
    for (const [method, op] of Object.entries(item) as [string, Operation][]) {
      if (!(op.operationId in NOT_IN_CLIENT)) ops.push(renderOperation(d, method, path, op));
    }
  }
  const schemas = Object.entries(d.components.schemas).map(([name, s]) => `${doc(s.description, "")}export type ${refName(`#/${name}`)} = ${tsType(s)};\n`);
  const codes = new Set<string>();
  for (const r of Object.values(d.components.responses)) {
    const type = (r.content?.["application/problem+json"]?.example as { type?: string } | undefined)?.type;
    if (type !== undefined) codes.add(type.slice(type.lastIndexOf("/") + 1));
  }
  return [
    `// Generated by \`bun bin/build-sdk.ts --generate\` from the gateway's OpenAPI document (${d.info.version}); do not edit.\n`,
    "// `bun bin/build-sdk.ts --check` (run by test/client-contract.test.ts) fails when it differs from the document.\n\n",
    ...schemas,
    "\n/** Every problem `type` the gateway answers with, as its last path segment. */\n",
    `export type ProblemCode = ${union([...codes].sort().map((c) => JSON.stringify(c)))};\n\n`,
    "/** Each operation's path parameters, query, JSON body and successful answers. */\n",
    "export interface Operations {\n",
    ...ops.map((o) => o.types),
    "}\n\n",
    "/** Each operation's method and path; `idempotencyKey`: it takes an Idempotency-Key. */\n",
    "export const OPERATIONS = {\n",
    ...ops.map((o) => `  ${o.id}: { method: ${JSON.stringify(o.method)}, path: ${JSON.stringify(o.path)}, idempotencyKey: ${o.idempotencyKey} },\n`),
    "} as const satisfies Record<keyof Operations, { method: string; path: string; idempotencyKey: boolean }>;\n\n",
    "export type OperationId = keyof Operations;\n",
  ].join("");
}
