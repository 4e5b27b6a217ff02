// The box's ceilings, measured in the same run: bare Bun.serve under the same
// load generator and request (HTTP with nothing behind it), and a JetStream
// publish loop with a window of in-flight publishes (the broker with nothing
// in front of it), each in a process of its own.
import type { NatsConnection } from "@nats-io/transport-node";
import type { BenchPlan } from "../args.ts";
import type { Cleanup } from "../lib/cleanup.ts";
import { waitForQuiet } from "../lib/machine.ts";
import { freePort, startServer } from "../lib/process.ts";
import { benchNamespace, deleteNamespaceStreams } from "../lib/stream.ts";
import type { HttpRun, JetStreamCeiling } from "../types.ts";
import { measureHttp, singleLoad } from "./http-load.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

export async function bunServePhase(plan: BenchPlan, cleanup: Cleanup): Promise<HttpRun> {
  const server = await startServer({ cmd: [process.execPath, "bench/limits/bun-serve.ts"], env: {}, port: await freePort(), cwd: ROOT });
  cleanup.defer("bun-serve process", () => server.stop());
  try {
    return await measureHttp({ name: "bun-serve", pid: server.pid }, singleLoad(server.url, "unused-key", plan.connections), plan.warmupS, plan.durationS);
  } finally {
    await server.stop();
  }
}

/** Runs bench/limits/jetstream-publish.ts (a namespace of its own, deleted after) and reads its RESULT line. */
export async function jetstreamPhase(plan: BenchPlan, natsUrl: string, nc: NatsConnection, cleanup: Cleanup): Promise<JetStreamCeiling & { quiet: boolean }> {
  const quiet = await waitForQuiet();
  // Named here so an interrupted run still deletes it (the child's own finally does not run on SIGINT).
  const namespace = benchNamespace("bjs");
  cleanup.defer("jetstream ceiling streams", () => deleteNamespaceStreams(nc, namespace));
  const args = [
    "--namespace",
    namespace,
    "--window",
    String(plan.jetstreamWindow),
    "--seconds",
    String(plan.durationS),
    "--serial-seconds",
    plan.quick ? "2" : "3",
    "--nats",
    natsUrl,
  ];
  const proc = Bun.spawn([process.execPath, "bench/limits/jetstream-publish.ts", ...args], { cwd: ROOT, stdout: "pipe", stderr: "inherit" });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  const line = /^RESULT (.+)$/m.exec(out)?.[1];
  if (code !== 0 || line === undefined) throw new Error(`jetstream-publish exited ${code}: ${out.slice(-400)}`);
  const parsed = JSON.parse(line) as { jetstream_publish_rps: number; jetstream_serial_rps: number };
  return { window: plan.jetstreamWindow, rps: parsed.jetstream_publish_rps, serialRps: parsed.jetstream_serial_rps, quiet };
}
