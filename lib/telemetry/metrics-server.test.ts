import { afterAll, expect, test } from "bun:test";
import { METRIC_NAMES } from "../../schemas/metrics.ts";
import { createMetrics } from "./metrics.ts";
import { serveMetrics, type MetricsServer } from "./metrics-server.ts";

const servers: MetricsServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

function start(...args: Parameters<typeof serveMetrics>): string {
  const s = serveMetrics(args[0], { hostname: "127.0.0.1", port: 0, ...args[1] });
  servers.push(s);
  return `http://127.0.0.1:${s.port}`;
}

test("a scrape of /metrics answers every catalogue metric in the Prometheus text format", async () => {
  const metrics = createMetrics();
  metrics.sent("webhook", "high", "webhook");
  const url = start(metrics);
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  const text = await res.text();
  for (const name of METRIC_NAMES) expect(text).toContain(`# TYPE ${name} `);
  expect(text).toContain('herald_notifications_sent_total{channel="webhook",lane="high",provider="webhook"} 1');
  expect(text).toContain("process_resident_memory_bytes");
});

test("/health/live answers while /health/ready reports each check, the details, and 503 when one fails", async () => {
  let natsUp = true;
  const url = start(createMetrics({ processMetrics: false }), {
    readiness: [
      { name: "nats", check: async () => void (natsUp || (await Promise.reject(new Error("connection closed")))) },
      { name: "postgres", check: async () => undefined },
    ],
    details: async () => ({ lanes: { urgent: { pending: 0, ackPending: 0 } } }),
  });
  expect(await (await fetch(`${url}/health/live`)).json()).toEqual({ status: "ok" });

  const ok = await fetch(`${url}/health/ready`);
  expect(ok.status).toBe(200);
  const okBody = (await ok.json()) as { status: string; checks: Record<string, { ok: boolean }>; lanes: unknown };
  expect(okBody.status).toBe("ok");
  expect(okBody.checks.nats?.ok).toBe(true);
  expect(okBody.lanes).toEqual({ urgent: { pending: 0, ackPending: 0 } });

  natsUp = false;
  const down = await fetch(`${url}/health/ready`);
  expect(down.status).toBe(503);
  const downBody = (await down.json()) as { status: string; checks: Record<string, { ok: boolean; error?: string }> };
  expect(downBody.status).toBe("unavailable");
  expect(downBody.checks.nats).toMatchObject({ ok: false, error: "connection closed" });
  expect(downBody.checks.postgres?.ok).toBe(true);
});

test("other paths are 404", async () => {
  const url = start(createMetrics({ processMetrics: false }));
  expect((await fetch(`${url}/v1/notifications`)).status).toBe(404);
});
