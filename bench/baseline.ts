// A first baseline (issue 2): accepted/s and latency of POST /v1/notifications
// at 50 connections (autocannon in its own process), then end-to-end sent/s
// for a burst accepted through the batch route. Gateway and processor run as
// separate real processes on their own namespace and database.
// Usage: bun bench/baseline.ts [--duration 15] [--connections 50] [--e2e 20000]
import { count, eq } from "drizzle-orm";
import { parseArgs } from "node:util";
import { notifications } from "../schemas/tables.ts";
import { runAutocannon } from "./lib/autocannon.ts";
import { startHerald } from "../test/support/herald-process.ts";
import { createStack, TENANT_KEY } from "../test/support/stack.ts";

const { values } = parseArgs({
  options: { duration: { type: "string", default: "15" }, connections: { type: "string", default: "50" }, e2e: { type: "string", default: "20000" } },
});
const duration = Number(values.duration);
const connections = Number(values.connections);
const e2eCount = Number(values.e2e);

const body = JSON.stringify({ userId: "bench-user", channel: "in_app", payload: { title: "Bench", body: "Hello" } });
const load = (url: string, seconds: number) =>
  runAutocannon({
    url: `${url}/v1/notifications`,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${TENANT_KEY}`, "content-type": "application/json" },
    body,
  });

const stack = await createStack({ HERALD_WEBHOOK_ALLOW_PRIVATE: "0" });
const processor = await startHerald("processor", stack.env);
const gateway = await startHerald("gateway", stack.env);
try {
  await load(gateway.url, 3); // warm-up
  const run = await load(gateway.url, duration);
  const acceptedPerS = run.rps;
  console.log(`POST /v1/notifications, ${connections} connections, ${duration} s (autocannon in its own Node process, load generator used ${run.cpuSeconds.toFixed(1)} s CPU):`);
  console.log(`  accepted/s ${acceptedPerS.toFixed(0)}  p50 ${run.p50} ms  p99 ${run.p99} ms  non-2xx ${run.non2xx}  errors ${run.errors}`);

  // Let the processor drain what the load test accepted before timing end to end.
  const sentNow = async () => (await stack.db.db.select({ n: count() }).from(notifications).where(eq(notifications.status, "sent")))[0]?.n ?? 0;
  let before = await sentNow();
  for (let stable = 0; stable < 3; ) {
    await Bun.sleep(1000);
    const n = await sentNow();
    stable = n === before ? stable + 1 : 0;
    before = n;
  }

  const started = performance.now();
  const batches = Math.ceil(e2eCount / 500);
  const item = JSON.parse(body) as Record<string, unknown>;
  for (let b = 0; b < batches; b += 4) {
    await Promise.all(
      Array.from({ length: Math.min(4, batches - b) }, () =>
        fetch(`${gateway.url}/v1/notifications/batch`, {
          method: "POST",
          headers: { authorization: `Bearer ${TENANT_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ notifications: Array(500).fill(item) }),
        }).then((r) => {
          if (r.status !== 202) throw new Error(`batch answered ${r.status}`);
        }),
      ),
    );
  }
  const acceptedMs = performance.now() - started;
  const target = before + batches * 500;
  while ((await sentNow()) < target) await Bun.sleep(100);
  const totalMs = performance.now() - started;
  console.log(`end to end, ${batches * 500} in_app notifications (sink provider) accepted via the batch route:`);
  console.log(`  accepted in ${(acceptedMs / 1000).toFixed(2)} s, all sent after ${(totalMs / 1000).toFixed(2)} s → ${((batches * 500) / (totalMs / 1000)).toFixed(0)} sent/s`);
  console.log(`RESULT ${JSON.stringify({ gateway_rps: Math.round(acceptedPerS), gateway_p99_ms: run.p99, e2e_sent_per_s: Math.round((batches * 500) / (totalMs / 1000)) })}`);
} finally {
  await gateway.signal("SIGTERM");
  await processor.signal("SIGTERM");
  await stack.cleanup();
}
