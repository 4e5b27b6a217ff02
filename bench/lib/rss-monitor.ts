// Memory of the systems under test, read from /proc while they run. A
// process may fork workers (a multi-process gateway), so every figure covers
// the process and all its descendants: what the deployment really costs.

const CLK_TCK = 100;

/** One reading of a process tree. */
export interface TreeSample {
  /** Sum of VmRSS over the tree, MB. */
  rssMb: number;
  /** Sum of VmHWM (each process's own peak RSS) over the tree, MB: an upper bound of the tree's peak. */
  hwmMb: number;
  /** utime + stime of the live processes of the tree, seconds. */
  cpuSeconds: number;
  processes: number;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await Bun.file(path).text();
  } catch {
    return null; // the process exited between listing and reading
  }
}

function statFields(stat: string): string[] {
  // The command name may contain spaces, so split after its closing parenthesis.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** `pid` and every live descendant of it. */
export async function processTree(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const entry of new Bun.Glob("[0-9]*").scanSync({ cwd: "/proc", onlyFiles: false })) {
    const stat = await readText(`/proc/${entry}/stat`);
    if (stat === null) continue;
    const ppid = Number(statFields(stat)[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const tree: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    tree.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return tree;
}

/** Reads the tree rooted at `pid` now. */
export async function sampleTree(pid: number): Promise<TreeSample> {
  const sample: TreeSample = { rssMb: 0, hwmMb: 0, cpuSeconds: 0, processes: 0 };
  for (const p of await processTree(pid)) {
    const [status, stat] = await Promise.all([readText(`/proc/${p}/status`), readText(`/proc/${p}/stat`)]);
    if (status === null || stat === null) continue;
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    const fields = statFields(stat);
    sample.rssMb += kb("VmRSS") / 1024;
    sample.hwmMb += kb("VmHWM") / 1024;
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 once pid and comm are cut off.
    sample.cpuSeconds += (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    sample.processes += 1;
  }
  return sample;
}

/** Start, peak and end of the sampled RSS of one process tree. */
export interface RssSeries {
  startMb: number;
  peakMb: number;
  endMb: number;
  /** Sum of VmHWM at the last reading. */
  hwmMb: number;
  samples: Array<{ atS: number; rssMb: number }>;
}

export interface RssMonitor {
  /** Starts watching a process tree under a name (e.g. "gateway"). */
  watch(name: string, pid: number): void;
  /** Reads every watched tree once more (call before a process stops; its numbers vanish with it). */
  sampleNow(): Promise<void>;
  series(name: string): RssSeries | undefined;
  /** Seconds since the monitor started, on the same clock as the samples' `atS`. */
  elapsedS(): number;
  stop(): void;
}

/** Samples every watched tree each `everyMs`; reading /proc costs well under a millisecond per process. */
export function createRssMonitor(everyMs: number): RssMonitor {
  const started = performance.now();
  const watched = new Map<string, { pid: number; series: RssSeries; live: boolean }>();
  // Readings run one after another, so an explicit sampleNow() never overlaps a timer tick.
  let chain: Promise<void> = Promise.resolve();

  async function readAll(): Promise<void> {
    for (const w of watched.values()) {
      if (!w.live) continue;
      const s = await sampleTree(w.pid);
      if (s.processes === 0) {
        w.live = false;
        continue;
      }
      const series = w.series;
      if (series.samples.length === 0) series.startMb = s.rssMb;
      series.samples.push({ atS: (performance.now() - started) / 1000, rssMb: s.rssMb });
      series.peakMb = Math.max(series.peakMb, s.rssMb);
      series.endMb = s.rssMb;
      series.hwmMb = Math.max(series.hwmMb, s.hwmMb);
    }
  }

  function sampleNow(): Promise<void> {
    chain = chain.catch(() => undefined).then(readAll);
    return chain;
  }

  const timer = setInterval(() => {
    sampleNow().catch((err: unknown) => console.warn(`rss sample failed: ${String(err)}`));
  }, everyMs);

  return {
    watch(name, pid) {
      watched.set(name, { pid, live: true, series: { startMb: 0, peakMb: 0, endMb: 0, hwmMb: 0, samples: [] } });
    },
    sampleNow,
    series: (name) => watched.get(name)?.series,
    elapsedS: () => (performance.now() - started) / 1000,
    stop: () => clearInterval(timer),
  };
}
