import { createServer } from "node:net";
import type { Subprocess } from "bun";

/** Linux clock ticks per second (`getconf CLK_TCK`); 100 on every kernel this runs on. */
const CLK_TCK = 100;

export interface ServerSample {
  /** Peak resident set size so far (VmHWM), in MB. */
  peakRssMb: number;
  /** Current resident set size (VmRSS), in MB. */
  rssMb: number;
  /** User + system CPU time consumed so far, in seconds. */
  cpuSeconds: number;
}

export interface ServerProcess {
  pid: number;
  url: string;
  /** Reads /proc now; call before stop(), the numbers vanish with the process. */
  sample(): Promise<ServerSample>;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  /** argv, e.g. `["node", "bench/peers/express.mjs"]`; the binary must be the server itself (no wrapper) so /proc shows its numbers. */
  cmd: string[];
  env: Record<string, string>;
  port: number;
  cwd?: string;
  /** How long to wait for the port to accept connections. */
  timeoutMs?: number;
}

/** A port that was free a moment ago (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function portOpen(port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

/** Reads VmHWM/VmRSS and utime+stime of a live process. */
export async function sampleProcess(pid: number): Promise<ServerSample> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  // The command name in field 2 may contain spaces, so split after its closing parenthesis.
  const stat = await Bun.file(`/proc/${pid}/stat`).text();
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of stat (utime, stime) are 12 and 13 once pid and comm are cut off.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { peakRssMb: kb("VmHWM") / 1024, rssMb: kb("VmRSS") / 1024, cpuSeconds: ticks / CLK_TCK };
}

/** Starts a server process and resolves once its port accepts connections; its output goes to our stderr. */
export async function startServer(opts: StartOptions): Promise<ServerProcess> {
  const proc: Subprocess = Bun.spawn(opts.cmd, {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...opts.env, PORT: String(opts.port) },
    stdout: "ignore",
    stderr: "inherit",
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  while (!(await portOpen(opts.port))) {
    if (proc.exitCode !== null) throw new Error(`${opts.cmd.join(" ")} exited with ${proc.exitCode} before listening`);
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`${opts.cmd.join(" ")} did not listen on ${opts.port} in time`);
    }
    await Bun.sleep(50);
  }
  return {
    pid: proc.pid,
    url: `http://127.0.0.1:${opts.port}`,
    sample: () => sampleProcess(proc.pid),
    async stop(graceMs = 5_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      await proc.exited;
      clearTimeout(timer);
    },
  };
}
