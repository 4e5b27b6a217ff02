// The soak's memory watch: every process's VmRSS sampled from /proc, by role
// (a restarted process keeps its role), and the test of whether it stayed flat.
import { readdirSync, readFileSync } from "node:fs";
import type { ChaosStack } from "./herald-cluster.ts";

export interface RssSample {
  /** Seconds since sampling began. */
  t: number;
  /** RSS in MB by role, for the roles whose process was found. */
  mb: Record<string, number>;
}

export interface RssSummary {
  role: string;
  /** Herald's own processes must stay flat; NATS and Redis are reported only. */
  herald: boolean;
  startMb: number;
  peakMb: number;
  endMb: number;
  slopeMbPerMin: number;
  /** Median of the last third over the median of the first third, after the warm-up. */
  growth: number;
  flat: boolean;
}

/** Each Herald process's RSS over the last third may exceed the first third's median by at most this. */
export const FLAT_GROWTH = 0.15;

function rssMb(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
}

/** This process's children running `comm`, keyed by a name read from their environment (or their pid). */
function children(comm: string, nameVar: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== process.pid || readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== comm) continue;
      const env = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      const name = env.find((v) => v.startsWith(`${nameVar}=`))?.slice(nameVar.length + 1) ?? comm;
      found.set(name, Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

function sample(stack: ChaosStack): Record<string, number> {
  const pids: Array<[string, number | undefined]> = [
    ...stack.gateways.map((g, i): [string, number] => [`gateway ${i}`, g.proc.pid]),
    ...stack.processors.map((p, i): [string, number] => [`processor ${i}`, p.proc.pid]),
    ...[...children("nats-server", "NATS_SERVER_NAME")].map(([name, pid]): [string, number] => [`nats ${name}`, pid]),
    ...[...children("redis-server", "")].map((e): [string, number] => ["redis", e[1]]),
  ];
  const mb: Record<string, number> = {};
  for (const [role, pid] of pids) {
    const v = rssMb(pid);
    if (v !== null) mb[role] = v;
  }
  return mb;
}

export interface RssWatch {
  stop(): RssSample[];
}

export function watchRss(stack: ChaosStack, everyMs: number): RssWatch {
  const t0 = Date.now();
  const samples: RssSample[] = [{ t: 0, mb: sample(stack) }];
  const timer = setInterval(() => samples.push({ t: (Date.now() - t0) / 1000, mb: sample(stack) }), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** Least-squares slope of MB over minutes. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((a, [t]) => a + t, 0) / n;
  const mv = points.reduce((a, [, v]) => a + v, 0) / n;
  const num = points.reduce((a, [t, v]) => a + (t - mt) * (v - mv), 0);
  const den = points.reduce((a, [t]) => a + (t - mt) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 60;
}

/** Per role: start (first sample after the warm-up), peak, end, slope, and whether the last third stayed within FLAT_GROWTH of the first. */
export function summarizeRss(samples: readonly RssSample[], warmUpS: number): RssSummary[] {
  const roles = [...new Set(samples.flatMap((s) => Object.keys(s.mb)))].sort();
  return roles.map((role) => {
    const points = samples.filter((s) => s.t >= warmUpS && s.mb[role] !== undefined).map((s): [number, number] => [s.t, s.mb[role] ?? 0]);
    const third = Math.max(1, Math.floor(points.length / 3));
    const first = median(points.slice(0, third).map(([, v]) => v));
    const last = median(points.slice(-third).map(([, v]) => v));
    const growth = first > 0 ? last / first - 1 : 0;
    const herald = role.startsWith("gateway") || role.startsWith("processor");
    return {
      role,
      herald,
      startMb: points[0]?.[1] ?? 0,
      peakMb: Math.max(0, ...points.map(([, v]) => v)),
      endMb: points.at(-1)?.[1] ?? 0,
      slopeMbPerMin: slope(points),
      growth,
      flat: growth <= FLAT_GROWTH,
    };
  });
}

export function renderRssTable(rows: readonly RssSummary[]): string {
  const head = ["process", "start MB", "peak MB", "end MB", "slope MB/min", "last/first third", "flat"];
  const lines = [
    head,
    head.map(() => "---"),
    ...rows.map((r) => [
      r.role,
      r.startMb.toFixed(1),
      r.peakMb.toFixed(1),
      r.endMb.toFixed(1),
      r.slopeMbPerMin.toFixed(2),
      `${r.growth >= 0 ? "+" : ""}${(r.growth * 100).toFixed(1)}%`,
      r.herald ? (r.flat ? "yes" : "NO") : "(not judged)",
    ]),
  ];
  return lines.map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}
