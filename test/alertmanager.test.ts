// The Alertmanager config against the alerts it routes: every alert of alerts.yml reaches its severity's
// receiver (amtool, when installed), no secret is inline, and every inhibition names alerts and labels that exist.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { freePort, waitForPort } from "../lib/probe.ts";

const ROOT = join(import.meta.dir, "..");
const CONFIG = "deploy/alertmanager/alertmanager.yml";
const yaml = (path: string): unknown => Bun.YAML.parse(readFileSync(join(ROOT, path), "utf8"));

const SEVERITIES = ["P0", "P1", "P2", "P3"] as const;
type Severity = (typeof SEVERITIES)[number];
const RECEIVER_OF: Record<Severity, string> = { P0: "herald-p0", P1: "herald-p1", P2: "herald-p2", P3: "herald-p3" };
/** Set by the deployment's Prometheus, not by a rule: no alert in alerts.yml names it. */
const DEPLOYMENT_LABELS = new Set(["namespace"]);
const SECRETS_DIR = "/etc/alertmanager/secrets/";

const AlertsFile = z.object({
  groups: z.array(
    z.object({
      rules: z.array(
        z.object({
          alert: z.string().optional(),
          labels: z
            .object({ severity: z.enum(SEVERITIES) })
            .catchall(z.string())
            .optional(),
          annotations: z.record(z.string(), z.string()).optional(),
        }),
      ),
    }),
  ),
});
const Matchers = z.array(z.string()).min(1);
const AlertmanagerConfig = z.object({
  route: z.object({ receiver: z.string(), routes: z.array(z.object({ matchers: Matchers, receiver: z.string() })) }),
  inhibit_rules: z.array(z.object({ source_matchers: Matchers, target_matchers: Matchers, equal: z.array(z.string()).min(1) }).strict()).min(1),
  receivers: z.array(z.object({ name: z.string() }).passthrough()),
});

interface Alert {
  name: string;
  severity: Severity;
  /** The labels the rule sets, alertname included. */
  labels: Record<string, string>;
  /** Labels the alert carries at run time: its own and those its annotations read (`$labels.x`). */
  carries: Set<string>;
}

const ALERTS: Alert[] = AlertsFile.parse(yaml("deploy/prometheus/alerts.yml")).groups.flatMap((g) =>
  g.rules.flatMap(({ alert, labels, annotations }) => {
    if (alert === undefined || labels === undefined) return [];
    const read = [
      ...Object.values(annotations ?? {})
        .join(" ")
        .matchAll(/\$labels\.(\w+)/g),
    ].map((m) => m[1] ?? "");
    const own = { ...labels, alertname: alert };
    return [{ name: alert, severity: labels.severity, labels: own, carries: new Set([...Object.keys(own), ...read]) }];
  }),
);
const config = AlertmanagerConfig.parse(yaml(CONFIG));

interface Matcher {
  label: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
}

function parseMatcher(text: string): Matcher {
  const m = /^(\w+)(=~|!~|!=|=)"(.*)"$/.exec(text);
  if (!m) throw new Error(`matcher ${text} is not label<op>"value"`);
  return { label: m[1] ?? "", op: m[2] as Matcher["op"], value: m[3] ?? "" };
}

function matchesValue(m: Matcher, value: string): boolean {
  const re = new RegExp(`^(?:${m.value})$`);
  switch (m.op) {
    case "=":
      return value === m.value;
    case "!=":
      return value !== m.value;
    case "=~":
      return re.test(value);
    case "!~":
      return !re.test(value);
    default: {
      const never: never = m.op;
      return never;
    }
  }
}

/** Whether an alert can match: labels it sets must match, labels it carries may, labels it lacks are empty. */
function canMatch(alert: Alert, matchers: Matcher[]): boolean {
  return matchers.every((m) => {
    const own = alert.labels[m.label];
    if (own !== undefined) return matchesValue(m, own);
    return alert.carries.has(m.label) || matchesValue(m, "");
  });
}

/** A label set for amtool: the alert's own labels, a namespace, and a value each matcher accepts. */
function labelsFor(alert: Alert, matchers: Matcher[]): Record<string, string> {
  const labels: Record<string, string> = { namespace: "herald-prod", ...alert.labels };
  for (const m of matchers) {
    if (labels[m.label] !== undefined) continue;
    // A value the matcher accepts: itself for =, the regex's first alternative with `.+` made concrete for =~.
    labels[m.label] = m.op === "=" ? m.value : (m.value.split("|")[0] ?? "").replace(".+", "gateway");
  }
  return labels;
}

describe("alertmanager.yml", () => {
  test("alerts.yml has alerts of every severity to route", () => {
    expect(new Set(ALERTS.map((a) => a.severity))).toEqual(new Set(SEVERITIES));
  });

  test("has one route per severity, to that severity's receiver", () => {
    const routes = config.route.routes.map((r) => ({ matchers: r.matchers, receiver: r.receiver }));
    expect(routes).toEqual(SEVERITIES.map((s) => ({ matchers: [`severity="${s}"`], receiver: RECEIVER_OF[s] })));
    expect(config.receivers.map((r) => r.name).sort()).toEqual(Object.values(RECEIVER_OF).sort());
  });

  test("reads every secret from a file under /etc/alertmanager/secrets/", () => {
    const inline: string[] = [];
    const files: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (node === null || typeof node !== "object") return;
      // Arrays too: their keys are indexes, which name no secret.
      for (const [key, value] of Object.entries(node)) {
        if (/(?:^|_)(?:key|password|secret|token|api_url|url)$/.test(key)) inline.push(`${path}.${key}`);
        if (key.endsWith("_file")) files.push(String(value));
        walk(value, `${path}.${key}`);
      }
    };
    walk(yaml(CONFIG), "");
    expect(inline).toEqual([]);
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter((f) => !f.startsWith(SECRETS_DIR))).toEqual([]);
  });

  for (const [i, rule] of config.inhibit_rules.entries()) {
    const source = rule.source_matchers.map(parseMatcher);
    const target = rule.target_matchers.map(parseMatcher);
    const sources = ALERTS.filter((a) => canMatch(a, source));
    const targets = ALERTS.filter((a) => canMatch(a, target));

    test(`inhibit rule ${i} names alerts and labels that alerts.yml has`, () => {
      const unknownAlerts = [...source, ...target]
        .filter((m) => m.label === "alertname")
        .flatMap((m) => m.value.split("|"))
        .filter((name) => !ALERTS.some((a) => a.name === name));
      expect(unknownAlerts).toEqual([]);
      expect({ sources: sources.length > 0, targets: targets.length > 0 }).toEqual({ sources: true, targets: true });
      // Each alert carries the labels its side matches on and those compared: a missing one would be "" on both sides.
      const lacking = (alerts: Alert[], matchers: Matcher[]) =>
        alerts.flatMap((a) =>
          [...rule.equal, ...matchers.map((m) => m.label)].filter((l) => !DEPLOYMENT_LABELS.has(l) && !a.carries.has(l)).map((l) => `${a.name} lacks ${l}`),
        );
      expect([...lacking(sources, source), ...lacking(targets, target)]).toEqual([]);
    });

    test(`inhibit rule ${i} never silences the alert that inhibits it, nor a P0`, () => {
      expect(targets.filter((t) => sources.includes(t) || t.severity === "P0").map((t) => t.name)).toEqual([]);
    });
  }
});

// ---- amtool: the real tool, when installed ----

const amtool = Bun.which("amtool");
if (!amtool) {
  console.warn(
    "[alertmanager.test] amtool is not on PATH: SKIPPING amtool check-config, template render and config routes test. Install Debian's `prometheus-alertmanager` package (.ci/run does).",
  );
}

function run(args: string[]): { code: number; output: string } {
  const r = Bun.spawnSync(["amtool", ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, output: `${r.stdout.toString()}${r.stderr.toString()}` };
}

/** The receiver amtool resolves for a label set, checked with --verify.receivers so a mismatch exits non-zero. */
function routesTo(receiver: string, labels: Record<string, string>): { code: number; output: string } {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  const r = run(["config", "routes", "test", `--config.file=${CONFIG}`, `--verify.receivers=${receiver}`, ...pairs]);
  return { code: r.code, output: r.output.split("\n")[0] ?? "" };
}

describe("amtool", () => {
  test.skipIf(!amtool)("check-config accepts alertmanager.yml", () => {
    const r = run(["check-config", CONFIG]);
    expect(r).toEqual({ code: 0, output: expect.stringContaining("SUCCESS") });
  });

  test.skipIf(!amtool)("every message template of a receiver renders", () => {
    const templates = config.receivers.flatMap((r) => JSON.stringify(r).match(/"[^"]*\{\{(?:[^"\\]|\\.)*"/g) ?? []).map((t) => JSON.parse(t) as string);
    expect(templates.length).toBeGreaterThan(0);
    // A glob matching no file: only Alertmanager's default templates are loaded, as in the config.
    const failed = templates
      .map((text) => ({ text, ...run(["template", "render", "--template.glob=deploy/alertmanager/*.tmpl", `--template.text=${text}`]) }))
      .filter((r) => r.code !== 0);
    expect(failed).toEqual([]);
  });

  for (const severity of SEVERITIES) {
    test.skipIf(!amtool)(`severity ${severity} routes to ${RECEIVER_OF[severity]}`, () => {
      expect(routesTo(RECEIVER_OF[severity], { severity })).toEqual({ code: 0, output: RECEIVER_OF[severity] });
    });
  }

  test.skipIf(!amtool)("an alert without a severity still reaches the P2 channel", () => {
    expect(routesTo(RECEIVER_OF.P2, { alertname: "Unlabelled" })).toEqual({ code: 0, output: RECEIVER_OF.P2 });
  });

  test.skipIf(!amtool)("every alert of alerts.yml routes to its severity's receiver", () => {
    const wrong = ALERTS.map((a) => ({ alert: a.name, ...routesTo(RECEIVER_OF[a.severity], { namespace: "herald-prod", ...a.labels }) })).filter(
      (r) => r.code !== 0,
    );
    expect(wrong).toEqual([]);
  });

  test.skipIf(!amtool)("NATS lost everywhere or a stream without a leader pages now; one process or a lagging replica pages in working hours", () => {
    const cases: { receiver: string; labels: Record<string, string> }[] = [
      { receiver: RECEIVER_OF.P0, labels: { alertname: "HeraldNatsUnreachable", severity: "P0", job: "herald-gateway" } },
      { receiver: RECEIVER_OF.P0, labels: { alertname: "HeraldNatsStreamLeaderless", severity: "P0", job: "herald-processor", stream: "work" } },
      { receiver: RECEIVER_OF.P1, labels: { alertname: "HeraldNatsConnectionLost", severity: "P1", job: "herald-processor", instance: "p1:9464" } },
      { receiver: RECEIVER_OF.P1, labels: { alertname: "HeraldNatsStreamReplicasLagging", severity: "P1", job: "herald-processor", stream: "events" } },
    ];
    for (const { receiver, labels } of cases) {
      expect(ALERTS.find((a) => a.name === labels.alertname)?.severity).toBe(labels.severity as Severity);
      expect({ alert: labels.alertname, ...routesTo(receiver, { namespace: "herald-prod", ...labels }) }).toEqual({
        alert: labels.alertname,
        code: 0,
        output: receiver,
      });
    }
  });

  test.skipIf(!amtool)("the alerts each inhibit rule pairs, with the labels it matches on, route by severity all the same", () => {
    const wrong = config.inhibit_rules.flatMap((rule, i) => {
      const source = rule.source_matchers.map(parseMatcher);
      const target = rule.target_matchers.map(parseMatcher);
      const cases = [
        ...ALERTS.filter((a) => canMatch(a, source)).map((a) => ({ a, labels: labelsFor(a, source) })),
        ...ALERTS.filter((a) => canMatch(a, target)).map((a) => ({ a, labels: labelsFor(a, target) })),
      ];
      return cases.map(({ a, labels }) => ({ rule: i, alert: a.name, ...routesTo(RECEIVER_OF[a.severity], labels) })).filter((r) => r.code !== 0);
    });
    expect(wrong).toEqual([]);
  });
});

// ---- Alertmanager itself: which alerts the inhibit rules mute ----

const alertmanagerBin = Bun.which("prometheus-alertmanager") ?? Bun.which("alertmanager");
if (!alertmanagerBin) {
  console.warn("[alertmanager.test] Alertmanager is not on PATH: SKIPPING the inhibition run. Install Debian's `prometheus-alertmanager` package.");
}

/** One alert as Prometheus would send it: the rule's own labels, the labels its expression keeps, and a namespace. */
function firing(name: string, labels: Record<string, string> = {}): Record<string, string> {
  const rule = ALERTS.find((a) => a.name === name);
  if (!rule) throw new Error(`${name} is not in alerts.yml`);
  return { namespace: "herald-prod", ...rule.labels, ...labels };
}

/** An incident: all processors and one gateway without NATS, the dlq stream leaderless, work lagging, and their symptoms. */
const INCIDENT = {
  processorsUnreachable: firing("HeraldNatsUnreachable", { job: "herald-processor" }),
  processorLost: firing("HeraldNatsConnectionLost", { job: "herald-processor", instance: "p1:9464" }),
  gatewayLost: firing("HeraldNatsConnectionLost", { job: "herald-gateway", instance: "g1:8080" }),
  gatewayPublishErrors: firing("HeraldPublishErrors", { job: "herald-gateway", stream: "work" }),
  processorPublishErrors: firing("HeraldPublishErrors", { job: "herald-processor", stream: "events" }),
  backlog: firing("HeraldConsumerBacklogGrowing", { job: "herald-processor", lane: "low" }),
  dlqLeaderless: firing("HeraldNatsStreamLeaderless", { job: "herald-processor", stream: "dlq" }),
  dlqLagging: firing("HeraldNatsStreamReplicasLagging", { job: "herald-processor", stream: "dlq" }),
  workLagging: firing("HeraldNatsStreamReplicasLagging", { job: "herald-processor", stream: "work" }),
  acceptLatency: firing("HeraldAcceptLatencyHigh"),
  stagingDlqLagging: firing("HeraldNatsStreamReplicasLagging", { namespace: "herald-staging", job: "herald-processor", stream: "dlq" }),
};
const MUTED: (keyof typeof INCIDENT)[] = ["processorLost", "gatewayPublishErrors", "processorPublishErrors", "backlog", "dlqLagging"];

describe("Alertmanager", () => {
  test.skipIf(!alertmanagerBin)(
    "mutes the symptoms of a NATS incident and leaves its causes, the P0s and other namespaces notifying",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "herald-alertmanager-"));
      // The committed routes and inhibit rules; receivers without integrations, so nothing is sent anywhere.
      const raw = yaml(CONFIG) as Record<string, unknown>;
      const { global: _global, ...rest } = raw;
      const file = join(dir, "alertmanager.yml");
      writeFileSync(file, JSON.stringify({ ...rest, receivers: config.receivers.map((r) => ({ name: r.name })) }));
      const port = freePort();
      const am = Bun.spawn(
        [
          alertmanagerBin ?? "",
          `--config.file=${file}`,
          `--storage.path=${join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${port}`,
          "--cluster.listen-address=",
        ],
        { stdout: "ignore", stderr: "ignore" },
      );
      const api = `http://127.0.0.1:${port}/api/v2`;
      try {
        expect(await waitForPort("127.0.0.1", port, 10_000)).toBe(true);
        const endsAt = new Date(Date.now() + 10 * 60_000).toISOString();
        const posted = await fetch(`${api}/alerts`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(Object.values(INCIDENT).map((labels) => ({ labels, endsAt }))),
        });
        expect(posted.status).toBe(200);
        const key = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).sort());
        const names = new Map(Object.entries(INCIDENT).map(([name, labels]) => [key(labels), name]));
        const muted = async () => {
          const alerts = (await (await fetch(`${api}/alerts`)).json()) as { labels: Record<string, string>; status: { inhibitedBy: string[] } }[];
          return alerts
            .filter((a) => a.status.inhibitedBy.length > 0)
            .map((a) => names.get(key(a.labels)) ?? key(a.labels))
            .sort();
        };
        // The inhibitor learns of the sources asynchronously: wait until what it mutes is settled.
        const want = [...MUTED].sort();
        const deadline = Date.now() + 10_000;
        let got = await muted();
        while (!Bun.deepEquals(got, want) && Date.now() < deadline) {
          await Bun.sleep(100);
          got = await muted();
        }
        expect(got).toEqual(want);
      } finally {
        am.kill();
        await am.exited;
        rmSync(dir, { recursive: true, force: true });
      }
    },
    30_000,
  );
});
