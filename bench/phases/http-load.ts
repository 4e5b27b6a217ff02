// One single-POST load phase against one system: warm-up, then the measured
// run, with the system's CPU and memory read from /proc around it and, where
// it publishes, the stream count checked against the 2xx answers.
import type { NatsConnection } from "@nats-io/transport-node";
import { runAutocannon, type LoadOptions, type LoadResult } from "../lib/autocannon.ts";
import { waitForQuiet } from "../lib/machine.ts";
import { sampleTree } from "../lib/rss-monitor.ts";
import { streamMessages } from "../lib/stream.ts";
import { BENCH_BODY } from "../peers/checks.ts";
import type { HttpRun } from "../types.ts";

/**
 * The request every system gets: the same body, the same auth, and a fresh
 * `Idempotency-Key` per request (autocannon replaces `[<id>]`), so every one
 * of them does validation + Redis SET NX + JetStream publish awaiting the ack.
 */
export function singleLoad(baseUrl: string, apiKey: string, connections: number): Omit<LoadOptions, "duration"> {
  return {
    url: `${baseUrl}/v1/notifications`,
    connections,
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json", "idempotency-key": "bench-[<id>]" },
    body: BENCH_BODY,
    idReplacement: true,
  };
}

export interface HttpSystem {
  name: string;
  pid: number;
  /** Where its 202s must land, to prove each was acked; omit for a system that publishes nothing. */
  stream?: { nc: NatsConnection; name: string };
}

export interface MeasuredLoad {
  run: LoadResult;
  warm: LoadResult;
  serverCores: number;
  quiet: boolean;
}

/** Warm-up then the measured run; returns the raw figures and the server's average cores. */
export async function measureLoad(pid: number, load: Omit<LoadOptions, "duration">, warmupS: number, durationS: number): Promise<MeasuredLoad> {
  const quiet = await waitForQuiet();
  const warm = await runAutocannon({ ...load, duration: warmupS });
  const before = await sampleTree(pid);
  const run = await runAutocannon({ ...load, duration: durationS });
  const after = await sampleTree(pid);
  return { run, warm, quiet, serverCores: (after.cpuSeconds - before.cpuSeconds) / run.durationSeconds };
}

/** Measures one system under the shared single-POST load. */
export async function measureHttp(system: HttpSystem, load: Omit<LoadOptions, "duration">, warmupS: number, durationS: number): Promise<HttpRun> {
  const before = system.stream ? await streamMessages(system.stream.nc, system.stream.name) : 0;
  const m = await measureLoad(system.pid, load, warmupS, durationS);
  let stream: HttpRun["stream"] = null;
  if (system.stream) {
    const held = (await streamMessages(system.stream.nc, system.stream.name)) - before;
    const answered2xx = m.warm.total2xx + m.run.total2xx;
    // Every 202 must be in the stream; a request that timed out client-side may still have landed, so more is fine.
    stream = { answered2xx, held, ok: held >= answered2xx };
  }
  const mem = await sampleTree(system.pid);
  return {
    name: system.name,
    rps: m.run.rps,
    p50: m.run.p50,
    p99: m.run.p99,
    p999: m.run.p999,
    non2xx: m.run.non2xx,
    errors: m.run.errors,
    loadgenCores: m.run.cpuSeconds / m.run.durationSeconds,
    serverCores: m.serverCores,
    peakRssMb: mem.hwmMb,
    stream,
    quiet: m.quiet,
  };
}
