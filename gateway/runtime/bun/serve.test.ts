import { expect, test } from "bun:test";
import { sha256Hex } from "../../body.ts";
import { bunSha256Hex } from "./serve.ts";

test("the native body hash equals the Web Crypto one, so records stay readable across runtimes", async () => {
  const bodies = ["", '{"userId":"u","channel":"in_app"}', "déjà vu ✓ 😀".repeat(500)].map((s) => new TextEncoder().encode(s));
  for (const bytes of bodies) expect(bunSha256Hex(bytes)).toBe(await sha256Hex(bytes));
});
