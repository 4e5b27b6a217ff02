// Telemetry's overhead: the gateway phase's load (same body, a fresh
// Idempotency-Key per request, `plan.connections` connections) against two
// `herald gateway`s, telemetry off and on, side by side and warmed once per
// leg (four legs, restarted for each, the start order alternating: see LEGS); the load alternates
// between them in short rounds (off on, on off, …), so drift on a shared
// box hits both alike.
//   off: no OTLP endpoint (tracing a no-op), LOG_LEVEL=warn — as the gateway phase.
//   on:  OTLP/HTTP to a local receiver, 10% of traces sampled, LOG_LEVEL=info
//        (one info line per accepted request).
// Metrics are always on, so they are in both.
import type { NatsConnection } from "@nats-io/transport-node";
import type { Subprocess } from "bun";
import { freePort, waitForPort } from "../../lib/probe.ts";
import { RUNTIME_ENV } from "../../lib/runtime-env.ts";
import { startOtlpReceiver } from "../../test/support/otlp-receiver.ts";
import type { BenchPlan } from "../args.ts";
import type { Cleanup } from "../lib/cleanup.ts";
import { mean } from "../lib/stats.ts";
import { purgeStream } from "../lib/stream.ts";
import type { HttpRun, TelemetryRun } from "../types.ts";
import { runAutocannon } from "../lib/autocannon.ts";
import { measureHttp, singleLoad } from "./http-load.ts";

const CLI = new URL("../../bin/herald.ts", import.meta.url).pathname;
export const TRACE_SAMPLE_RATIO = 0.1;

export interface TelemetryTarget {
  env: Record<string, string>;
  apiKey: string;
  nc: NatsConnection;
  stream: string;
}

export interface Gateway {
  proc: Subprocess<"ignore", "pipe", "inherit">;
  url: string;
  /** Lines the gateway wrote to stdout so far. */
  lines: () => number;
  /** Resolves once stdout is closed (after exit), so `lines()` is final. */
  drained: Promise<void>;
}

/**
 * `herald gateway` as a child whose stdout is drained by counting newlines,
 * not parsed: test/support/herald-process.ts JSON-parses and keeps every
 * line, which at an info line per request would put the harness's CPU, not
 * the gateway's logging, into the "on" figure.
 */
export async function startGateway(env: Record<string, string>, cli: string = CLI): Promise<Gateway> {
  const port = freePort();
  const proc = Bun.spawn([process.execPath, cli, "gateway"], {
    env: { PATH: process.env.PATH ?? "", ...RUNTIME_ENV, HERALD_METRICS_PORT: "0", ...env, HERALD_PORT: String(port) },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
  });
  let lines = 0;
  const drained = (async () => {
    // A native scan rather than a per-byte loop: the harness shares the 2 cores with the gateway it measures.
    for await (const chunk of proc.stdout) for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
  })();
  if (!(await waitForPort("127.0.0.1", port, 20_000))) {
    proc.kill("SIGKILL");
    await proc.exited;
    throw new Error(`herald gateway did not listen on ${port}`);
  }
  return { proc, url: `http://127.0.0.1:${port}`, lines: () => lines, drained };
}

/** SIGTERM (the gateway drains and flushes its spans), SIGKILL after 15 s. */
export async function stopGateway(g: Gateway): Promise<void> {
  if (g.proc.exitCode !== null || g.proc.signalCode !== null) return;
  const timer = setTimeout(() => g.proc.kill("SIGKILL"), 15_000);
  g.proc.kill("SIGTERM");
  await g.proc.exited;
  clearTimeout(timer);
  await g.drained;
}

/**
 * Rounds and seconds: two rounds per leg (see LEGS), each mode 3 s per round
 * with --quick and 5 s in a full run, after one warm-up of `plan.warmupS` per gateway.
 */
export function telemetryRounds(plan: Pick<BenchPlan, "quick" | "warmupS" | "durationS">): { rounds: number; warmupS: number; durationS: number } {
  return { rounds: 2 * LEGS.length, warmupS: plan.warmupS, durationS: Math.max(2, Math.round(plan.durationS / 4)) };
}

/** Round i measures off then on when even, on then off when odd (ABBA), so neither mode always goes second. */
export function roundOrder(i: number): readonly ["off", "on"] | readonly ["on", "off"] {
  return i % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const);
}

/**
 * The order the two gateways are started in, per leg: off first, then on
 * first, twice. Identical gateways started one after another do not measure
 * alike, and not always in the same direction, and a process's own speed is
 * part of its figure whatever its telemetry; so the rounds are spread over
 * four pairs of processes, not two, and each start order is used twice.
 */
export const LEGS = [
  ["off", "on"],
  ["on", "off"],
  ["off", "on"],
  ["on", "off"],
] as const;

export async function telemetryPhase(t: TelemetryTarget, plan: BenchPlan, cleanup: Cleanup, log: (line: string) => void): Promise<TelemetryRun> {
  const receiver = startOtlpReceiver();
  cleanup.defer("OTLP receiver", () => receiver.stop());
  const { rounds, warmupS, durationS } = telemetryRounds(plan);
  const modes = {
    off: { LOG_LEVEL: "warn" },
    on: { LOG_LEVEL: "info", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER_ARG: String(TRACE_SAMPLE_RATIO) },
  } as const;
  const runs: Record<"off" | "on", HttpRun[]> = { off: [], on: [] };
  let logLinesOn = 0;
  let acceptedOn = 0;
  let round = 0;
  for (const [leg, startOrder] of LEGS.entries()) {
    // Both gateways run for the whole leg, warmed once; the load alternates between them.
    const started: Partial<Record<"off" | "on", Gateway>> = {};
    for (const mode of startOrder) {
      const gw = await startGateway({ ...t.env, ...modes[mode] });
      started[mode] = gw;
      cleanup.defer(`telemetry gateway (${mode}, leg ${leg + 1})`, () => stopGateway(gw));
    }
    const gateways = started as Record<"off" | "on", Gateway>;
    try {
      for (const mode of startOrder) {
        log(`telemetry leg ${leg + 1}/${LEGS.length} (${startOrder[0]} started first) ${mode}: warm-up ${warmupS} s`);
        await runAutocannon({ ...singleLoad(gateways[mode].url, t.apiKey, plan.connections), duration: warmupS });
      }
      for (const end = Math.round(((leg + 1) * rounds) / LEGS.length); round < end; round++) {
        for (const mode of roundOrder(round)) {
          log(`telemetry ${mode} (round ${round + 1}/${rounds}): ${plan.connections} connections, 1 s warm-up + ${durationS} s`);
          const gw = gateways[mode];
          await purgeStream(t.nc, t.stream);
          const linesBefore = gw.lines();
          const run = await measureHttp(
            { name: `herald telemetry ${mode}`, pid: gw.proc.pid, stream: { nc: t.nc, name: t.stream } },
            singleLoad(gw.url, t.apiKey, plan.connections),
            1,
            durationS,
          );
          runs[mode].push(run);
          if (mode === "on") {
            // Lines still in the gateway's 100 ms buffer are counted in the next round, or at the end.
            logLinesOn += gw.lines() - linesBefore;
            acceptedOn += run.stream?.answered2xx ?? 0;
          }
        }
      }
    } finally {
      const linesBefore = gateways.on.lines();
      await Promise.all([stopGateway(gateways.off), stopGateway(gateways.on)]);
      logLinesOn += gateways.on.lines() - linesBefore;
    }
  }
  const { off, on } = runs;
  await purgeStream(t.nc, t.stream);
  const offRps = mean(off.map((r) => r.rps));
  const onRps = mean(on.map((r) => r.rps));
  return {
    sampleRatio: TRACE_SAMPLE_RATIO,
    off,
    on,
    offRps,
    onRps,
    offP99: Math.max(...off.map((r) => r.p99)),
    onP99: Math.max(...on.map((r) => r.p99)),
    overheadPct: offRps > 0 ? ((offRps - onRps) / offRps) * 100 : 0,
    spans: receiver.spans.length,
    tracesSampled: receiver.traceCount(),
    logLinesOn,
    acceptedOn,
  };
}
