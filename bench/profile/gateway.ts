// A focused, repeatable probe of the gateway's ingest path: starts
// `herald gateway` alone (no processor, so only ingest is measured) on its own
// namespace, database and Redis prefix, then drives it with autocannon in its
// own Node process and reports where the 2 cores went.
//
// Phases (each: warm-up, then the measured run):
//   key    POST /v1/notifications with a unique `Idempotency-Key` per request
//   nokey  the same without the header (no Redis on the path)
//   batch  POST /v1/notifications/batch with N-item batches (items/s reported)
//
// Usage: flock -x /tmp/herald-cpu.lock bun bench/profile/gateway.ts
//   [--duration 10] [--warmup 3] [--connections 64] [--phases key,nokey,batch]
//   [--channel in_app|email] [--batch-size 500] [--batch-connections 8]
//   [--env KEY=VALUE]... (extra gateway env, e.g. BUN_OPTIONS=--smol or LOG_LEVEL=warn)
//   [--prof DIR] (gateway writes a Markdown CPU profile into DIR on exit)
//   [--managed-key] (authenticate with a managed hk_live_ key from Postgres instead of a bootstrap key)
import { connect } from "@nats-io/transport-node";
import { parseArgs } from "node:util";
import { streamMessages } from "../lib/stream.ts";
import { idleFraction } from "../lib/machine.ts";
import { runAutocannon, type LoadOptions, type LoadResult } from "../lib/autocannon.ts";
import { startHerald } from "../../test/support/herald-process.ts";
import { SERVICES } from "../../test/support/services.ts";
import { TENANT_KEY } from "../../test/support/constants.ts";
import { createStack } from "../../test/support/stack.ts";
import { topology } from "../../schemas/subjects.ts";
import { createApiKey } from "../../lib/db/api-keys.ts";
import { cpuSplit, pidsOf, rssOf, snapshot } from "./cpu.ts";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    connections: { type: "string", default: "64" },
    phases: { type: "string", default: "key,nokey,batch" },
    channel: { type: "string", default: "in_app" },
    "batch-size": { type: "string", default: "500" },
    "batch-connections": { type: "string", default: "8" },
    env: { type: "string", multiple: true, default: [] },
    prof: { type: "string" },
    rate: { type: "string" },
    "managed-key": { type: "boolean", default: false },
  },
});
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const connections = Number(values.connections);
const batchSize = Number(values["batch-size"]);
const batchConnections = Number(values["batch-connections"]);
/** A fixed request rate (autocannon's overallRate) for the single-POST phases: equal load, so gateway µs per notification compare across configurations. */
const rate = values.rate === undefined ? undefined : Number(values.rate);

const ITEMS: Record<string, unknown> = {
  in_app: { userId: "bench-user", channel: "in_app", payload: { title: "Bench", body: "Hello from the probe" } },
  email: { userId: "bench-user", channel: "email", payload: { to: "bench@example.com", subject: "Bench", body: "Hello from the probe" } },
};
const item = ITEMS[values.channel];
if (item === undefined) throw new Error(`--channel must be one of ${Object.keys(ITEMS).join(", ")}`);

const extraEnv = Object.fromEntries(
  values.env.map((kv) => {
    const at = kv.indexOf("=");
    if (at <= 0) throw new Error(`--env expects KEY=VALUE, got ${kv}`);
    return [kv.slice(0, at), kv.slice(at + 1)];
  }),
);
if (values.prof) extraEnv.BUN_OPTIONS = `--cpu-prof-md --cpu-prof-dir=${values.prof}`;

interface Phase {
  name: string;
  /** Notifications per 2xx response. */
  perRequest: number;
  load: Omit<LoadOptions, "url" | "duration">;
}

const stack = await createStack({ LOG_LEVEL: "info", ...extraEnv });
// A managed key is looked up in Postgres once, then served from the gateway's cache like a bootstrap key.
const apiKey = values["managed-key"]
  ? (await createApiKey(stack.db.db, { tenantId: "acme", scopes: ["send", "read"] }, { actor: "bench", clientAddress: null })).key
  : TENANT_KEY;
const auth = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
const PHASES: Record<string, Phase> = {
  key: {
    name: `POST /v1/notifications + Idempotency-Key (${values.channel})`,
    perRequest: 1,
    load: {
      connections,
      headers: { ...auth, "idempotency-key": "[<id>]" },
      body: JSON.stringify(item),
      idReplacement: true,
      ...(rate ? { overallRate: rate } : {}),
    },
  },
  nokey: {
    name: `POST /v1/notifications, no key (${values.channel})`,
    perRequest: 1,
    load: { connections, headers: auth, body: JSON.stringify(item), ...(rate ? { overallRate: rate } : {}) },
  },
  batch: {
    name: `POST /v1/notifications/batch × ${batchSize} (${values.channel})`,
    perRequest: batchSize,
    load: { connections: batchConnections, headers: auth, body: JSON.stringify({ notifications: Array(batchSize).fill(item) }) },
  },
};
const selected = values.phases.split(",").map((p) => {
  const phase = PHASES[p.trim()];
  if (!phase) throw new Error(`unknown phase ${p}; known: ${Object.keys(PHASES).join(", ")}`);
  return [p.trim(), phase] as const;
});

const fmt = (n: number, digits = 0) => n.toFixed(digits);

/**
 * Other sessions share the box (compilers, test runs): give them up to 30 s to
 * finish before a phase, so a figure is of the gateway and not of them. The
 * per-process CPU split still names whoever was busy during the phase.
 */
async function waitForQuiet(): Promise<void> {
  for (let i = 0; i < 30; i++) {
    const idle = await idleFraction(1_000);
    if (idle >= 0.85) return;
    if (i === 0) console.log(`  (waiting for the box to go quiet: ${fmt(idle * 100)}% idle)`);
  }
  console.warn("  warning: the box stayed busy; figures will be low and noisy");
}

const gateway = await startHerald("gateway", stack.env);
const nc = await connect({ servers: SERVICES.nats });
const stream = topology(stack.namespace).streams.work;
const roots = {
  gateway: [gateway.proc.pid],
  // This harness; autocannon's own process has exited by the second snapshot and is counted from its rusage.
  probe: [process.pid],
  "nats-server": await pidsOf("nats-server"),
  "redis-server": await pidsOf("redis-server"),
};
const result: Record<string, number> = {};
try {
  console.log(
    `herald gateway pid ${gateway.proc.pid} on ${gateway.url}; ${navigator.hardwareConcurrency} cores; env ${JSON.stringify(extraEnv)}; ${values["managed-key"] ? "managed" : "bootstrap"} key`,
  );
  for (const [key, phase] of selected) {
    const url = `${gateway.url}${key === "batch" ? "/v1/notifications/batch" : "/v1/notifications"}`;
    await waitForQuiet();
    await runAutocannon({ ...phase.load, url, duration: warmup });
    const messagesBefore = await streamMessages(nc, stream);
    const before = await snapshot();
    const run: LoadResult = await runAutocannon({ ...phase.load, url, duration });
    const split = await cpuSplit(before, await snapshot(), roots);
    const stored = (await streamMessages(nc, stream)) - messagesBefore;
    const mem = await rssOf(gateway.proc.pid);
    const cores: Record<string, number> = { ...split.groups, loadgen: run.cpuSeconds / run.durationSeconds };
    const perS = run.rps * phase.perRequest;
    const accounted = Object.values(cores).reduce((a, b) => a + b, 0);
    console.log(`\n${phase.name}, ${phase.load.connections} connections, ${duration} s`);
    console.log(
      `  ${fmt(perS)} notifications/s (${fmt(run.rps)} 2xx/s)  p50 ${run.p50} ms  p99 ${run.p99} ms  p99.9 ${run.p999} ms  non-2xx ${run.non2xx}  errors ${run.errors}`,
    );
    console.log(`  stream grew by ${stored} (2xx × items = ${run.total2xx * phase.perRequest}; acks that land after autocannon stops are not counted as 2xx)`);
    const parts = Object.entries(cores).map(([name, c]) => `${name} ${fmt(c, 2)}`);
    const noise = split.others.map((o) => `${o.comm}[${o.pid}] ${fmt(o.cores, 2)}`).join(", ");
    console.log(
      `  cores: ${parts.join("  ")}  kernel/unattributed ${fmt(split.machine - accounted, 2)}  machine ${fmt(split.machine, 2)} of ${navigator.hardwareConcurrency}`,
    );
    if (noise) console.log(`  other processes: ${noise}`);
    const cpuPerItem = ((cores.gateway ?? 0) / Math.max(1, perS)) * 1e6;
    console.log(
      `  gateway CPU per notification ${fmt(cpuPerItem, 1)} µs; RSS ${fmt(mem.rssMb)} MB (peak ${fmt(mem.peakMb)} MB); ${gateway.logs.length} JSON log lines so far`,
    );
    Object.assign(result, {
      [`${key}_per_s`]: Math.round(perS),
      [`${key}_p50_ms`]: run.p50,
      [`${key}_p99_ms`]: run.p99,
      [`${key}_p999_ms`]: run.p999,
      [`${key}_non2xx`]: run.non2xx,
      [`${key}_gateway_cores`]: Number(fmt(cores.gateway ?? 0, 2)),
      [`${key}_loadgen_cores`]: Number(fmt(cores.loadgen ?? 0, 2)),
      [`${key}_nats_cores`]: Number(fmt(cores["nats-server"] ?? 0, 2)),
      [`${key}_machine_cores`]: Number(fmt(split.machine, 2)),
      [`${key}_gateway_us_per_item`]: Number(fmt(cpuPerItem, 1)),
    });
    result.gateway_peak_rss_mb = Math.round(mem.peakMb);
  }
  console.log(`\nRESULT ${JSON.stringify(result)}`);
} finally {
  await nc.close();
  await gateway.signal("SIGTERM");
  await stack.cleanup();
}
