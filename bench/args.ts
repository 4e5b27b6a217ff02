// Command line of `npm run bench`: which phases, how long. Pure, so it is unit-tested.
import { parseArgs } from "node:util";

export const PHASES = [
  "gateway",
  "fixed",
  "batch",
  "templates",
  "peers",
  "limits",
  "e2e",
  "scheduler",
  "isolation",
  "parked",
  "retention",
  "failover",
  "signing",
  "subscriber",
  "fanout",
  "render",
  "telemetry",
  "runtimes",
] as const;
export type Phase = (typeof PHASES)[number];
/**
 * What runs without --phases: every phase but `isolation`, `parked`, `retention`, `failover`, `signing`, `subscriber`, `fanout`, `templates` and `render`,
 * so the telemetry overhead and the other runtimes are measured in the same run; the first three queue, park or store tens of
 * thousands to millions of notifications each, minutes a run can spare only when asked; `failover`, `signing`, `subscriber`, `fanout` and `render` measure in the
 * harness's own process, and `templates` a ratio on the gateway over eight rounds, figures for when the send path, the renderer
 * or the accept path changes.
 */
export const DEFAULT_PHASES: readonly Phase[] = ["gateway", "fixed", "batch", "peers", "limits", "e2e", "scheduler", "telemetry", "runtimes"];

export interface BenchPlan {
  mode: "suite" | "soak";
  quick: boolean;
  phases: Phase[];
  /** autocannon connections for every single-POST phase (Herald, peers, Bun.serve). */
  connections: number;
  /** Seconds of warm-up before each measured load phase (not counted). */
  warmupS: number;
  /** Seconds of each measured load phase: gateway, fixed rate, batch, peers, limits. */
  durationS: number;
  batchSize: number;
  batchConnections: number;
  /** In-flight publishes of the JetStream ceiling loop. */
  jetstreamWindow: number;
  /** Measured seconds of the end-to-end phase, after its ramp. */
  e2eSeconds: number;
  e2eRampS: number;
  /** Scheduler phase: notifications due `schedulerAheadS` ahead, and how many due at once beside them. */
  schedulerCount: number;
  schedulerDueNow: number;
  schedulerAheadS: number;
  /** Isolation phase: `low` slow webhooks queued, then `urgent` posted one every `isolationEveryMs`. */
  isolationLow: number;
  isolationUrgent: number;
  isolationEveryMs: number;
  /** How long the receiver holds each low webhook, so the low lane stays busy. */
  isolationHoldMs: number;
  /** Subscriber phase: events stored and read by each variant. */
  subscriberEvents: number;
  /** Fan-out phase: events per variant (no endpoints, `fanoutEndpoints` per tenant). */
  fanoutEvents: number;
  fanoutEndpoints: number;
  /** Failover phase: sends per round and way. */
  failoverSends: number;
  /** Signing phase: webhook sends per round and way. */
  signingSends: number;
  /** Parked phase: notifications parked an hour ahead, and rounds per side (none, parked, alternating). */
  parkedCount: number;
  parkedRounds: number;
  /** Retention phase: notifications stored before its rounds, and rounds per side (empty, stored, alternating). */
  retentionRows: number;
  retentionRounds: number;
  /** Runtimes phase: rounds per variant, each a fresh gateway warmed for `warmupS` and measured for `durationS`. */
  runtimeRounds: number;
  soakSeconds: number;
  /** Seconds between RSS readings. */
  sampleEveryS: number;
  outDir: string;
}

export const USAGE = `usage: npm run bench -- [--quick] [--phases gateway,fixed,batch,templates,peers,limits,e2e,scheduler,isolation,parked,retention,failover,signing,subscriber,fanout,render,telemetry,runtimes]
                     [--duration S] [--warmup S] [--e2e-seconds S] [--schedule-ahead S] [--connections N]
                     [--batch-connections N] [--runtime-rounds N] [--out DIR]
       npm run bench -- --soak [--soak-seconds 600] [--sample-every 5]`;

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${raw}"`);
  return n;
}

/** Parses argv (without the runtime and script) into a plan; throws with the offending flag. */
export function parseBenchArgs(argv: string[]): BenchPlan {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: "boolean", default: false },
      soak: { type: "boolean", default: false },
      phases: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      "e2e-seconds": { type: "string" },
      "schedule-ahead": { type: "string" },
      connections: { type: "string" },
      "batch-connections": { type: "string" },
      "runtime-rounds": { type: "string" },
      "soak-seconds": { type: "string" },
      "sample-every": { type: "string" },
      out: { type: "string" },
    },
  });
  const quick = values.quick;
  const phases = values.phases === undefined ? [...DEFAULT_PHASES] : values.phases.split(",").map((p) => p.trim());
  const unknown = phases.filter((p) => !(PHASES as readonly string[]).includes(p));
  if (unknown.length > 0) throw new Error(`--phases: unknown ${unknown.join(", ")} (known: ${PHASES.join(", ")})`);
  // The targets' minimums: 20 s per load phase and ≥ 60 s end to end; --quick
  // keeps the end-to-end phase at ≥ 15 s and the whole run within 4 minutes.
  const e2eMin = quick ? 15 : 60;
  const e2eSeconds = positive("e2e-seconds", values["e2e-seconds"], e2eMin);
  return {
    mode: values.soak ? "soak" : "suite",
    quick,
    phases: PHASES.filter((p) => phases.includes(p)),
    connections: positive("connections", values.connections, 64),
    warmupS: positive("warmup", values.warmup, quick ? 3 : 5),
    durationS: positive("duration", values.duration, quick ? 10 : 20),
    batchSize: 500,
    batchConnections: positive("batch-connections", values["batch-connections"], 8),
    jetstreamWindow: 256,
    e2eSeconds,
    e2eRampS: quick ? 3 : 5,
    // The scheduler target: 10,000 webhooks two minutes ahead and 500 due now.
    schedulerCount: quick ? 2000 : 10_000,
    schedulerDueNow: quick ? 200 : 500,
    schedulerAheadS: positive("schedule-ahead", values["schedule-ahead"], quick ? 20 : 120),
    // The isolation bar: urgent sent within 1 s with 50,000 low queued.
    isolationLow: quick ? 20_000 : 50_000,
    isolationUrgent: 20,
    isolationEveryMs: 250,
    isolationHoldMs: 100,
    parkedCount: quick ? 20_000 : 100_000,
    subscriberEvents: quick ? 20_000 : 100_000,
    fanoutEvents: quick ? 10_000 : 40_000,
    fanoutEndpoints: 5,
    failoverSends: quick ? 50_000 : 200_000,
    signingSends: quick ? 10_000 : 40_000,
    parkedRounds: 2,
    retentionRows: quick ? 500_000 : 5_000_000,
    retentionRounds: quick ? 2 : 3,
    // Two rounds, one in each order, even with --quick: one alone would favour whichever runtime runs first.
    runtimeRounds: Math.ceil(positive("runtime-rounds", values["runtime-rounds"], 2)),
    soakSeconds: positive("soak-seconds", values["soak-seconds"], 600),
    sampleEveryS: positive("sample-every", values["sample-every"], values.soak ? 5 : 1),
    outDir: values.out ?? new URL("./results/", import.meta.url).pathname,
  };
}
