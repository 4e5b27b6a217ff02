// One test per rule of test/support/imports.ts, each failure listing every offending import.
import { describe, expect, test } from "bun:test";
import { buildGraph, checkAll, formatCheck } from "./support/imports.ts";

const graph = buildGraph();

describe("layers", () => {
  test("the graph covers every layer and follows imports out of gateway/app.ts", () => {
    for (const dir of ["bin", "gateway", "processor", "lib", "schemas", "sdk"]) {
      expect(graph.files.some((f) => f.startsWith(`${dir}/`))).toBe(true);
    }
    expect(graph.edges.some((e) => e.from === "gateway/app.ts" && e.kind === "file")).toBe(true);
  });

  for (const check of checkAll(graph)) {
    test(check.name, () => {
      if (check.violations.length > 0) throw new Error(formatCheck(check));
    });
  }
});
