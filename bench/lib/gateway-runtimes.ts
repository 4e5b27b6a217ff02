// The gateway on each runtime it ships for, started as the conformance suite
// (test/gateway-runtimes.test.ts) starts it: Bun on bin/herald.ts, Node on
// the bundle `bin/build-gateway.ts node` makes, Deno on the sources, workerd
// on its bundle with the committed config. Each answers with the pid of the
// runtime's own process, so /proc gives its CPU and memory and no wrapper's.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { denoBinary } from "../../test/support/deno.ts";
import { startHerald } from "../../test/support/herald-process.ts";
import { startUpstashCompatibleServer } from "../../test/support/upstash-rest.ts";
import { startWorkerdGateway, WORKERD } from "../../test/support/workerd.ts";
import { RUNTIME_KEYS, type RuntimeKey, type RuntimeVariant } from "../types.ts";
import type { Cleanup } from "./cleanup.ts";
import { stopHerald } from "./herald.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
// The binary itself: node_modules/.bin/deno is a Node script that would sit in the process tree.
const DENO = denoBinary();
const UPSTASH_TOKEN = "bench-upstash-token";

/** Bun, Node and Deno over TCP; Node over WebSocket too, so the WebSocket's cost shows apart from the runtime's; workerd has only WebSocket and REST. */
const VARIANTS: Record<RuntimeKey, Omit<RuntimeVariant, "key">> = {
  bun: { runtime: "bun", transport: "tcp", store: "redis" },
  node: { runtime: "node", transport: "tcp", store: "redis" },
  node_ws: { runtime: "node", transport: "ws", store: "redis" },
  deno: { runtime: "deno", transport: "tcp", store: "redis" },
  workerd: { runtime: "workerd", transport: "ws", store: "upstash-rest" },
};

export const RUNTIME_VARIANTS: readonly RuntimeVariant[] = RUNTIME_KEYS.map((key) => ({ key, ...VARIANTS[key] }));

export interface RuntimeGateway {
  url: string;
  /** The runtime's own process. */
  pid: number;
  stop(): Promise<void>;
}

export interface GatewayRuntimes {
  /** Starts one variant on `env` (the stack's, with NATS_URL the private server's TCP URL) and resolves once it listens. */
  start(variant: RuntimeVariant, env: Record<string, string>, wsUrl: string): Promise<RuntimeGateway>;
  versions: Record<RuntimeVariant["runtime"], string>;
}

async function output(cmd: string[]): Promise<string> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "inherit" });
  const printed = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`${cmd.join(" ")} failed: ${printed}`);
  return printed.trim();
}

/** The process whose argv holds `arg`: workerd's helper does not say its pid, but its --socket-addr is unique. */
function pidWithArg(arg: string): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").includes(arg)) return Number(entry);
    } catch {
      // exited while listing
    }
  }
  throw new Error(`no process with argument ${arg}`);
}

/** Builds the Node and workerd bundles and starts the Upstash-compatible server; all removed by `cleanup`. */
export async function prepareRuntimes(redisUrl: string, cleanup: Cleanup): Promise<GatewayRuntimes> {
  const dir = mkdtempSync(join(tmpdir(), "herald-bench-runtimes-"));
  cleanup.defer("gateway bundles", () => rmSync(dir, { recursive: true, force: true }));
  const build = async (runtime: "node" | "workerd") =>
    (await output([process.execPath, join(ROOT, "bin/build-gateway.ts"), runtime, join(dir, runtime)])).replace(/^built /, "");
  const [nodeBundle, workerdBundle] = await Promise.all([build("node"), build("workerd")]);
  const upstash = await startUpstashCompatibleServer({ redisUrl, token: UPSTASH_TOKEN });
  cleanup.defer("Upstash-compatible server", () => upstash.stop());
  const versions = {
    bun: `Bun ${Bun.version}`,
    node: `Node ${await output(["node", "--version"])}`,
    deno: (await output([DENO, "--version"])).split("\n")[0]?.replace(/^deno (\S+).*/, "Deno $1") ?? "Deno",
    workerd: await output([WORKERD, "--version"]),
  };

  async function start(variant: RuntimeVariant, env: Record<string, string>, wsUrl: string): Promise<RuntimeGateway> {
    // As the gateway phase runs it: no info line per request.
    const base: Record<string, string> = { ...env, LOG_LEVEL: "warn", ...(variant.transport === "ws" ? { NATS_URL: wsUrl } : {}) };
    const herald = async (command?: string[], extra: Record<string, string> = {}) => {
      const proc = await startHerald("gateway", { ...base, ...extra }, { keepLogs: false, ...(command ? { command } : {}) });
      return { url: proc.url, pid: proc.proc.pid, stop: () => stopHerald(proc) };
    };
    switch (variant.runtime) {
      case "bun":
        return herald();
      case "node":
        return herald(["node", nodeBundle]);
      case "deno":
        // Deno keeps its cache under HOME and will not start without one.
        return herald([DENO, "run", "-A", join(ROOT, "gateway/runtime/deno/main.ts")], { HOME: process.env.HOME ?? "/root" });
      case "workerd": {
        const { REDIS_URL: _noTcp, ...rest } = base;
        const worker = await startWorkerdGateway(workerdBundle, { ...rest, UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: UPSTASH_TOKEN });
        return { url: worker.url, pid: pidWithArg(`http=${worker.url.replace("http://", "")}`), stop: () => worker.stop() };
      }
    }
  }
  return { start, versions };
}
