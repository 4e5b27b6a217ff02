import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../lib/probe.ts";
import { connectTestNats, deleteNamespaceStreams, topology } from "./support/services.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { eventually } from "./support/eventually.ts";
import { createStack, post, statusOf, type Stack } from "./support/stack.ts";

// `npm run build`'s executable runs outside the source tree, so its migrations and PGlite's files must be inside it.
let dir: string;
let binary: string;
let stack: Stack;
let herald: HeraldProcess | undefined;

const BUILD = join(import.meta.dir, "..", "bin", "build.ts");

/** `npm run build`, as a user runs it: `bun bin/build.ts <outfile> [entry]`. */
function build(outfile: string, entry?: string): void {
  const built = Bun.spawnSync([process.execPath, BUILD, outfile, ...(entry ? [entry] : [])], { stdout: "pipe", stderr: "pipe" });
  if (built.exitCode !== 0) throw new Error(`bun build --compile failed: ${built.stderr.toString()}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "herald-binary-"));
  binary = join(dir, "herald");
  build(binary);
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
    expect(JSON.parse(out.trim().split("\n").at(-1) ?? "")).toEqual({ dryRun: true, wouldReplay: [], unreplayable: [] });
  });

  test("answers --version and --help without any configuration", async () => {
    const version = await run(["--version"], {});
    expect(version.code).toBe(0);
    expect(version.out).toMatch(/^herald \d+\.\d+\.\d+/);
    const help = await run(["replay", "--help"], {});
    expect(help.code).toBe(0);
    expect(help.out).toContain("--dry-run");
  });

  test("starts `all` in an interactive terminal, with its human-readable logs", async () => {
    // `script` gives the binary a pseudo-terminal, as a developer's shell would: pretty logs come from pino-pretty inside it.
    const env = { ...stack.env, HERALD_PORT: String(freePort()), NODE_ENV: "development", HERALD_NAMESPACE: `${stack.namespace}t` };
    const proc = Bun.spawn(["script", "-qfec", `${binary} all`, "/dev/null"], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", TERM: "xterm", ...env },
      stdout: "pipe",
      stderr: "pipe",
    });
    let out = "";
    const reader = proc.stdout.getReader();
    const decoder = new TextDecoder();
    const deadline = Date.now() + 20_000;
    while (!out.includes("Herald is listening") && Date.now() < deadline) {
      const { value, done } = await Promise.race([reader.read(), Bun.sleep(500).then(() => ({ value: undefined, done: false }))]);
      if (done) break;
      if (value) out += decoder.decode(value);
    }
    proc.kill("SIGTERM");
    await proc.exited;
    const nc = await connectTestNats();
    await deleteNamespaceStreams(nc, topology(env.HERALD_NAMESPACE));
    await nc.close();
    expect(out).not.toContain("Cannot find package");
    expect(out).toContain("Herald is listening at http://127.0.0.1:");
    expect(out).toContain("INFO");
  }, 30_000);

  test("runs gateway and processor in one process: a notification is accepted and sent, and /docs serves its reference", async () => {
    herald = await startHerald("all", stack.env, { command: [binary] });
    const res = await post(herald.url, "/v1/notifications", { userId: "u-bin", channel: "in_app", payload: { title: "Hi", body: "from the binary" } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await eventually(async () => (await statusOf(herald?.url ?? "", id)) === "sent", { timeoutMs: 10_000 });
    // The API reference's script is carried inside the binary, loaded when /docs is first asked for.
    const page = await (await fetch(`${herald.url}/docs`)).text();
    const script = /src="([^"]*redoc\.standalone\.[0-9a-f]+\.js)"/.exec(page)?.[1];
    const asset = await fetch(new URL(script ?? "missing", `${herald.url}/`));
    expect([asset.status, asset.headers.get("content-type")]).toEqual([200, "text/javascript; charset=utf-8"]);
    expect((await asset.text()).length).toBeGreaterThan(500_000);
    expect(await herald.signal("SIGTERM")).toBe(0);
    herald = undefined;
  }, 30_000);

  test("carries PGlite's files: the embedded Postgres migrates, runs the processor's statements and a retention pass inside a compiled binary", async () => {
    // A Postgres always answers here, so a probe compiled the same way opens PGlite through `herald all`'s code.
    const probe = join(dir, "pglite-probe");
    build(probe, join(import.meta.dir, "support", "pglite-probe.ts"));
    const proc = Bun.spawn([probe, join(dir, "pglite")], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    const out = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(0);
    const { tables, state, retention } = JSON.parse(out) as { tables: unknown; state: unknown; retention: unknown };
    expect(JSON.stringify(tables)).toContain("delivery_attempts");
    expect(state).toEqual({ status: "sent", attempts: 1, lastError: null, requestHash: null, createdAt: expect.any(String), updatedAt: expect.any(String) });
    // The retention pass's partition changes and advisory lock, on PGlite inside the binary.
    expect(retention).toMatchObject({ busy: false, dropped: [], deleted: { notifications: 0 } });
  }, 60_000);
});
