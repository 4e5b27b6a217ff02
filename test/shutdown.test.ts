// A stop that cannot finish (NATS gone for good, so nothing drains) still ends the process: after
// HERALD_SHUTDOWN_TIMEOUT_MS, or at once on a second signal, with exit code 1 and a line saying so.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { denoBinary } from "./support/deno.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { startPrivateNats, type PrivateNats } from "./support/nats-server.ts";
import { createStack, type Stack } from "./support/stack.ts";

const ROOT = join(import.meta.dir, "..");
let nats: PrivateNats;
let stack: Stack;
let nodeBundle: string;
const started: HeraldProcess[] = [];
const buildDir = mkdtempSync(join(tmpdir(), "herald-shutdown-build-"));

beforeAll(async () => {
  nats = await startPrivateNats();
  stack = await createStack({ NATS_URL: nats.url, HERALD_SHUTDOWN_TIMEOUT_MS: "1500" });
  const build = Bun.spawn([process.execPath, join(ROOT, "bin/build-gateway.ts"), "node", buildDir], { stdout: "pipe" });
  nodeBundle = (await new Response(build.stdout).text()).trim().replace(/^built /, "");
}, 30_000);

afterAll(async () => {
  for (const p of started) p.proc.kill("SIGKILL");
  await nats?.remove();
  await stack?.cleanup();
  rmSync(buildDir, { recursive: true, force: true });
});

async function start(kind: "processor" | "bun" | "node" | "deno", env: Record<string, string> = {}): Promise<HeraldProcess> {
  const all = { ...stack.env, ...env };
  const p =
    kind === "processor"
      ? await startHerald("processor", all)
      : kind === "bun"
        ? await startHerald("gateway", all)
        : kind === "node"
          ? await startHerald("gateway", all, { command: ["node", nodeBundle] })
          : await startHerald(
              "gateway",
              { ...all, HOME: process.env.HOME ?? "/root" },
              { command: [denoBinary(), "run", "-A", join(ROOT, "gateway/runtime/deno/main.ts")] },
            );
  started.push(p);
  return p;
}

/** Exit code and milliseconds from the signal to the exit. */
async function stopTimed(p: HeraldProcess): Promise<{ code: number; ms: number }> {
  const t0 = performance.now();
  p.proc.kill("SIGTERM");
  const code = await p.proc.exited;
  return { code, ms: performance.now() - t0 };
}

test("with NATS gone, SIGTERM still ends the Bun processor and the gateway on Bun, Node and Deno within the timeout", async () => {
  const kinds = ["processor", "bun", "node", "deno"] as const;
  const processes = await Promise.all(kinds.map((kind) => start(kind)));
  await nats.stop();
  try {
    const stops = await Promise.all(processes.map(stopTimed));
    const outcome = kinds.map((kind, i) => ({
      kind,
      code: stops[i]?.code,
      withinTimeout: (stops[i]?.ms ?? Number.POSITIVE_INFINITY) < 1_500 + 3_000,
      saidSo: processes[i]?.logs.some((l) => l.msg === "the clean stop did not finish in time; exiting anyway") ?? false,
    }));
    // A drain that cannot finish ends at the deadline with exit 1 and says so; one that gives up by itself exits 0.
    for (const o of outcome) expect(o).toEqual({ ...o, withinTimeout: true, saidSo: o.code === 1 });
    // The processor's drain waits on NATS for good: it is the one the deadline is for.
    expect(outcome[0]).toEqual({ kind: "processor", code: 1, withinTimeout: true, saidSo: true });
  } finally {
    await nats.start();
  }
}, 30_000);

test("a second signal while stopping exits at once", async () => {
  const processor = await start("processor", { HERALD_SHUTDOWN_TIMEOUT_MS: "60000" });
  await nats.stop();
  try {
    const t0 = performance.now();
    processor.proc.kill("SIGTERM");
    await Bun.sleep(300);
    processor.proc.kill("SIGINT");
    expect(await processor.proc.exited).toBe(1);
    expect(performance.now() - t0).toBeLessThan(5_000);
  } finally {
    await nats.start();
  }
}, 30_000);

test("with NATS up, SIGTERM stops the processor and the gateway cleanly, exit 0", async () => {
  const processes = await Promise.all((["processor", "bun", "node"] as const).map((kind) => start(kind)));
  for (const { code } of await Promise.all(processes.map(stopTimed))) expect(code).toBe(0);
}, 30_000);
