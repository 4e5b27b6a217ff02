import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildArgs } from "../bin/build.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { createStack, eventually, get, post, type Stack } from "./support/stack.ts";

// The deployable artefact: `npm run build`'s single executable, run outside
// the source tree (its migrations and PGlite's files must be inside it).
let dir: string;
let binary: string;
let stack: Stack;
let herald: HeraldProcess | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "herald-binary-"));
  binary = join(dir, "herald");
  const built = Bun.spawnSync([process.execPath, ...buildArgs(binary)], { stdout: "pipe", stderr: "pipe" });
  if (built.exitCode !== 0) throw new Error(`bun build --compile failed: ${built.stderr.toString()}`);
  stack = await createStack();
}, 60_000);

afterAll(async () => {
  await herald?.signal("SIGTERM");
  await stack?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function run(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn([binary, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? "", ...env }, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code: await proc.exited, out: out + err };
}

describe("the compiled binary", () => {
  test("migrates from the SQL it carries", async () => {
    const { code, out } = await run(["migrate"], stack.env);
    expect(out).toContain("migrations and streams are up to date");
    expect(code).toBe(0);
  });

  test("replays dead letters: a dry run against the stack prints its report", async () => {
    const { code, out } = await run(["replay", "--dry-run"], { ...stack.env, LOG_LEVEL: "warn" });
    expect(code).toBe(0);
    expect(JSON.parse(out.trim().split("\n").at(-1) ?? "")).toEqual({ replayed: [], unreplayable: [], skipped: 0 });
  });

  test("runs gateway and processor in one process: a notification is accepted and sent", async () => {
    herald = await startHerald("all", stack.env, { command: [binary] });
    const res = await post(herald.url, "/v1/notifications", { userId: "u-bin", channel: "in_app", payload: { title: "Hi", body: "from the binary" } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await eventually(async () => ((await (await get(herald?.url ?? "", `/v1/notifications/${id}`)).json()) as { status: string }).status === "sent", 10_000);
    expect(await herald.signal("SIGTERM")).toBe(0);
    herald = undefined;
  }, 30_000);

  test("carries PGlite's files: the embedded Postgres migrates and runs the processor's statements inside a compiled binary", async () => {
    // `herald all` uses it only when no Postgres answers, which is never the case here, so a
    // probe compiled the same way opens it through the same code (bin/database.ts).
    const probe = join(dir, "pglite-probe");
    const args = buildArgs(probe).map((a) => (a.endsWith(join("bin", "herald.ts")) ? join(import.meta.dir, "support", "pglite-probe.ts") : a));
    expect(Bun.spawnSync([process.execPath, ...args], { stdout: "ignore", stderr: "pipe" }).exitCode).toBe(0);
    const proc = Bun.spawn([probe, join(dir, "pglite")], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    const out = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(0);
    const { tables, state } = JSON.parse(out) as { tables: unknown; state: unknown };
    expect(JSON.stringify(tables)).toContain("delivery_attempts");
    expect(state).toEqual({ status: "sent", attempts: 1, lastError: null, requestHash: null });
  }, 60_000);
});
