// Herald's ingest phases: the gateway alone (no processor running, so the
// processor takes no CPU from the system under test), its work stream purged
// before each phase so every phase starts from an empty stream, as the peers do.
import type { NatsConnection } from "@nats-io/transport-node";
import type { BenchPlan } from "../args.ts";
import { runAutocannon } from "../lib/autocannon.ts";
import { waitForQuiet } from "../lib/machine.ts";
import { purgeStream, streamMessages } from "../lib/stream.ts";
import { BENCH_BODY } from "../peers/checks.ts";
import type { BatchRun, FixedRateRun, HttpRun } from "../types.ts";
import { measureHttp, measureLoad, singleLoad } from "./http-load.ts";

export interface HeraldGateway {
  url: string;
  pid: number;
  apiKey: string;
  nc: NatsConnection;
  stream: string;
}

/** Maximum throughput of POST /v1/notifications at `plan.connections`. */
export async function gatewayPhase(gw: HeraldGateway, plan: BenchPlan): Promise<HttpRun> {
  await purgeStream(gw.nc, gw.stream);
  const load = singleLoad(gw.url, gw.apiKey, plan.connections);
  return measureHttp({ name: "herald", pid: gw.pid, stream: { nc: gw.nc, name: gw.stream } }, load, plan.warmupS, plan.durationS);
}

/** The same route at a fixed 50% of the measured maximum: latency when not saturated. */
export async function fixedRatePhase(gw: HeraldGateway, plan: BenchPlan, maxRps: number): Promise<FixedRateRun> {
  await purgeStream(gw.nc, gw.stream);
  const quiet = await waitForQuiet();
  const targetRps = Math.round(maxRps / 2);
  const run = await runAutocannon({ ...singleLoad(gw.url, gw.apiKey, plan.connections), duration: plan.durationS, overallRate: targetRps });
  return {
    targetRps,
    achievedRps: run.rps,
    p50: run.p50,
    p99: run.p99,
    p999: run.p999,
    non2xx: run.non2xx,
    errors: run.errors,
    loadgenCores: run.cpuSeconds / run.durationSeconds,
    quiet,
  };
}

/** POST /v1/notifications/batch with `plan.batchSize`-item batches, each under its own Idempotency-Key. */
export async function batchPhase(gw: HeraldGateway, plan: BenchPlan): Promise<BatchRun> {
  await purgeStream(gw.nc, gw.stream);
  const item = JSON.parse(BENCH_BODY) as unknown;
  const load = {
    ...singleLoad(gw.url, gw.apiKey, plan.batchConnections),
    url: `${gw.url}/v1/notifications/batch`,
    body: JSON.stringify({ notifications: Array.from({ length: plan.batchSize }, () => item) }),
  };
  const before = await streamMessages(gw.nc, gw.stream);
  const m = await measureLoad(gw.pid, load, plan.warmupS, plan.durationS);
  const held = (await streamMessages(gw.nc, gw.stream)) - before;
  // A 207 (some items refused) is still 2xx to autocannon: the stream count is what tells.
  const expected = (m.warm.total2xx + m.run.total2xx) * plan.batchSize;
  return {
    batchSize: plan.batchSize,
    connections: plan.batchConnections,
    itemsPerS: m.run.rps * plan.batchSize,
    batchesPerS: m.run.rps,
    p50: m.run.p50,
    p99: m.run.p99,
    non2xx: m.run.non2xx,
    errors: m.run.errors,
    loadgenCores: m.run.cpuSeconds / m.run.durationSeconds,
    serverCores: m.serverCores,
    stream: { expected, held, ok: held >= expected },
    quiet: m.quiet,
  };
}
