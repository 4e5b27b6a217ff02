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
