// CPU and memory accounting for the gateway probe: who used the 2 cores
// during a phase (gateway and any worker children, nats-server, redis-server,
// everything else), read straight from /proc so nothing runs in the loop.

/** Linux clock ticks per second (`getconf CLK_TCK`). */
const CLK_TCK = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime in ticks. */
  ticks: number;
}

async function readStat(pid: number): Promise<ProcStat | null> {
  try {
    const stat = await Bun.file(`/proc/${pid}/stat`).text();
    // The command name may contain spaces, so split after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { pid, ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

async function allStats(): Promise<ProcStat[]> {
  const pids: number[] = [];
  for (const entry of new Bun.Glob("[0-9]*").scanSync({ cwd: "/proc", onlyFiles: false })) pids.push(Number(entry));
  const stats = await Promise.all(pids.map(readStat));
  return stats.filter((s): s is ProcStat => s !== null);
}

/** `root` and every descendant alive now (gateway workers are children of the gateway). */
function tree(stats: ProcStat[], root: number): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const s of stats) if (s.ppid === out[i]) out.push(s.pid);
  return out;
}

/** Pids of a named program (`nats-server`, `redis-server`), from /proc/<pid>/comm. */
export async function pidsOf(name: string): Promise<number[]> {
  const found: number[] = [];
  for (const s of await allStats()) {
    const comm = await Bun.file(`/proc/${s.pid}/comm`)
      .text()
      .catch(() => "");
    if (comm.trim() === name) found.push(s.pid);
  }
  return found;
}

/** Busy and total ticks of the whole machine (all cores), from /proc/stat. */
async function machineTicks(): Promise<{ busy: number; total: number }> {
  const line = (await Bun.file("/proc/stat").text()).split("\n")[0] ?? "";
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

export interface CpuSnapshot {
  at: number;
  stats: ProcStat[];
  machine: { busy: number; total: number };
}

export async function snapshot(): Promise<CpuSnapshot> {
  const [stats, machine] = await Promise.all([allStats(), machineTicks()]);
  return { at: performance.now(), stats, machine };
}

export interface CpuSplit {
  /** Cores used per named group (1.0 = one core busy the whole time); a root's CPU includes its descendants'. */
  groups: Record<string, number>;
  /** The busiest processes outside every group, e.g. another engineer's compiler: noise to know about. */
  others: Array<{ pid: number; comm: string; cores: number }>;
  /** Cores busy on the whole machine, kernel time (loopback networking) included. */
  machine: number;
}

/** Who used the CPU between two snapshots. */
export async function cpuSplit(before: CpuSnapshot, after: CpuSnapshot, roots: Record<string, number[]>): Promise<CpuSplit> {
  const seconds = (after.at - before.at) / 1000;
  const was = new Map(before.stats.map((s) => [s.pid, s.ticks]));
  const delta = new Map(after.stats.map((s) => [s.pid, (s.ticks - (was.get(s.pid) ?? 0)) / CLK_TCK / seconds]));
  const claimed = new Set<number>();
  const groups: Record<string, number> = {};
  for (const [name, pids] of Object.entries(roots)) {
    let cores = 0;
    for (const root of pids) {
      for (const pid of tree(after.stats, root)) {
        if (claimed.has(pid)) continue;
        claimed.add(pid);
        cores += delta.get(pid) ?? 0;
      }
    }
    groups[name] = cores;
  }
  const rest = [...delta]
    .filter(([pid, cores]) => !claimed.has(pid) && cores >= 0.02)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4);
  const others = await Promise.all(
    rest.map(async ([pid, cores]) => ({
      pid,
      cores,
      comm: (
        await Bun.file(`/proc/${pid}/comm`)
          .text()
          .catch(() => "?")
      ).trim(),
    })),
  );
  const totalTicks = after.machine.total - before.machine.total;
  const machine = totalTicks > 0 ? ((after.machine.busy - before.machine.busy) / totalTicks) * navigator.hardwareConcurrency : 0;
  return { groups, others, machine };
}

/** Current and peak RSS in MB of `root` plus its descendants (peak is summed per process, an upper bound). */
export async function rssOf(root: number): Promise<{ rssMb: number; peakMb: number }> {
  let rss = 0;
  let peak = 0;
  for (const pid of tree(await allStats(), root)) {
    const status = await Bun.file(`/proc/${pid}/status`)
      .text()
      .catch(() => "");
    rss += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
    peak += Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  }
  return { rssMb: rss / 1024, peakMb: peak / 1024 };
}
