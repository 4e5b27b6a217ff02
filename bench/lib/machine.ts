// The box has 2 cores shared by load generator, system under test, NATS,
// Redis and anything else running: a figure taken while another process is
// busy is not a figure of the system. Benchmarks check before they measure.

function cpuTimes(stat: string): { idle: number; total: number } {
  const fields = (stat.split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  // idle + iowait count as idle; steal is time the hypervisor took, so it counts as busy.
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { idle, total: fields.reduce((a, b) => a + b, 0) };
}

/** Fraction (0–1) of all cores' time spent idle over the next `ms`. */
export async function idleFraction(ms = 1_000): Promise<number> {
  const before = cpuTimes(await Bun.file("/proc/stat").text());
  await Bun.sleep(ms);
  const after = cpuTimes(await Bun.file("/proc/stat").text());
  const total = after.total - before.total;
  return total > 0 ? (after.idle - before.idle) / total : 1;
}

/** Logs a warning, and returns false, when the box is busier than `minIdle` before a measurement. */
export async function checkQuiet(minIdle = 0.9): Promise<boolean> {
  const idle = await idleFraction();
  if (idle >= minIdle) return true;
  console.warn(`warning: the box was only ${(idle * 100).toFixed(0)}% idle before measuring; figures will be low and noisy`);
  return false;
}

/** What a result was measured on, printed beside every table. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGb: number;
  kernel: string;
  bun: string;
  node: string;
  nats: string;
  postgres: string;
  redis: string;
}

async function commandOutput(cmd: string[]): Promise<string> {
  try {
    const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "ignore" });
    const text = await new Response(proc.stdout).text();
    return (await proc.exited) === 0 ? text.trim() : "unknown";
  } catch {
    return "unknown";
  }
}

/** Reads the CPU, memory, kernel and the versions of every runtime and service in the run. */
export async function describeMachine(versions: { nats: string; postgres: string; redis: string }): Promise<MachineInfo> {
  const cpuinfo = await Bun.file("/proc/cpuinfo").text();
  const meminfo = await Bun.file("/proc/meminfo").text();
  const memKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo)?.[1] ?? 0);
  return {
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    cores: navigator.hardwareConcurrency,
    memoryGb: Math.round(memKb / 1024 / 1024),
    kernel: await commandOutput(["uname", "-r"]),
    bun: Bun.version,
    node: await commandOutput(["node", "--version"]),
    ...versions,
  };
}

/**
 * Waits (up to `maxWaitMs`) for the box to settle after the previous phase
 * (a server stopping, NATS deleting a stream) before a measurement starts.
 * Returns false, with a warning, if it never got quiet.
 */
export async function waitForQuiet(minIdle = 0.9, maxWaitMs = 8_000): Promise<boolean> {
  const deadline = Date.now() + maxWaitMs;
  let idle = 0;
  while (Date.now() < deadline) {
    idle = await idleFraction(500);
    if (idle >= minIdle) return true;
  }
  const busiest = (await busiestProcesses(1_000)).map((p) => `${p.name}[${p.pid}] ${p.percent}%`).join(", ");
  console.warn(
    `warning: the box was only ${(idle * 100).toFixed(0)}% idle after waiting ${maxWaitMs / 1000} s (busiest: ${busiest}); figures will be low and noisy`,
  );
  return false;
}

async function processTicks(): Promise<Map<number, { name: string; ticks: number }>> {
  const out = new Map<number, { name: string; ticks: number }>();
  for (const entry of new Bun.Glob("[0-9]*").scanSync({ cwd: "/proc", onlyFiles: false })) {
    try {
      const stat = await Bun.file(`/proc/${entry}/stat`).text();
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(Number(entry), { name, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // exited while listing
    }
  }
  return out;
}

/** The processes that used the most CPU over the next `ms` (percent of one core): who to blame for a busy box. */
export async function busiestProcesses(ms: number, top = 3): Promise<Array<{ pid: number; name: string; percent: number }>> {
  const before = await processTicks();
  await Bun.sleep(ms);
  const after = await processTicks();
  const used = [...after].map(([pid, a]) => ({
    pid,
    name: a.name,
    percent: Math.round(((a.ticks - (before.get(pid)?.ticks ?? a.ticks)) / 100 / (ms / 1000)) * 100),
  }));
  return used.sort((a, b) => b.percent - a.percent).slice(0, top);
}
