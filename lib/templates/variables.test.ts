import { describe, expect, test } from "bun:test";
import { checkSchema, validateVariables } from "./variables.ts";

const order = {
  type: "object",
  required: ["order"],
  properties: {
    order: {
      type: "object",
      required: ["id", "total"],
      properties: { id: { type: "string" }, total: { type: "number", minimum: 0 }, items: { type: "array", items: { $ref: "#/$defs/item" } } },
    },
    channel: { oneOf: [{ const: "web" }, { const: "app" }] },
  },
  additionalProperties: false,
  $defs: { item: { type: "object", required: ["sku"], properties: { sku: { type: "string" } } } },
};

describe("validateVariables", () => {
  test("accepts data the schema allows", () => {
    expect(validateVariables(order, { order: { id: "o-1", total: 3, items: [{ sku: "a" }] }, channel: "web" })).toEqual({ ok: true });
  });

  test("reports each failing value by its path from data, not the subschemas that contain it", () => {
    const result = validateVariables(order, { order: { total: "12", items: [{ sku: 1 }] }, extra: true, channel: "tv" });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.path).sort()).toEqual(["data.channel", "data.extra", "data.order.id", "data.order.items.0.sku", "data.order.total"]);
    expect(result.errors.find((e) => e.path === "data.order.id")?.message).toBe("is required");
    expect(result.errors.find((e) => e.path === "data.extra")?.message).toBe("is not allowed");
  });

  test("names a missing top-level variable", () => {
    expect(validateVariables(order, {})).toEqual({ ok: false, errors: [{ path: "data.order", message: "is required" }] });
  });
});

describe("checkSchema", () => {
  test("accepts a usable schema", () => {
    expect(checkSchema(order)).toEqual([]);
    expect(checkSchema({ type: "object" })).toEqual([]);
    expect(checkSchema({})).toEqual([]);
  });

  test("names each keyword with a value of the wrong type, a bad pattern, a dangling $ref, and a non-object root", () => {
    expect(checkSchema({ type: "objekt" }).map((e) => e.path)).toEqual(["type"]);
    expect(
      checkSchema({ properties: { a: { type: "string", minLength: -1, pattern: "(" } } })
        .map((e) => e.path)
        .sort(),
    ).toEqual(["properties.a.minLength", "properties.a.pattern"]);
    expect(checkSchema({ properties: { a: { $ref: "#/$defs/missing" } } })).toEqual([
      { path: "properties.a.$ref", message: "must point inside this schema (#/$defs/…)" },
    ]);
    expect(checkSchema({ properties: { a: { $ref: "https://example.com/schema" } } }).map((e) => e.path)).toEqual(["properties.a.$ref"]);
    expect(checkSchema({ type: "string" }).map((e) => e.path)).toEqual(["type"]);
    expect(checkSchema("nope").length).toBeGreaterThan(0);
  });
});
