import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, waitForPort } from "../lib/probe.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { eventually } from "./support/eventually.ts";
import { createStack, post, type Stack } from "./support/stack.ts";

// A real Prometheus loads the committed alert rules and a probe rule, and the probe fires on a counter Herald moved.
const PROMETHEUS = Bun.which("prometheus");
if (!PROMETHEUS) console.log("skipped test/observability-prometheus.test.ts: no `prometheus` binary on PATH (Debian package prometheus)");

const ALERTS = new URL("../deploy/prometheus/alerts.yml", import.meta.url).pathname;
const PROBE_RULES = `groups:
  - name: herald-probe
    rules:
      - alert: HeraldProbeAccepted
        expr: sum(herald_notifications_accepted_total{job="herald-gateway"}) > 0
        labels:
          severity: test
`;

let stack: Stack;
let herald: HeraldProcess;
let prometheus: Subprocess;
let dir: string;
let api: string;

interface RuleGroup {
  name: string;
  file: string;
  rules: Array<{ name: string; health: string; lastError?: string; lastEvaluation: string }>;
}

async function query<T>(path: string): Promise<T> {
  const res = await fetch(`${api}${path}`);
  const body = (await res.json()) as { status: string; data: T };
  expect(body.status).toBe("success");
  return body.data;
}

describe.skipIf(!PROMETHEUS)("a real Prometheus scraping Herald", () => {
  beforeAll(async () => {
    stack = await createStack({ LOG_LEVEL: "warn" });
    herald = await startHerald("all", stack.env);
    dir = mkdtempSync(join(tmpdir(), "herald-prometheus-"));
    writeFileSync(join(dir, "probe.yml"), PROBE_RULES);
    writeFileSync(
      join(dir, "prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "rule_files:",
        `  - ${JSON.stringify(ALERTS)}`,
        `  - ${JSON.stringify(join(dir, "probe.yml"))}`,
        "scrape_configs:",
        "  - job_name: herald-gateway",
        "    static_configs:",
        `      - targets: ["127.0.0.1:${herald.port}"]`,
        "",
      ].join("\n"),
    );
    const port = freePort();
    api = `http://127.0.0.1:${port}`;
    prometheus = Bun.spawn(
      [
        PROMETHEUS ?? "prometheus",
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdout: "ignore", stderr: Bun.file(join(dir, "prometheus.log")) },
    );
    if (!(await waitForPort("127.0.0.1", port, 20_000))) throw new Error("prometheus did not listen");
    await eventually(async () => (await fetch(`${api}/-/ready`)).ok, { timeoutMs: 20_000, everyMs: 200 });
  }, 60_000);

  afterAll(async () => {
    prometheus?.kill("SIGTERM");
    await prometheus?.exited;
    await herald?.signal("SIGTERM");
    await stack?.cleanup();
    if (dir && !process.env.HERALD_KEEP_PROMETHEUS_DIR) rmSync(dir, { recursive: true, force: true });
  });

  test("scrapes /metrics, evaluates every committed rule without error, and fires a rule on Herald's counter", async () => {
    const up = await eventually(
      async () => {
        const data = await query<{ result: Array<{ value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent('up{job="herald-gateway"}')}`);
        return data.result[0]?.value[1] === "1" ? data : null;
      },
      { timeoutMs: 20_000, everyMs: 250 },
    );
    expect(up.result).toHaveLength(1);

    const res = await post(herald.url, "/v1/notifications", { userId: "user-prom", channel: "in_app", payload: { title: "Hi", body: "Hello" } });
    expect(res.status).toBe(202);

    const firing = await eventually(
      async () => {
        const data = await query<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>("/api/v1/alerts");
        return data.alerts.find((a) => a.labels.alertname === "HeraldProbeAccepted" && a.state === "firing") ?? null;
      },
      { timeoutMs: 20_000, everyMs: 250 },
    );
    expect(firing.labels.severity).toBe("test");

    const { groups } = await eventually(
      async () => {
        const data = await query<{ groups: RuleGroup[] }>("/api/v1/rules");
        const committed = data.groups.filter((g) => g.file === ALERTS);
        return committed.length > 0 && committed.every((g) => g.rules.every((r) => !r.lastEvaluation.startsWith("0001"))) ? data : null;
      },
      { timeoutMs: 20_000, everyMs: 250 },
    );
    const committed = groups.filter((g) => g.file === ALERTS);
    expect(committed.map((g) => g.name)).toContain("herald-process");
    for (const rule of committed.flatMap((g) => g.rules))
      expect({ rule: rule.name, health: rule.health, error: rule.lastError ?? "" }).toEqual({ rule: rule.name, health: "ok", error: "" });
  }, 60_000);
});
