// Herald's performance targets, evaluated against one run's figures. A figure the run
// did not measure is "not measured", never "met".
import type { BenchResults } from "./types.ts";

export interface Ratios {
  heraldVsExpress: number | null;
  heraldVsFastify: number | null;
  heraldVsJetstream: number | null;
  heraldVsBunServe: number | null;
  batchVsJetstream: number | null;
}

export interface TargetCheck {
  name: string;
  /** The bar as the target states it, e.g. "≥ 2×". */
  bar: string;
  value: number | null;
  /** How to print the value, e.g. "2.31×". */
  shown: string;
  met: boolean | null;
}

function ratio(a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined || b <= 0 ? null : a / b;
}

function peer(r: BenchResults, name: string): number | undefined {
  return r.peers.find((p) => p.name === name)?.rps;
}

export function computeRatios(r: BenchResults): Ratios {
  return {
    heraldVsExpress: ratio(r.herald?.rps, peer(r, "express")),
    heraldVsFastify: ratio(r.herald?.rps, peer(r, "fastify")),
    heraldVsJetstream: ratio(r.herald?.rps, r.jetstream?.rps),
    heraldVsBunServe: ratio(r.herald?.rps, r.bunServe?.rps),
    batchVsJetstream: ratio(r.batch?.itemsPerS, r.jetstream?.rps),
  };
}

function atLeast(name: string, value: number | null, bar: number, unit: "×" | "/s" | "MB" | "ms"): TargetCheck {
  const shown = value === null ? "not measured" : unit === "×" ? `${value.toFixed(2)}×` : `${Math.round(value).toLocaleString("en-US")} ${unit}`;
  return { name, bar: unit === "×" ? `≥ ${bar}×` : `≥ ${bar.toLocaleString("en-US")} ${unit}`, value, shown, met: value === null ? null : value >= bar };
}

function atMost(name: string, value: number | null, bar: number, unit: "MB" | "ms"): TargetCheck {
  const shown = value === null ? "not measured" : `${unit === "ms" ? value.toFixed(1) : Math.round(value)} ${unit}`;
  return { name, bar: `≤ ${bar} ${unit}`, value, shown, met: value === null ? null : value <= bar };
}

/** Peak RSS to hold against a memory bar: the larger of the sampled peak and the VmHWM sum. */
export function peakRss(m: { peakSampledMb: number; hwmMb: number } | null | undefined): number | null {
  return m ? Math.max(m.peakSampledMb, m.hwmMb) : null;
}

export function checkTargets(r: BenchResults, ratios: Ratios): TargetCheck[] {
  const checks = [
    atLeast("single POST vs Express", ratios.heraldVsExpress, 2, "×"),
    atLeast("single POST vs Fastify", ratios.heraldVsFastify, 1.5, "×"),
    atLeast("single POST vs JetStream ceiling", ratios.heraldVsJetstream, 0.45, "×"),
    atMost(`single POST p99 at ${r.plan.connections} connections`, r.herald?.p99 ?? null, 10, "ms"),
    atLeast("batch ingest vs JetStream ceiling", ratios.batchVsJetstream, 0.8, "×"),
    atLeast("end to end sent/s sustained", r.e2e?.sentPerS ?? null, 15_000, "/s"),
  ];
  const drained = r.e2e ? (r.e2e.drained ? 1 : 0) : null;
  checks.push({
    name: "end to end backlog drained",
    bar: "drained",
    value: drained,
    shown: drained === null ? "not measured" : drained ? `yes, in ${r.e2e?.drainS.toFixed(1)} s` : "NO",
    met: drained === null ? null : drained === 1,
  });
  // Priority isolation: an urgent notification goes out within a second even behind a full low lane.
  const urgentMax = r.isolation ? r.isolation.urgentMs.max : null;
  checks.push({
    ...atMost(`urgent sent with ${r.isolation ? r.isolation.low.toLocaleString("en-US") : "50,000"} low queued (max)`, urgentMax, 1000, "ms"),
    bar: "≤ 1 s",
  });
  checks.push(atMost("gateway peak RSS", peakRss(r.memory.gateway), 150, "MB"));
  checks.push(atMost("processor peak RSS", peakRss(r.memory.processor), 250, "MB"));
  // Telemetry on (10% of traces, an info line per request) may cost at most 10% of the gateway's throughput.
  const overhead = r.telemetry?.overheadPct ?? null;
  checks.push({
    name: "telemetry overhead",
    bar: "≤ 10%",
    value: overhead,
    shown: overhead === null ? "not measured" : `${overhead.toFixed(1)}%`,
    met: overhead === null ? null : overhead <= 10,
  });
  return checks;
}

/**
 * Flat memory over a soak: the end RSS within 10% (or 10 MB, whichever is
 * larger) of the RSS after the first minute, when warm-up growth is done.
 */
export function soakFlat(samples: Array<{ atS: number; rssMb: number }>): { settledMb: number; endMb: number; flat: boolean } | null {
  if (samples.length < 2) return null;
  const first = samples[0]?.atS ?? 0;
  const settled = samples.find((s) => s.atS - first >= 60) ?? samples[Math.floor(samples.length / 2)] ?? samples[0];
  const end = samples[samples.length - 1];
  if (!settled || !end) return null;
  const allowance = Math.max(10, settled.rssMb * 0.1);
  return { settledMb: settled.rssMb, endMb: end.rssMb, flat: end.rssMb - settled.rssMb <= allowance };
}
