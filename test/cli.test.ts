import { expect, test } from "bun:test";

const CLI = new URL("../bin/herald.ts", import.meta.url).pathname;

test("refuses to start on bad configuration, naming the bad keys", async () => {
  const proc = Bun.spawn([process.execPath, CLI, "gateway"], {
    env: { PATH: process.env.PATH ?? "", HERALD_PORT: "not-a-port", HERALD_NAMESPACE: "Bad.Name" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const stderr = await new Response(proc.stderr).text();
  expect(await proc.exited).toBe(78);
  expect(stderr).toContain("HERALD_PORT");
  expect(stderr).toContain("HERALD_NAMESPACE");
});

test("prints usage for an unknown command", async () => {
  const proc = Bun.spawn([process.execPath, CLI, "serve"], { stdout: "pipe", stderr: "pipe" });
  expect(await proc.exited).toBe(2);
  expect(await new Response(proc.stderr).text()).toContain("herald <gateway | processor | all | migrate>");
});
