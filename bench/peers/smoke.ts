// Smoke run of the peers and the HTTP limit: each on a free port against a
// throwaway namespace and stream, contract-checked, then 5 s of autocannon at
// 64 connections. Proves the peers answer 202 only with real JetStream acks
// (the stream must hold at least every 2xx) before the full bench relies on them.
// Usage: bun bench/peers/smoke.ts [--seconds 5] [--connections 64] [--keyed]
//   --keyed sends a fresh Idempotency-Key with every request, so the Redis SET NX path is under load too.
import { connect } from "@nats-io/transport-node";
import { parseArgs } from "node:util";
import { runAutocannon, type LoadResult } from "../lib/autocannon.ts";
import { checkQuiet } from "../lib/machine.ts";
import { freePort, startServer, type ServerSample } from "../lib/process.ts";
import { benchNamespace, createWorkStream, deleteNamespaceStreams, streamMessages } from "../lib/stream.ts";
import { deleteRedisPrefix } from "../../test/support/services.ts";
import { buildPeerSchemas } from "./build.ts";
import { BENCH_BODY, checkContract } from "./checks.ts";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "5" }, connections: { type: "string", default: "64" }, keyed: { type: "boolean", default: false } },
});
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const API_KEY = "key-smoke-0123456789";

const SYSTEMS = [
  { name: "express", cmd: ["node", "bench/peers/express.mjs"], publishes: true },
  { name: "fastify", cmd: ["node", "bench/peers/fastify.mjs"], publishes: true },
  { name: "bun-serve", cmd: [process.execPath, "bench/limits/bun-serve.ts"], publishes: false },
] as const;

const cwd = new URL("../../", import.meta.url).pathname;
await buildPeerSchemas();
const namespace = benchNamespace("bsmoke");
const nc = await connect({ servers: NATS_URL });
const rows: { name: string; load: LoadResult; server: ServerSample }[] = [];
let published = 0;
try {
  const stream = await createWorkStream(nc, namespace);
  const env = { NODE_ENV: "production", NATS_URL, REDIS_URL, HERALD_NAMESPACE: namespace, HERALD_API_KEYS: `acme:${API_KEY}` };
  for (const system of SYSTEMS) {
    await checkQuiet();
    const server = await startServer({ cmd: [...system.cmd], env, port: await freePort(), cwd });
    try {
      if (system.publishes) published += await checkContract(server.url, API_KEY);
      const headers: Record<string, string> = { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" };
      if (values.keyed) headers["idempotency-key"] = "smoke-[<id>]";
      const load = { url: `${server.url}/v1/notifications`, connections: Number(values.connections), headers, body: BENCH_BODY, idReplacement: values.keyed };
      const warm = await runAutocannon({ ...load, duration: 1 });
      const run = await runAutocannon({ ...load, duration: Number(values.seconds) });
      if (system.publishes) published += warm.total2xx + run.total2xx;
      rows.push({ name: system.name, load: run, server: await server.sample() });
    } finally {
      await server.stop();
    }
  }
  const held = await streamMessages(nc, stream);
  console.log(
    `stream ${stream}: ${held} messages for ${published} 2xx answers from the peers ${held >= published ? "(every 202 was acked)" : "(MISSING ACKS)"}`,
  );
  if (held < published) process.exitCode = 1;
} finally {
  await deleteNamespaceStreams(nc, namespace);
  await nc.close();
  await deleteRedisPrefix(`${namespace}:`, REDIS_URL);
}

console.table(
  rows.map(({ name, load, server }) => ({
    system: name,
    "req/s": Math.round(load.rps),
    "p50 ms": load.p50,
    "p99 ms": load.p99,
    "p99.9 ms": load.p999,
    non2xx: load.non2xx,
    errors: load.errors,
    "loadgen CPU s": Number(load.cpuSeconds.toFixed(2)),
    "server CPU s": Number(server.cpuSeconds.toFixed(2)),
    "peak RSS MB": Math.round(server.peakRssMb),
  })),
);
if (rows.some((r) => r.load.non2xx > 0 || r.load.errors > 0)) process.exitCode = 1;
