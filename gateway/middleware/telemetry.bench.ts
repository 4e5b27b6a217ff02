// In-process cost of the HTTP telemetry middleware on a minimal Hono app
// (app.fetch, no sockets): bare vs metrics vs metrics + tracing at 10% with the
// OTLP/HTTP exporter sending to a loopback receiver in this same process.
// Run: flock -x /tmp/herald-cpu.lock bun gateway/middleware/telemetry.bench.ts
import { Hono } from "hono";
import { httpTelemetry } from "./telemetry.ts";
import { createMetrics } from "../../lib/telemetry/metrics.ts";
import { startOtlpReceiver } from "../../test/support/otlp-receiver.ts";
import { startTracing } from "../../lib/telemetry/tracing.ts";

const N = Number(process.argv[2] ?? 200_000);
const body = JSON.stringify({ userId: "u-1", channel: "in_app", payload: { title: "t", body: "b" } });

function app(use?: Parameters<typeof httpTelemetry>[0]): Hono {
  const a = new Hono();
  if (use) a.use(httpTelemetry(use));
  a.post("/v1/notifications", async (c) => c.json({ id: "n", status: "accepted", received: (await c.req.json<{ userId: string }>()).userId }, 202));
  return a;
}

async function run(label: string, a: Hono): Promise<number> {
  const req = () => a.fetch(new Request("http://h/v1/notifications", { method: "POST", body, headers: { "content-type": "application/json" } }));
  for (let i = 0; i < 20_000; i++) await req();
  const started = performance.now();
  for (let i = 0; i < N; i++) await req();
  const us = ((performance.now() - started) * 1000) / N;
  console.log(`${label.padEnd(44)} ${us.toFixed(2)} µs/request  (${Math.round(1e6 / us)} req/s, one core, in-process)`);
  return us;
}

const bare = await run("no telemetry", app());
const metrics = createMetrics();
const withMetrics = await run("metrics", app({ metrics }));
const receiver = startOtlpReceiver();
const tracing = startTracing({ serviceName: "bench", endpoint: receiver.url, sampleRatio: 0.1 });
const withBoth = await run("metrics + tracing (10% sampled, OTLP export)", app({ metrics, tracer: tracing.tracer }));
await tracing.shutdown();
await receiver.stop();
console.log(
  `overhead: metrics +${(((withMetrics - bare) / bare) * 100).toFixed(1)}%, metrics + tracing +${(((withBoth - bare) / bare) * 100).toFixed(1)}%; spans received: ${receiver.spans.length}`,
);
