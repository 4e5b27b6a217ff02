import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// `npm run chaos -- --quick` as part of the suite: each fault in turn loses and duplicates nothing.
// Results go to a directory of the test's own, so the committed latest.chaos.* stay the full run's.

const RUNNER = new URL("../bench/chaos/run.ts", import.meta.url).pathname;

test("every fault of the quick chaos run leaves each accepted notification sent exactly once", async () => {
  const out = mkdtempSync(join(tmpdir(), "herald-chaos-"));
  try {
    const proc = Bun.spawn([process.execPath, RUNNER, "--quick", "--out", out], { stdout: "pipe", stderr: "pipe", env: { ...process.env } });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0)
      console.error(
        stderr
          .split("\n")
          .filter((l) => l.startsWith("[chaos"))
          .join("\n"),
      );
    console.log(stdout);
    expect(code).toBe(0);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 420_000);
