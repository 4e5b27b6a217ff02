import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { freePort, waitForPort } from "../../lib/probe.ts";

const ROOT = join(import.meta.dir, "..", "..");
/** The binary itself, as the package resolves it: its bin shim runs it as a child and does not pass signals on. */
export const WORKERD = (createRequire(import.meta.url)("workerd") as { default: string }).default;

export interface WorkerdGateway {
  url: string;
  /** Everything workerd printed (the Worker's console and its own errors). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * `workerd serve deploy/workerd/config.capnp` as deployed: the committed
 * config beside the bundle `npm run build:workerd` makes, in a directory of
 * its own, with the configuration in the environment and the socket moved to a
 * free loopback port.
 */
export async function startWorkerdGateway(bundle: string, env: Record<string, string>): Promise<WorkerdGateway> {
  const dir = mkdtempSync(join(tmpdir(), "herald-workerd-"));
  mkdirSync(join(dir, "deploy", "workerd"), { recursive: true });
  mkdirSync(join(dir, "dist", "workerd"), { recursive: true });
  copyFileSync(join(ROOT, "deploy", "workerd", "config.capnp"), join(dir, "deploy", "workerd", "config.capnp"));
  copyFileSync(bundle, join(dir, "dist", "workerd", "worker.js"));
  const port = freePort();
  let proc: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
  try {
    proc = Bun.spawn([WORKERD, "serve", join(dir, "deploy", "workerd", "config.capnp"), "--socket-addr", `http=127.0.0.1:${port}`], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let printed = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) printed += new TextDecoder().decode(chunk);
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  const stop = async () => {
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
    await proc.exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
  if (!(await waitForPort("127.0.0.1", port, 20_000))) {
    await stop();
    throw new Error(`workerd did not listen on ${port}: ${printed}`);
  }
  return { url: `http://127.0.0.1:${port}`, output: () => printed, stop };
}
