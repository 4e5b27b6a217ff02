import type { z } from "zod";
import type { Components, JsonSchema, MediaType, Operation, Reference, ResponseObject } from "./types.ts";

export const ref = (kind: keyof Components, name: string) => ({ $ref: `#/components/${kind}/${name}` });
/** A `$ref` to a component schema. */
export const schemaRef = (name: string) => ref("schemas", name);

/** `$id` would carry a fragment (not allowed in 2020-12) and `$schema` is the document's dialect already. */
export function embeddable({ $id: _id, $schema: _schema, ...schema }: z.core.JSONSchema.BaseSchema): JsonSchema {
  return schema;
}

/** An object schema that must name every field of `T`: a field added to the TS shape but not here fails to compile. */
export function objectOf<T>(properties: { [K in keyof T]-?: JsonSchema }, optional: readonly (keyof T & string)[] = []): JsonSchema {
  return { type: "object", properties, required: Object.keys(properties).filter((k) => !optional.includes(k as keyof T & string)) };
}

export const str = (extra: JsonSchema = {}): JsonSchema => ({ type: "string", ...extra });
export const nullable = (schema: JsonSchema): JsonSchema => ({ ...schema, type: [schema.type, "null"] });
export const isoTime = str({ format: "date-time" });
export const uuid = str({ format: "uuid" });
export const stringMap: JsonSchema = { type: "object", additionalProperties: { type: "string" } };
export const param = (name: string): Reference => ({ $ref: `#/components/parameters/${name}` });
export const header = (name: string): Reference => ({ $ref: `#/components/headers/${name}` });
export const REQUEST_ID = { "X-Request-Id": header("XRequestId") };
export const json = (schema: string, extra: Omit<MediaType, "schema"> = {}) => ({ "application/json": { schema: schemaRef(schema), ...extra } });
export const ok = (description: string, schema: string, extraHeaders: ResponseObject["headers"] = {}): ResponseObject => ({
  description,
  headers: { ...REQUEST_ID, ...extraHeaders },
  content: json(schema),
});
export const REPLAYABLE = { "Idempotency-Replayed": header("IdempotencyReplayed") };
export const UNAUTHENTICATED: Operation["security"] = [];
