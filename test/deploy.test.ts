// The operator assets under deploy/ drift silently unless checked against the schemas, a migrated Postgres and promtool.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { z } from "zod";
import { ConfigSchema } from "../schemas/config.ts";
import { CHANNELS, EVENT_TYPES, PRIORITIES } from "../schemas/enums.ts";
import { DEFAULT_PROCESS_METRICS, HTTP_BUCKETS_SECONDS, METRICS, type LabelSpec, type MetricDefinition } from "../schemas/metrics.ts";
import { topology } from "../schemas/subjects.ts";
import { createTestDatabase, type TestDatabase } from "./support/services.ts";

const ROOT = join(import.meta.dir, "..");
const PROM = join(ROOT, "deploy", "prometheus");
const GRAFANA = join(ROOT, "deploy", "grafana");
const read = (...p: string[]) => readFileSync(join(...p), "utf8");
const yaml = (...p: string[]): unknown => Bun.YAML.parse(read(...p));

// ---- shapes of the files (zod, so nothing untyped leaks into the assertions) ----

const Rule = z.union([
  z.object({ record: z.string(), expr: z.string() }).strict(),
  z
    .object({
      alert: z.string(),
      expr: z.string(),
      for: z.string().optional(),
      labels: z.object({ severity: z.enum(["P0", "P1", "P2", "P3"]) }).catchall(z.string()),
      annotations: z.object({ summary: z.string().min(10), description: z.string().min(20), runbook_url: z.string() }).strict(),
    })
    .strict(),
]);
const RulesFile = z.object({ groups: z.array(z.object({ name: z.string(), rules: z.array(Rule).min(1) }).strict()).min(1) }).strict();
type AlertRule = Extract<z.infer<typeof Rule>, { alert: string }>;

const PrometheusConfig = z.object({
  rule_files: z.array(z.string()).min(1),
  scrape_configs: z.array(
    z.object({ job_name: z.string(), metrics_path: z.string().optional(), static_configs: z.array(z.object({ targets: z.array(z.string()).min(1) })) }),
  ),
});

const PromtoolTests = z.object({
  rule_files: z.array(z.string()),
  tests: z.array(
    z.object({
      alert_rule_test: z.array(z.object({ alertname: z.string(), eval_time: z.string(), exp_alerts: z.array(z.unknown()).nullish() })).optional(),
    }),
  ),
});

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal
const PROMETHEUS_DS = { type: "prometheus", uid: "${datasource}" } as const;
const GridPos = z.object({
  h: z.number().int().positive(),
  w: z.number().int().min(1).max(24),
  x: z.number().int().min(0).max(23),
  y: z.number().int().min(0),
});
const Target = z.object({
  refId: z.string().min(1),
  expr: z.string().min(1),
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal
  datasource: z.object({ type: z.literal("prometheus"), uid: z.literal("${datasource}") }),
});
const Panel = z.object({ id: z.number().int(), type: z.string(), title: z.string().min(1), gridPos: GridPos, targets: z.array(Target).optional() });
const Dashboard = z.object({
  uid: z.string().min(1),
  title: z.string().min(1),
  schemaVersion: z.number().int().min(30),
  panels: z.array(Panel).min(1),
  templating: z.object({ list: z.array(z.object({ name: z.string(), type: z.string(), query: z.unknown() })) }),
});
type DashboardPanel = z.infer<typeof Panel>;

// ---- PromQL: just enough lexing to find metric names and their label matchers ----

const PROMQL_KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"]);
const GRAFANA_VARIABLES: Record<string, string> = { __rate_interval: "5m", __interval: "1m", __range: "1h" };

/** Grafana's `$__rate_interval` and friends → durations, so the expression is plain PromQL. */
function plainPromql(expr: string): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => GRAFANA_VARIABLES[name] ?? whole);
}

/** Metric names an expression reads: identifiers that are not functions, keywords or label names. */
function metricNames(expr: string): string[] {
  const stripped = plainPromql(expr)
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\boffset\s+-?\w+/g, " ");
  const found = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    if (name && !call && !PROMQL_KEYWORDS.has(name.toLowerCase())) found.add(name);
  }
  return [...found];
}

/** Every `metric{label op "value", …}` of an expression. */
function selectors(expr: string): { metric: string; matchers: { label: string; op: string; value: string }[] }[] {
  const out: { metric: string; matchers: { label: string; op: string; value: string }[] }[] = [];
  for (const m of plainPromql(expr).matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)) {
    const matchers = [...(m[2] ?? "").matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map((x) => ({
      label: x[1] ?? "",
      op: x[2] ?? "",
      value: x[3] ?? "",
    }));
    out.push({ metric: m[1] ?? "", matchers });
  }
  return out;
}

// ---- the catalogue as seen by Prometheus ----

const catalogue: MetricDefinition[] = Object.values(METRICS);
/** Series name → its catalogue entry (histograms expose _bucket, _sum, _count, never the bare name). */
const seriesOf = new Map<string, { def: MetricDefinition; suffix: string }>();
for (const def of catalogue) {
  if (def.type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) seriesOf.set(def.name + suffix, { def, suffix });
  else seriesOf.set(def.name, { def, suffix: "" });
}
const TARGET_LABELS = ["job", "instance"];

const rulesFile = RulesFile.parse(yaml(PROM, "alerts.yml"));
const rules = rulesFile.groups.flatMap((g) => g.rules);
const alerts = rules.filter((r): r is AlertRule => "alert" in r);
const recorded = new Set(rules.flatMap((r) => ("record" in r ? [r.record] : [])));
const STANDARD = new Set<string>(["up", ...DEFAULT_PROCESS_METRICS]);

/** Names an expression may read, and why not when it may not. */
function unknownNames(expr: string): string[] {
  return metricNames(expr).filter((n) => !seriesOf.has(n) && !recorded.has(n) && !STANDARD.has(n));
}

/** Label matchers that name a label the metric does not have, or a value outside a closed set. */
function badMatchers(expr: string): string[] {
  const bad: string[] = [];
  for (const { metric, matchers } of selectors(expr)) {
    const series = seriesOf.get(metric);
    if (!series) continue;
    const labels: Record<string, LabelSpec> = { ...series.def.labels };
    for (const { label, op, value } of matchers) {
      if (TARGET_LABELS.includes(label) || (label === "le" && series.suffix === "_bucket")) continue;
      const spec = labels[label];
      if (!spec) bad.push(`${metric}: no label ${label}`);
      else if ((op === "=" || op === "!=") && "values" in spec && !value.includes("$") && !spec.values.includes(value)) {
        bad.push(`${metric}: ${label}="${value}" is not one of ${spec.values.join(", ")}`);
      }
    }
  }
  return bad;
}

// ---- runbooks ----

const runbooks = read(ROOT, "deploy", "runbooks.md");
/** GitHub's heading anchors: lower-case, punctuation dropped, spaces → hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
const headings = [...runbooks.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1] ?? "");
const anchors = new Set(headings.map(slug));
/** `## Name` → the text up to the next `## `. */
function section(name: string): string {
  const start = runbooks.indexOf(`\n## ${name}\n`);
  if (start < 0) return "";
  const next = runbooks.indexOf("\n## ", start + 1);
  return runbooks.slice(start, next < 0 ? undefined : next);
}

/** Every alert shipped, with its priority, so adding or dropping one is a deliberate change here too. */
const EXPECTED_ALERTS: Record<string, AlertRule["labels"]["severity"]> = {
  HeraldNotificationFailureRateCritical: "P0",
  HeraldProcessDown: "P0",
  HeraldHttpErrorRateCritical: "P0",
  HeraldConsumerBacklogGrowing: "P1",
  HeraldAcceptLatencyHigh: "P1",
  HeraldDbPoolSaturated: "P1",
  HeraldNotificationFailureRateHigh: "P2",
  HeraldDlqGrowing: "P2",
  HeraldProviderErrorRatioHigh: "P2",
  HeraldProviderBreakerOpen: "P2",
  HeraldChannelProvidersAllOpen: "P1",
  HeraldSchedulerLagging: "P2",
  HeraldTrafficAboveWeeklyNorm: "P3",
  HeraldPublishErrors: "P3",
  HeraldDbErrors: "P3",
  HeraldNatsUnreachable: "P0",
  HeraldNatsStreamLeaderless: "P0",
  HeraldNatsConnectionLost: "P1",
  HeraldNatsStreamReplicasLagging: "P1",
};

describe("PromQL lexing used by these checks", () => {
  test("finds metric names and skips functions, keywords, label lists, strings and durations", () => {
    const expr =
      'histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{route="/v1/x:y", le!="b"}[5m] offset 1w))) / on () b:c:d and bool up or vector(0) > 1/60';
    expect(metricNames(expr).sort()).toEqual(["a_bucket", "b:c:d", "up"]);
    expect(metricNames("sum(rate(x[$__rate_interval])) by (job)")).toEqual(["x"]);
  });

  test("flags unknown names and labels or values outside the catalogue", () => {
    expect(unknownNames("rate(herald_http_requests_total[5m]) + herald_nope")).toEqual(["herald_nope"]);
    expect(badMatchers('herald_http_requests_total{status_class="5XX", user_id="u", job="x"}')).toEqual([
      'herald_http_requests_total: status_class="5XX" is not one of 1xx, 2xx, 3xx, 4xx, 5xx',
      "herald_http_requests_total: no label user_id",
    ]);
  });
});

describe("deploy/prometheus", () => {
  test("prometheus.yml scrapes the gateway and the processor at /metrics and loads the alert rules", () => {
    const cfg = PrometheusConfig.parse(yaml(PROM, "prometheus.yml"));
    expect(cfg.rule_files).toEqual(["alerts.yml"]);
    const jobs = Object.fromEntries(cfg.scrape_configs.map((s) => [s.job_name, s.metrics_path ?? "/metrics"]));
    expect(jobs).toEqual({ "herald-gateway": "/metrics", "herald-processor": "/metrics" });
  });

  test("the alerts are the expected set, each with its priority as severity", () => {
    expect(Object.fromEntries(alerts.map((a) => [a.alert, a.labels.severity]))).toEqual(EXPECTED_ALERTS);
  });

  test("every alert and recording rule reads only catalogue metrics, recording rules, up and default process metrics", () => {
    for (const r of rules) {
      const name = "alert" in r ? r.alert : r.record;
      expect({ name, unknown: unknownNames(r.expr), badMatchers: badMatchers(r.expr) }).toEqual({ name, unknown: [], badMatchers: [] });
      expect(metricNames(r.expr).length).toBeGreaterThan(0);
    }
  });

  test("recording rules follow level:metric:operations and are all used", () => {
    const used = new Set([...rules.flatMap((r) => metricNames(r.expr)), ...dashboardExprs().flatMap((e) => metricNames(e.expr))]);
    for (const name of recorded) {
      expect(name).toMatch(/^herald:[a-z0-9_]+:[a-z0-9_]+$/);
      expect({ name, used: used.has(name) }).toEqual({ name, used: true });
    }
  });

  test("every alert links its runbook section, whose anchor exists", () => {
    for (const a of alerts) {
      expect(a.annotations.runbook_url).toBe(`deploy/runbooks.md#${slug(a.alert)}`);
      expect({ alert: a.alert, anchored: anchors.has(slug(a.alert)) }).toEqual({ alert: a.alert, anchored: true });
    }
  });

  test("the accept-latency threshold is a bucket bound, so p95 is not interpolated across it", () => {
    expect(HTTP_BUCKETS_SECONDS as readonly number[]).toContain(0.25);
    expect(alerts.find((a) => a.alert === "HeraldAcceptLatencyHigh")?.expr).toContain("> 0.25");
  });

  test("every alert has a promtool case where it fires and one where it must not", () => {
    const files = readdirSync(join(PROM, "tests")).filter((f) => f.endsWith(".test.yml"));
    const cases = files.flatMap((f) => {
      const parsed = PromtoolTests.parse(yaml(PROM, "tests", f));
      expect(parsed.rule_files).toEqual(["../alerts.yml"]);
      return parsed.tests.flatMap((t) => t.alert_rule_test ?? []);
    });
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      const fires = mine.some((c) => (c.exp_alerts ?? []).length > 0);
      const silent = mine.some((c) => (c.exp_alerts ?? []).length === 0);
      expect({ alert: a.alert, fires, silent }).toEqual({ alert: a.alert, fires: true, silent: true });
    }
  });
});

function dashboardFiles(): string[] {
  return readdirSync(join(GRAFANA, "dashboards")).filter((f) => f.endsWith(".json"));
}
function dashboardPanels(): { file: string; panel: DashboardPanel }[] {
  return dashboardFiles().flatMap((file) => Dashboard.parse(JSON.parse(read(GRAFANA, "dashboards", file))).panels.map((panel) => ({ file, panel })));
}
function dashboardExprs(): { where: string; expr: string }[] {
  return dashboardPanels().flatMap(({ file, panel }) =>
    (panel.targets ?? []).map((t) => ({ where: `${file} #${panel.id} ${panel.title} ${t.refId}`, expr: t.expr })),
  );
}

describe("deploy/grafana", () => {
  test("the dashboard is valid Grafana JSON with a Prometheus data source variable", () => {
    expect(dashboardFiles()).toEqual(["herald.json"]);
    const d = Dashboard.parse(JSON.parse(read(GRAFANA, "dashboards", "herald.json")));
    expect(d.templating.list).toContainEqual(expect.objectContaining({ name: "datasource", type: "datasource", query: "prometheus" }));
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test("panels fit the 24-column grid without overlapping, and every graph has a query on the variable data source", () => {
    const panels = dashboardPanels().map((p) => p.panel);
    const cells = new Map<string, number>();
    for (const p of panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const other = cells.get(`${i},${j}`);
          expect({ panel: p.id, overlaps: other }).toEqual({ panel: p.id, overlaps: undefined });
          cells.set(`${i},${j}`, p.id);
        }
      }
      if (p.type !== "row") {
        expect((p.targets ?? []).length).toBeGreaterThan(0);
        for (const t of p.targets ?? []) expect(t.datasource).toEqual(PROMETHEUS_DS);
      }
    }
  });

  test("every panel query uses catalogue metrics, recording rules, up or default process metrics", () => {
    for (const { where, expr } of dashboardExprs()) {
      expect({ where, unknown: unknownNames(expr), badMatchers: badMatchers(expr) }).toEqual({ where, unknown: [], badMatchers: [] });
    }
  });

  test("every catalogue metric is on the dashboard, directly or through a recording rule", () => {
    const queried = new Set(dashboardExprs().flatMap((e) => metricNames(e.expr)));
    const viaRules = rules.filter((r) => "record" in r && queried.has(r.record)).flatMap((r) => metricNames(r.expr));
    const shown = new Set([...queried, ...viaRules].map((n) => seriesOf.get(n)?.def.name ?? n));
    for (const def of catalogue) expect({ metric: def.name, shown: shown.has(def.name) }).toEqual({ metric: def.name, shown: true });
  });

  test("provisioning points Grafana at Prometheus and at the dashboards folder", () => {
    const ds = z
      .object({
        apiVersion: z.literal(1),
        datasources: z.array(z.object({ name: z.string(), type: z.literal("prometheus"), url: z.url(), uid: z.string() })).length(1),
      })
      .parse(yaml(GRAFANA, "provisioning", "datasources", "herald-prometheus.yml"));
    expect(ds.datasources[0]?.uid).toBe("herald-prometheus");
    const dash = z
      .object({
        apiVersion: z.literal(1),
        providers: z.array(z.object({ name: z.string(), type: z.literal("file"), options: z.object({ path: z.string().startsWith("/") }) })).length(1),
      })
      .parse(yaml(GRAFANA, "provisioning", "dashboards", "herald.yml"));
    expect(dash.providers[0]?.name).toBe("herald");
  });
});

describe("deploy/runbooks.md", () => {
  test("has one section per alert and no section for an alert that does not exist", () => {
    const alertHeadings = headings.filter((h) => /^Herald[A-Z]\w+$/.test(h));
    expect(alertHeadings.sort()).toEqual(alerts.map((a) => a.alert).sort());
  });

  test("each alert section says what it means, the impact, how to investigate and how to resolve", () => {
    for (const a of alerts) {
      const text = section(a.alert);
      for (const part of ["**Meaning.**", "**Impact.**", "**Investigate.**", "**Resolve.**"]) {
        expect({ alert: a.alert, part, present: text.includes(part) }).toEqual({ alert: a.alert, part, present: true });
      }
      expect(text).toMatch(/```(bash|sql)\n/);
      expect(text).toContain(`**${a.labels.severity}.**`);
    }
  });

  test("every in-page link resolves", () => {
    for (const [, anchor] of runbooks.matchAll(/\]\(#([^)]+)\)/g)) expect({ anchor, exists: anchors.has(anchor ?? "") }).toEqual({ anchor, exists: true });
  });

  test("names only config keys that schemas/config.ts parses", () => {
    const known = new Set(Object.keys(ConfigSchema.shape));
    const topo = topology("herald");
    const jetstream = new Set([...Object.values(topo.streams), ...PRIORITIES.map((p) => topo.laneConsumer(p))]);
    const names = new Set(runbooks.match(/\b(?:HERALD_[A-Za-z0-9_]+|NATS_URL|DATABASE_URL|REDIS_URL|UPSTASH_[A-Z_]+|LOG_LEVEL)\b/g) ?? []);
    for (const name of names) expect({ name, known: known.has(name) || jetstream.has(name) }).toEqual({ name, known: true });
  });

  test("names only streams, consumers and subjects of the default topology", () => {
    const topo = topology("herald");
    const streams = new Set([...Object.values(topo.streams), ...PRIORITIES.map((p) => topo.laneConsumer(p))]);
    for (const name of runbooks.match(/\bHERALD(?:_[A-Z]+|_lane_[a-z]+)?\b/g) ?? []) {
      if (!/^HERALD(_EVENTS|_DLQ|_lane_\w+)?$/.test(name)) continue; // config keys are checked above
      expect({ name, exists: streams.has(name) }).toEqual({ name, exists: true });
    }
    const subjects = new Set<string>([
      ...Object.values(topo.wildcards),
      ...PRIORITIES.flatMap((p) => CHANNELS.map((c) => topo.sendSubject(p, c))),
      ...EVENT_TYPES.map((t) => topo.eventSubject(t)),
      ...CHANNELS.map((c) => topo.dlqSubject(c)),
      "herald.v1.dlq.invalid",
      "herald.v1.send.<priority>.<channel>",
      "herald.v1.events.<type>",
      "herald.v1.dlq.<channel>",
    ]);
    for (const [subject] of runbooks.matchAll(/herald\.v1\.[a-z_.<>*]*[a-z_>*]/g)) {
      expect({ subject, exists: subjects.has(subject) }).toEqual({ subject, exists: true });
    }
  });

  test("quotes log messages that the code really logs", () => {
    const cited = [
      "could not start",
      "lane loop crashed",
      "Postgres step failed; holding the batch and retrying",
      "could not release due notifications",
      "send failed",
      "could not publish some lifecycle events",
      "invalid configuration:",
    ];
    const sources = ["bin", "lib", "processor", "gateway"]
      .flatMap((dir) => [...new Bun.Glob("**/*.ts").scanSync(join(ROOT, dir))].filter((f) => !f.endsWith(".test.ts")).map((f) => read(ROOT, dir, f)))
      .join("\n");
    for (const msg of cited) {
      expect({ msg, inRunbook: runbooks.includes(`\`${msg}\``), inCode: sources.includes(`"${msg}`) || sources.includes(`\`${msg}`) }).toEqual({
        msg,
        inRunbook: true,
        inCode: true,
      });
    }
  });

  describe("its SQL runs against the real, migrated schema", () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase();
    });
    afterAll(async () => {
      await db?.drop();
    });

    test("every sql block executes (in a rolled-back transaction)", async () => {
      const blocks = [...runbooks.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
      expect(blocks.length).toBeGreaterThan(10);
      const sql = postgres(db.url, { max: 1, onnotice: () => {} });
      try {
        for (const block of blocks) {
          const outcome = await sql
            .begin(async (tx) => {
              await tx.unsafe(block);
              throw new Rollback();
            })
            .then(
              () => "committed",
              (err: unknown) => (err instanceof Rollback ? "ran" : String(err)),
            );
          expect({ block, outcome }).toEqual({ block, outcome: "ran" });
        }
      } finally {
        await sql.end();
      }
    });
  });
});

class Rollback extends Error {}

// ---- promtool: the real tool, when installed ----

const promtool = Bun.which("promtool");
if (!promtool) {
  console.warn("[deploy.test] promtool is not on PATH: SKIPPING promtool check/test rules. Install Debian's `prometheus` package (.ci/run does).");
}

function run(cmd: string[], cwd: string): { code: number; output: string } {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, output: `${r.stdout.toString()}${r.stderr.toString()}` };
}

describe("promtool", () => {
  test.skipIf(!promtool)("check rules accepts alerts.yml", () => {
    const r = run(["promtool", "check", "rules", "alerts.yml"], PROM);
    expect(r).toEqual({ code: 0, output: expect.stringContaining("SUCCESS") });
  });

  test.skipIf(!promtool)("check config accepts prometheus.yml and the rule files it loads", () => {
    const r = run(["promtool", "check", "config", "prometheus.yml"], PROM);
    expect(r).toEqual({ code: 0, output: expect.stringContaining("SUCCESS: prometheus.yml is valid") });
  });

  test.skipIf(!promtool)(
    "test rules passes every unit test",
    () => {
      const files = readdirSync(join(PROM, "tests")).filter((f) => f.endsWith(".test.yml"));
      const r = run(["promtool", "test", "rules", ...files], join(PROM, "tests"));
      expect(r.code === 0 ? "passed" : r.output).toBe("passed");
      expect(r.output.match(/SUCCESS/g)?.length).toBe(files.length);
      // promtool evaluates every series of every test file, which is slow on a small machine.
    },
    60_000,
  );

  test.skipIf(!promtool)("every dashboard query parses as PromQL", () => {
    const exprs = dashboardExprs();
    const dir = mkdtempSync(join(tmpdir(), "herald-dashboard-"));
    try {
      // As recording rules, so promtool parses each expression and names the bad one.
      const rules = exprs.map((e, i) => ({ record: `dashboard:query_${i}:check`, expr: plainPromql(e.expr) }));
      writeFileSync(join(dir, "dashboard.rules.yml"), JSON.stringify({ groups: [{ name: "dashboard", rules }] }));
      const r = run(["promtool", "check", "rules", "dashboard.rules.yml"], dir);
      expect(r.code === 0 ? "parsed" : r.output).toBe("parsed");
      expect(r.output).toContain(`SUCCESS: ${exprs.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
