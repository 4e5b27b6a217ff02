import { describe, expect, test } from "bun:test";
import { decodeCursor, encodeCursor } from "../lib/db/cursor.ts";
import { sha256Hex } from "./body.ts";
import { bunSha256Hex } from "./runtime/bun/serve.ts";
import { batchIdsForKey, idForKey, uuidv7, uuidv7Time } from "./ids.ts";
import { isUuid } from "../schemas/storable.ts";

describe("uuidv7", () => {
  test("sets version 7 and the RFC 9562 variant, and embeds the millisecond time", () => {
    const at = Date.parse("2026-05-17T08:09:10.123Z");
    const id = uuidv7(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidv7Time(id)).toBe(at);
    expect(Bun.randomUUIDv7("hex", at).slice(0, 13)).toBe(id.slice(0, 13));
  });

  test("sorts by creation time and never repeats", () => {
    const ids = Array.from({ length: 2_000 }, (_, i) => uuidv7(1_700_000_000_000 + i));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(Array.from({ length: 10_000 }, () => uuidv7())).size).toBe(10_000);
  });

  test("isUuid accepts UUIDs only", () => {
    expect(isUuid(uuidv7())).toBe(true);
    expect(isUuid("not-a-uuid")).toBe(false);
    expect(isUuid(`${uuidv7()}x`)).toBe(false);
  });
});

describe("ids of an Idempotency-Key", () => {
  const V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  test("name one notification per (tenant, key), whichever hasher a runtime brings", async () => {
    const id = await idForKey(sha256Hex, "acme", "order-1");
    expect(id).toMatch(V8);
    expect(await idForKey(bunSha256Hex, "acme", "order-1")).toBe(id);
    expect(await idForKey(sha256Hex, "beta", "order-1")).not.toBe(id);
    expect(await idForKey(sha256Hex, "acme", "order-2")).not.toBe(id);
  });

  test("give a keyed batch's items ids of their own, none equal to a single request's", async () => {
    const idOf = await batchIdsForKey(sha256Hex, "acme", "K");
    const items = Array.from({ length: 1000 }, (_, i) => idOf(i));
    expect(new Set(items).size).toBe(1000);
    for (const id of items.slice(0, 3)) expect(id).toMatch(V8);
    expect((await batchIdsForKey(bunSha256Hex, "acme", "K"))(7)).toBe(items[7] ?? "");
    expect(items).not.toContain(await idForKey(sha256Hex, "acme", "K"));
    expect(items).not.toContain(await idForKey(sha256Hex, "acme", "K 0"));
  });
});

describe("cursor", () => {
  test("round-trips as an opaque base64url token", () => {
    const cursor = { createdAt: "2026-01-01T00:00:00.000123Z", id: uuidv7() };
    const token = encodeCursor(cursor);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(token)).toEqual(cursor);
  });

  test("refuses tokens it did not make, before they reach SQL", () => {
    const forge = (v: unknown) => btoa(JSON.stringify(v));
    expect(decodeCursor("%%%")).toBeNull();
    expect(decodeCursor(forge({ a: 1 }))).toBeNull();
    expect(decodeCursor(forge(["2026-01-01'; drop", uuidv7()]))).toBeNull();
    expect(decodeCursor(forge(["2026-01-01T00:00:00.000000Z", "x"]))).toBeNull();
  });
});
