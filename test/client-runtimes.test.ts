// The built @herald/client package (dist/) as other services load it: Node 20, Deno, a browser, and a TypeScript consumer.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { TENANT_KEY } from "./support/constants.ts";
import { denoBinary } from "./support/deno.ts";
import { type HeraldProcess, startHerald } from "./support/herald-process.ts";
import { createStack, type Stack } from "./support/stack.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const CHROMIUM = "/usr/bin/chromium";

let stack: Stack;
let gateway: HeraldProcess;
let dir = "";

/** A module that sends one notification, reads it back and meets a 404, printing what it saw as one JSON line. */
const roundTrip = (clientUrl: string, baseUrl: string) => `
import { HeraldClient, NotFoundError } from ${JSON.stringify(clientUrl)};
const herald = new HeraldClient({ baseUrl: ${JSON.stringify(baseUrl)}, apiKey: ${JSON.stringify(TENANT_KEY)} });
const accepted = await herald.notifications.send({ userId: "runtime-user", channel: "in_app", payload: { title: "Hi", body: "Hello" } });
const view = await herald.notifications.get(accepted.id);
const missing = await herald.notifications.get("0199a3f4-6a7b-7c8d-9e0f-112233445566").catch((e) => e);
export const result = { same: view.id === accepted.id, status: view.status, notFound: missing instanceof NotFoundError, code: missing.code };
console.log(JSON.stringify(result));
`;
const EXPECTED = { same: true, status: "accepted", notFound: true, code: "not_found" };

function run(argv: string[]): unknown {
  const r = Bun.spawnSync(argv, {
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? dir, NO_COLOR: "1" },
  });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}:\n${r.stdout.toString()}${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString().trim().split("\n").at(-1) ?? "");
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "herald-client-"));
  const build = Bun.spawnSync([process.execPath, join(ROOT, "bin/build-sdk.ts"), join(dir, "dist")], { stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`build-sdk failed:\n${build.stderr.toString()}`);
  stack = await createStack();
  gateway = await startHerald("gateway", stack.env);
}, 40_000);

afterAll(async () => {
  await gateway?.signal("SIGTERM");
  await stack?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe("the built @herald/client", () => {
  test("runs under Node", () => {
    writeFileSync(join(dir, "node.mjs"), roundTrip("./dist/index.js", gateway.url));
    expect(run(["node", "node.mjs"])).toEqual(EXPECTED);
  }, 15_000);

  test("runs under Deno with network access only", () => {
    writeFileSync(join(dir, "deno.mjs"), roundTrip("./dist/index.js", gateway.url));
    expect(run([denoBinary(), "run", "--no-config", "--no-prompt", "--allow-net=127.0.0.1", "deno.mjs"])).toEqual(EXPECTED);
  }, 20_000);

  test("its declarations type a consumer's code with no Bun or Node types", () => {
    writeFileSync(
      join(dir, "consumer.ts"),
      `import { HeraldClient, ValidationError, type NotificationView } from "./dist/index.js";
const herald = new HeraldClient({ baseUrl: "http://localhost:8080", apiKey: "k" });
export async function read(id: string): Promise<NotificationView["status"]> {
  const view = await herald.notifications.get(id);
  return view.status;
}
export function paths(err: unknown): string[] {
  return err instanceof ValidationError ? err.errors.map((e) => e.path) : [];
}
// @ts-expect-error: "fax" is no channel
void herald.notifications.send({ userId: "u", channel: "fax", payload: { body: "b" } });
`,
    );
    const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
    const compilerOptions = { noEmit: true, strict: true, target: "es2022", module: "esnext", moduleResolution: "bundler", lib: ["es2022", "dom"], types: [] };
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["consumer.ts"] }));
    const r = Bun.spawnSync(["node", tsc, "-p", "tsconfig.json"], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    expect(r.stdout.toString()).toBe("");
    expect(r.exitCode).toBe(0);
  }, 20_000);

  if (!existsSync(CHROMIUM)) {
    console.warn(`[client-runtimes] browser test skipped: ${CHROMIUM} is absent (Debian's chromium package; .ci/run installs it)`);
    test.skip(`runs in Chromium: needs ${CHROMIUM}`, () => {});
  } else {
    test("runs in Chromium, same origin through a proxy", async () => {
      const bundle = join(dir, "dist", "index.js");
      // The gateway sends no CORS headers for /v1: the page and the API share this origin, as behind a real front proxy.
      const server = Bun.serve({
        port: 0,
        hostname: "127.0.0.1",
        async fetch(req) {
          const url = new URL(req.url);
          if (url.pathname === "/") return new Response("<!doctype html><title>client</title>", { headers: { "content-type": "text/html" } });
          if (url.pathname === "/index.js") return new Response(Bun.file(bundle), { headers: { "content-type": "text/javascript" } });
          const body = req.method === "GET" ? undefined : await req.arrayBuffer();
          return fetch(`${gateway.url}${url.pathname}${url.search}`, { method: req.method, headers: req.headers, body });
        },
      });
      const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
      try {
        const page = await browser.newPage();
        const origin = `http://127.0.0.1:${server.port}`;
        await page.goto(`${origin}/`);
        const result = await page.evaluate(
          async (src) => {
            const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
            return ((await import(url)) as { result: unknown }).result;
          },
          roundTrip(`${origin}/index.js`, origin),
        );
        expect(result).toEqual(EXPECTED);
      } finally {
        await browser.close();
        await server.stop(true);
      }
    }, 30_000);
  }
});
