import { describe, expect, test } from "bun:test";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { FORBIDDEN_LABELS, labelNames, METRIC_NAMES, METRICS, type MetricDefinition } from "./metrics.ts";

const all: [string, MetricDefinition][] = Object.entries(METRICS);

describe("metric catalogue", () => {
  test("every name is a unique herald_ snake_case Prometheus name", () => {
    for (const name of METRIC_NAMES) expect(name).toMatch(/^herald_[a-z][a-z0-9_]*[a-z0-9]$/);
    expect(new Set(METRIC_NAMES).size).toBe(METRIC_NAMES.length);
  });

  test("counters end in _total and nothing else does", () => {
    for (const [, m] of all) expect(m.name.endsWith("_total")).toBe(m.type === "counter");
  });

  test("durations are histograms in _seconds with ascending buckets", () => {
    for (const [key, m] of all) {
      const isDuration = /duration|latency|end_to_end/.test(m.name);
      if (isDuration) expect({ key, type: m.type }).toEqual({ key, type: "histogram" });
      if (m.type !== "histogram") {
        expect(m.buckets).toBeUndefined();
        continue;
      }
      expect(m.name).toEndWith("_seconds");
      const buckets = m.buckets ?? [];
      expect(buckets.length).toBeGreaterThan(3);
      for (let i = 1; i < buckets.length; i++) expect(buckets[i]).toBeGreaterThan(buckets[i - 1] ?? Infinity);
    }
  });

  test("no name collides with a histogram's _bucket, _sum or _count series", () => {
    const derived = all.filter(([, m]) => m.type === "histogram").flatMap(([, m]) => ["_bucket", "_sum", "_count"].map((s) => m.name + s));
    for (const name of METRIC_NAMES) expect(derived).not.toContain(name);
  });

  test("labels are snake_case, bounded, and never an id, tenant or recipient", () => {
    for (const [key, m] of all) {
      for (const [label, spec] of Object.entries(m.labels)) {
        expect(label).toMatch(/^[a-z][a-z0-9_]*$/);
        expect(label === "le" || label.startsWith("__")).toBe(false);
        expect(FORBIDDEN_LABELS as readonly string[]).not.toContain(label.toLowerCase());
        const bounded = "values" in spec ? spec.values.length > 0 && spec.values.length <= 32 : spec.boundedBy.length > 0;
        expect({ key, label, bounded }).toEqual({ key, label, bounded: true });
        expect(spec.help.length).toBeGreaterThan(5);
      }
    }
  });

  test("every metric has help text ending in a full stop", () => {
    for (const [, m] of all) expect(m.help).toMatch(/^[A-Z].{10,}\.$/);
  });

  test("labelNames gives prom-client the declared label names in order", () => {
    expect(labelNames("httpRequestDuration")).toEqual(["route", "method", "status_class"]);
    expect(labelNames("httpInFlight")).toEqual([]);
  });
});

describe("metric catalogue in prom-client", () => {
  test("every entry registers as declared and is exposed under its name and type", async () => {
    const registry = new Registry();
    for (const m of Object.values(METRICS) as MetricDefinition[]) {
      const config = { name: m.name, help: m.help, labelNames: Object.keys(m.labels), registers: [registry] };
      if (m.type === "counter") new Counter(config);
      else if (m.type === "gauge") new Gauge(config);
      else new Histogram({ ...config, buckets: [...(m.buckets ?? [])] });
    }
    const exposed = (await registry.getMetricsAsJSON()).map((j) => ({ name: j.name, type: String(j.type), help: j.help }));
    expect(exposed).toEqual(Object.values(METRICS).map((m) => ({ name: m.name, type: m.type, help: m.help })));
  });
});
