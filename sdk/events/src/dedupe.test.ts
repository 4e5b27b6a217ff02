import { expect, test } from "bun:test";
import { dedupeWindow } from "./dedupe.ts";

test("the dedupe window forgets the least recently seen id once past its capacity", () => {
  const w = dedupeWindow(3);
  for (const id of ["a", "b", "c"]) w.add(id);
  expect(w.has("a")).toBe(true); // a is young again: b is now the oldest
  w.add("d");
  expect([w.has("a"), w.has("b"), w.has("c"), w.has("d")]).toEqual([true, false, true, true]);
  expect(w.size).toBe(3);
});

test("a window of 0 remembers nothing", () => {
  const w = dedupeWindow(0);
  w.add("a");
  expect(w.has("a")).toBe(false);
});
