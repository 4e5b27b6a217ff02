// Cost of one recorder call on the gateway hot path, vs prom-client's own
// `labels(...)` per call. Run: flock -x /tmp/herald-cpu.lock bun lib/telemetry/recorder.bench.ts
import { createMetrics } from "./metrics.ts";

const N = 1_000_000;
const m = createMetrics({ processMetrics: false });
const counter = m.metric("httpRequests");
const histogram = m.metric("httpRequestDuration");

function time(label: string, fn: (i: number) => void): void {
  for (let i = 0; i < 50_000; i++) fn(i); // warm up the JIT
  const started = performance.now();
  for (let i = 0; i < N; i++) fn(i);
  const ns = ((performance.now() - started) * 1e6) / N;
  console.log(`${label.padEnd(58)} ${ns.toFixed(0)} ns/call`);
}

time("recorder.httpRequest (counter + histogram, cached children)", (i) => m.httpRequest("/v1/notifications", "POST", 202, (i % 100) / 1000));
time("prom-client labels(...).inc + labels(...).observe per call", (i) => {
  counter.labels("/v1/notifications", "POST", "2xx").inc();
  histogram.labels("/v1/notifications", "POST", "2xx").observe((i % 100) / 1000);
});
time("prom-client inc({..}) + observe({..}, v) per call", (i) => {
  counter.inc({ route: "/v1/notifications", method: "POST", status_class: "2xx" });
  histogram.observe({ route: "/v1/notifications", method: "POST", status_class: "2xx" }, (i % 100) / 1000);
});
time("recorder.accepted (counter, cached child)", () => m.accepted("email", "normal"));
time("recorder.httpInFlight +1/-1 (plain number)", (i) => m.httpInFlight(i % 2 === 0 ? 1 : -1));
