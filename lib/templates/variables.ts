import { Validator, type OutputUnit, type Schema, type SchemaDraft } from "@cfworker/json-schema";
import { z } from "zod";

// @cfworker/json-schema interprets the schema instead of compiling it to
// JavaScript (as ajv does with new Function), so it runs on workerd too.

/** One problem, `path` dotted from wherever the checked value sits (`data.order.total`, `variables.properties.total.type`). */
export interface VariableError {
  path: string;
  message: string;
}

export type VariablesResult = { ok: true } | { ok: false; errors: VariableError[] };

const TYPES = z.enum(["array", "boolean", "integer", "null", "number", "object", "string"]);
const count = z.number().int().min(0);
const regex = z.string().refine(compiles, "must be a regular expression (ECMAScript, unicode)");

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, "u");
    return true;
  } catch {
    return false;
  }
}

// A subschema is a boolean or an object; checked by hand rather than as a union so its errors keep their own paths.
const subschema: z.ZodType<unknown> = z.lazy(() =>
  z.unknown().superRefine((value, ctx) => {
    if (typeof value === "boolean") return;
    const parsed = SchemaObject.safeParse(value);
    for (const issue of parsed.error?.issues ?? []) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
  }),
);
const subschemas = z.array(subschema).min(1);
const schemaMap = z.record(z.string(), subschema);

/** The keywords Herald's validator understands, each with the type of its value; others are annotations and pass. */
const SchemaObject = z.looseObject({
  $schema: z.string().optional(),
  $ref: z.string().optional(),
  $defs: schemaMap.optional(),
  definitions: schemaMap.optional(),
  type: z.union([TYPES, z.array(TYPES).min(1)]).optional(),
  enum: z.array(z.unknown()).optional(),
  properties: schemaMap.optional(),
  patternProperties: z.record(regex, subschema).optional(),
  additionalProperties: subschema.optional(),
  unevaluatedProperties: subschema.optional(),
  propertyNames: subschema.optional(),
  required: z.array(z.string()).optional(),
  dependentRequired: z.record(z.string(), z.array(z.string())).optional(),
  dependentSchemas: schemaMap.optional(),
  items: z.union([subschema, z.array(subschema)]).optional(),
  prefixItems: z.array(subschema).optional(),
  additionalItems: subschema.optional(),
  unevaluatedItems: subschema.optional(),
  contains: subschema.optional(),
  allOf: subschemas.optional(),
  anyOf: subschemas.optional(),
  oneOf: subschemas.optional(),
  not: subschema.optional(),
  if: subschema.optional(),
  // biome-ignore lint/suspicious/noThenProperty: `then` is a JSON Schema keyword; this object is never awaited.
  then: subschema.optional(),
  else: subschema.optional(),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  exclusiveMinimum: z.union([z.number(), z.boolean()]).optional(),
  exclusiveMaximum: z.union([z.number(), z.boolean()]).optional(),
  multipleOf: z.number().positive().optional(),
  minLength: count.optional(),
  maxLength: count.optional(),
  minItems: count.optional(),
  maxItems: count.optional(),
  minProperties: count.optional(),
  maxProperties: count.optional(),
  minContains: count.optional(),
  maxContains: count.optional(),
  uniqueItems: z.boolean().optional(),
  pattern: regex.optional(),
  format: z.string().optional(),
});

const DRAFTS: Record<string, SchemaDraft> = {
  "http://json-schema.org/draft-04/schema": "4",
  "http://json-schema.org/draft-07/schema": "7",
  "https://json-schema.org/draft/2019-09/schema": "2019-09",
  "https://json-schema.org/draft/2020-12/schema": "2020-12",
};

function draftOf(schema: Record<string, unknown>): SchemaDraft | undefined {
  if (schema.$schema === undefined) return "2020-12";
  return typeof schema.$schema === "string" ? DRAFTS[schema.$schema.replace(/#$/, "")] : undefined;
}

/** Every `$ref` in the schema, with where it sits. */
function refsOf(value: unknown, path: string[], out: Array<{ ref: string; path: string[] }>): typeof out {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) refsOf(v, [...path, String(i)], out);
  } else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string") out.push({ ref: v, path: [...path, k] });
      else if (k !== "enum" && k !== "const" && k !== "default" && k !== "examples") refsOf(v, [...path, k], out);
    }
  }
  return out;
}

function resolves(root: unknown, ref: string): boolean {
  if (!ref.startsWith("#")) return false;
  let at: unknown = root;
  for (const raw of ref.slice(1).split("/").slice(1)) {
    const key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    if (typeof at !== "object" || at === null || !(key in at)) return false;
    at = (at as Record<string, unknown>)[key];
  }
  return true;
}

/**
 * Whether `schema` is a JSON Schema Herald can validate `data` with: its
 * keywords have values of the right type, its patterns compile, every `$ref`
 * points inside it (nothing is fetched), and it accepts an object. Paths are
 * relative to the schema (`properties.total.type`); empty when usable.
 */
export function checkSchema(schema: unknown): VariableError[] {
  const parsed = SchemaObject.safeParse(schema);
  if (!parsed.success) return parsed.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
  const root = parsed.data as Record<string, unknown>;
  const errors: VariableError[] = [];
  if (draftOf(root) === undefined) errors.push({ path: "$schema", message: `must be one of ${Object.keys(DRAFTS).join(", ")}` });
  const type = root.type;
  if (type !== undefined && !(Array.isArray(type) ? type : [type]).includes("object")) {
    errors.push({ path: "type", message: 'must allow "object": data is always an object' });
  }
  for (const { ref, path } of refsOf(root, [], [])) {
    if (!resolves(root, ref)) errors.push({ path: path.join("."), message: "must point inside this schema (#/$defs/…)" });
  }
  return errors;
}

const validators = new WeakMap<object, { first: Validator; all: Validator }>();

/**
 * Validators per schema object (the caches of versions hand out the same
 * object for a version, so they are built once): one stopping at the first
 * error for the usual valid send, one collecting every error for the answer.
 */
function validatorsOf(schema: Record<string, unknown>): { first: Validator; all: Validator } {
  let v = validators.get(schema);
  if (v === undefined) {
    const draft = draftOf(schema) ?? "2020-12";
    v = { first: new Validator(schema as Schema, draft, true), all: new Validator(schema as Schema, draft, false) };
    validators.set(schema, v);
  }
  return v;
}

// Keywords whose failure only says a subschema failed; the subschema's own error says what.
const SUMMARIES = new Set([
  "properties",
  "patternProperties",
  "additionalProperties",
  "unevaluatedProperties",
  "items",
  "prefixItems",
  "additionalItems",
  "unevaluatedItems",
  "dependentSchemas",
  "$ref",
  "$dynamicRef",
  "$recursiveRef",
  "allOf",
  "if",
  "then",
  "else",
]);

function toPath(instanceLocation: string): string[] {
  return instanceLocation
    .replace(/^#\/?/, "")
    .split("/")
    .filter((s) => s !== "")
    .map((s) => decodeURIComponent(s).replaceAll("~1", "/").replaceAll("~0", "~"));
}

function toError(unit: OutputUnit): VariableError {
  const path = toPath(unit.instanceLocation);
  if (unit.keyword === "required") {
    const missing = /required property "(.*)"/.exec(unit.error)?.[1];
    if (missing !== undefined) return { path: ["data", ...path, missing].join("."), message: "is required" };
  }
  const message = unit.keyword === "false" ? "is not allowed" : unit.error;
  return { path: ["data", ...path].join("."), message };
}

/** The leaf errors: summaries of a failed subschema, and the branches of a failed anyOf/oneOf/not, are dropped. */
function leafErrors(units: OutputUnit[]): VariableError[] {
  const kept = units.filter((u) => !SUMMARIES.has(u.keyword) && !/\/(?:anyOf|oneOf|not)\//.test(u.keywordLocation));
  const chosen = kept.length > 0 ? kept : units;
  const seen = new Set<string>();
  return chosen.map(toError).filter((e) => {
    const key = `${e.path}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Validates a send's `data` against a template's variables schema (which
 * `checkSchema` accepted); error paths start at `data`. A schema that cannot
 * be used after all is reported as an error at `data`, never thrown.
 */
export function validateVariables(schema: Record<string, unknown>, data: unknown): VariablesResult {
  try {
    const { first, all } = validatorsOf(schema);
    if (first.validate(data).valid) return { ok: true };
    return { ok: false, errors: leafErrors(all.validate(data).errors) };
  } catch (err) {
    return {
      ok: false,
      errors: [{ path: "data", message: `the template's variables schema cannot be used: ${err instanceof Error ? err.message : String(err)}` }],
    };
  }
}
