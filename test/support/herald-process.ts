import type { Subprocess } from "bun";
import { freePort, waitForPort } from "../../lib/probe.ts";
import { RUNTIME_ENV } from "../../lib/runtime-env.ts";

const CLI = new URL("../../bin/herald.ts", import.meta.url).pathname;

export interface HeraldProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  port: number;
  url: string;
  /** Every JSON log line seen so far (with `keepLogs: false`, only those before it was ready). */
  logs: Array<Record<string, unknown>>;
  /** Resolves when a log line satisfying `match` appears (or rejects after `timeoutMs`). */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  signal(sig: "SIGTERM" | "SIGKILL"): Promise<number>;
}

export interface StartOptions {
  /** False: once ready, stdout is drained unparsed, so a bench's line-per-send logging costs none of the cores it measures. */
  keepLogs?: boolean;
  /** What runs `herald`: Bun on bin/herald.ts by default, or a compiled binary's path. */
  command?: string[];
}

/** Starts `herald <mode>` as a real child process with the given environment. */
export async function startHerald(mode: "gateway" | "processor" | "all", env: Record<string, string>, opts: StartOptions = {}): Promise<HeraldProcess> {
  const port = mode === "processor" ? 0 : Number(env.HERALD_PORT ?? freePort());
  const proc = Bun.spawn([...(opts.command ?? [process.execPath, CLI]), mode], {
    // Metrics port 0: several processors in one test (crash, redelivery) must not fight over 9464.
    env: { PATH: process.env.PATH ?? "", ...RUNTIME_ENV, LOG_LEVEL: "info", HERALD_METRICS_PORT: "0", ...env, HERALD_PORT: String(port) },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const logs: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  const out = { parse: true };
  void pump(proc.stdout, out, (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
      for (const w of waiters) w();
    } catch {
      // the welcome banner and other plain lines
    }
  });
  void pump(proc.stderr, { parse: true }, (line) => process.stderr.write(`[herald ${mode}] ${line}\n`));

  const handle: HeraldProcess = {
    proc,
    port,
    url: `http://127.0.0.1:${port}`,
    logs,
    waitForLog(match, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = logs.find(match);
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`herald ${mode}: no matching log line within ${timeoutMs} ms; last: ${JSON.stringify(logs.slice(-3))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async signal(sig) {
      proc.kill(sig);
      return proc.exited;
    },
  };
  try {
    if (mode === "processor") await handle.waitForLog((l) => l.msg === "processor consuming");
    else if (!(await waitForPort("127.0.0.1", port, 20_000)))
      throw new Error(`herald ${mode} did not listen on ${port}; logs: ${JSON.stringify(logs.slice(-5))}`);
  } catch (err) {
    // A child that never became ready would otherwise outlive the test run and keep consuming.
    proc.kill("SIGKILL");
    await proc.exited;
    throw err;
  }
  if (opts.keepLogs === false) out.parse = false;
  return handle;
}

/** Splits a child's output into lines for `onLine` while `state.parse` holds; after that only drains it. */
async function pump(stream: ReadableStream<Uint8Array>, state: { parse: boolean }, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    if (!state.parse) continue;
    buf += decoder.decode(chunk, { stream: true });
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line) onLine(line);
    }
  }
}
