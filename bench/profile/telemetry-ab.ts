// What each piece of telemetry costs the gateway per request, measured side by
// side: one `herald gateway` per variant, all started on one namespace and
// warmed once, then the same fixed-rate load (keyed single POST) alternates
// between them round after round, and each round reads the gateway's own CPU
// time from /proc. At a fixed rate every gateway does the same work, so CPU
// per request compares across variants even when the box drifts.
//
//   off  LOG_LEVEL=warn, no tracing           log  LOG_LEVEL=info (a line per request)
//   t0   tracing on, ratio 0 (nothing kept)   t10  tracing on, ratio 0.1
//   on   log + t10 (the benchmark's "on")
// Extra variants: --variant name:KEY=VALUE,KEY=VALUE (on top of off's env);
// `{receiver}` in a value stands for the bench's OTLP receiver URL, and the key
// CLI is not env but the herald.ts to run, e.g. another commit's checkout
// (`git worktree add /tmp/before HEAD~1`, node_modules linked in) for a
// before/after of a code change in one run.
// Gateways start in the order given, and identical ones measure apart by their
// start order, in either direction (see LEGS in
// bench/phases/telemetry.ts): run a comparison twice, the order swapped
// (`--variants ""` and the variants as `--variant`s, off last), and take both.
// Spans go to the bench's OTLP receiver (bodies kept, not parsed); the
// gateways' stdout is drained by a newline counter (bench/phases/telemetry.ts).
//
// Usage: flock -x /tmp/herald-cpu.lock bun bench/profile/telemetry-ab.ts
//   [--rate 2000] [--seconds 4] [--rounds 6] [--variants off,log,t0,t10,on] [--variant name:K=V,...]
//   [--warmup 3] (seconds of load per gateway, one after another, before the first round)
//   [--saturate] (no fixed rate: 64 connections as fast as each gateway goes, and
//   the figure is req/s, as in the bench's telemetry phase; what the variant costs
//   the whole box — its log reader and span receiver included — shows here)
import { parseArgs } from "node:util";
import { startOtlpReceiver } from "../../test/support/otlp-receiver.ts";
import { TENANT_KEY } from "../../test/support/constants.ts";
import { createStack } from "../../test/support/stack.ts";
import { connectTestNats } from "../../test/support/services.ts";
import { topology } from "../../schemas/subjects.ts";
import { runAutocannon } from "../lib/autocannon.ts";
import { sampleTree } from "../lib/rss-monitor.ts";
import { mean, meanWithStandardError, sampleSd } from "../lib/stats.ts";
import { purgeStream } from "../lib/stream.ts";
import { singleLoad } from "../phases/http-load.ts";
import { startGateway, stopGateway, type Gateway } from "../phases/telemetry.ts";

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "2000" },
    seconds: { type: "string", default: "4" },
    rounds: { type: "string", default: "6" },
    variants: { type: "string", default: "off,log,t0,t10,on" },
    variant: { type: "string", multiple: true, default: [] },
    saturate: { type: "boolean", default: false },
    warmup: { type: "string", default: "3" },
  },
});

// The bench's receiver: it keeps each export's body and parses nothing unless asked.
const receiver = startOtlpReceiver();
const traced = (ratio: string) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER_ARG: ratio });
const BUILT_IN: Record<string, Record<string, string>> = {
  off: { LOG_LEVEL: "warn" },
  log: { LOG_LEVEL: "info" },
  t0: { LOG_LEVEL: "warn", ...traced("0") },
  t10: { LOG_LEVEL: "warn", ...traced("0.1") },
  on: { LOG_LEVEL: "info", ...traced("0.1") },
};
const variants: Record<string, Record<string, string>> = {};
const clis: Record<string, string> = {};
for (const name of values.variants.split(",").filter(Boolean)) {
  const env = BUILT_IN[name];
  if (!env) throw new Error(`unknown variant ${name}; built in: ${Object.keys(BUILT_IN).join(", ")}`);
  variants[name] = env;
}
for (const spec of values.variant) {
  const at = spec.indexOf(":");
  const name = at < 0 ? spec : spec.slice(0, at);
  const pairs = at < 0 ? "" : spec.slice(at + 1);
  if (!name) throw new Error(`--variant name:KEY=VALUE,... expected, got ${spec}`);
  const env = pairs
    .split(",")
    .filter(Boolean)
    .map((kv): [string, string] => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1).replaceAll("{receiver}", receiver.url)]);
  const cli = env.find(([key]) => key === "CLI");
  if (cli) clis[name] = cli[1];
  variants[name] = { LOG_LEVEL: "warn", ...Object.fromEntries(env.filter(([key]) => key !== "CLI")) };
}

const stack = await createStack();
const nc = await connectTestNats();
const stream = topology(stack.namespace).streams.work;
type Variant = Gateway & { name: string };
const gateways: Variant[] = [];
try {
  for (const [name, env] of Object.entries(variants)) gateways.push({ name, ...(await startGateway({ ...stack.env, ...env }, clis[name])) });
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  for (const g of gateways) await runAutocannon({ ...singleLoad(g.url, TENANT_KEY, 64), duration: Number(values.warmup) });
  const figures: Record<string, number[]> = Object.fromEntries(gateways.map((g) => [g.name, []]));
  // This process's own CPU per request: the OTLP receiver and the stdout line counter, which share the 2 cores.
  const harnessUs: Record<string, number[]> = Object.fromEntries(gateways.map((g) => [g.name, []]));
  const saturate = values.saturate;
  const unit = saturate ? "req/s" : "µs/request";
  console.log(`${gateways.length} gateways, ${saturate ? "saturating" : `${rate} req/s`} for ${seconds} s per round, ${values.rounds} rounds`);
  for (let round = 0; round < Number(values.rounds); round++) {
    // Rotate the order every round, so no variant always follows the same one.
    const order = gateways.map((_, i) => gateways[(i + round) % gateways.length] as Variant);
    const line: string[] = [];
    for (const g of order) {
      await purgeStream(nc, stream);
      const harnessBefore = process.cpuUsage();
      const before = await sampleTree(g.proc.pid);
      const run = await runAutocannon({ ...singleLoad(g.url, TENANT_KEY, 64), duration: seconds, ...(saturate ? {} : { overallRate: rate }) });
      const after = await sampleTree(g.proc.pid);
      const harness = process.cpuUsage(harnessBefore);
      harnessUs[g.name]?.push((harness.user + harness.system) / Math.max(1, run.total2xx));
      const figure = saturate ? run.rps : ((after.cpuSeconds - before.cpuSeconds) / Math.max(1, run.total2xx)) * 1e6;
      figures[g.name]?.push(figure);
      line.push(`${g.name} ${figure.toFixed(0)}`);
    }
    console.log(`round ${round + 1}: ${line.join("  ")} ${unit}`);
  }
  // Rounds drift together (the whole box speeds up and slows down), so a variant is compared with off round by round.
  const off = figures.off;
  console.log(`\nvariant   ${saturate ? "req/s" : "gateway CPU µs/request"} (mean ± sd)   minus off, paired by round (mean ± standard error)`);
  for (const [name, xs] of Object.entries(figures)) {
    let delta = "";
    if (off && name !== "off") {
      const { mean: m, standardError } = meanWithStandardError(xs.map((x, i) => x - (off[i] ?? Number.NaN)));
      delta = `${m >= 0 ? "+" : ""}${m.toFixed(1)} ± ${standardError.toFixed(1)} ${saturate ? "req/s" : "µs"} (${((m / mean(off)) * 100).toFixed(1)}%)`;
    }
    console.log(
      `${name.padEnd(9)} ${mean(xs).toFixed(1).padStart(8)} ± ${sampleSd(xs).toFixed(1).padEnd(26)} ${delta.padEnd(36)} harness ${mean(harnessUs[name] ?? []).toFixed(1)} µs/request`,
    );
  }
} finally {
  await Promise.all(gateways.map(stopGateway));
  console.log(`receiver: ${receiver.spans.length} spans in ${receiver.traceCount()} traces`);
  await receiver.stop();
  await nc.close();
  await stack.cleanup();
}
