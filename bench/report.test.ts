import { describe, expect, test } from "bun:test";
import { parseBenchArgs } from "./args.ts";
import { chartData, renderChart } from "./chart.ts";
import { summarizeRuntime } from "./phases/runtimes.ts";
import { markdownTable, pairedOverhead, phasePeaks, renderMarkdown, renderText, resultLine, runtimeRows, warnings } from "./report.ts";
import { checkTargets, computeRatios, soakFlat } from "./targets.ts";
import type { BenchResults, HttpRun, RuntimesRun } from "./types.ts";

function http(name: string, rps: number, p99: number): HttpRun {
  return {
    name,
    rps,
    p50: 2,
    p99,
    p999: p99 * 2,
    non2xx: 0,
    errors: 0,
    loadgenCores: 0.8,
    serverCores: 1,
    peakRssMb: 90,
    stream: { answered2xx: 100, held: 100, ok: true },
    quiet: true,
  };
}

function fixture(): BenchResults {
  return {
    startedAt: "2026-11-25T17:00:00.000Z",
    elapsedS: 200,
    plan: parseBenchArgs(["--quick"]),
    machine: { cpu: "Test CPU", cores: 2, memoryGb: 24, kernel: "6.0", bun: "1.4.5", node: "v20", nats: "2.9", postgres: "15", redis: "7" },
    herald: http("herald", 30_000, 8),
    fixed: { targetRps: 15_000, achievedRps: 14_990, p50: 1, p99: 3, p999: 6, non2xx: 0, errors: 0, loadgenCores: 0.5, quiet: true },
    batch: {
      batchSize: 500,
      connections: 8,
      itemsPerS: 40_000,
      batchesPerS: 80,
      p50: 90,
      p99: 150,
      non2xx: 0,
      errors: 0,
      loadgenCores: 0.1,
      serverCores: 1,
      stream: { expected: 1000, held: 1000, ok: true },
      quiet: true,
    },
    e2e: {
      accepted: 300_000,
      webhooks: 15_000,
      failedBatches: 0,
      windowS: 15,
      sentInWindow: 240_000,
      sentPerS: 16_000,
      perSecond: { min: 15_000, median: 16_000, max: 17_000 },
      maxBacklog: 30_000,
      throttledShare: 0.8,
      drainS: 2.5,
      drained: true,
      final: { pending: 0, ackPending: 0, streamMessages: 0, dlqMessages: 0, byStatus: { sent: 300_000 } },
      webhookReceiver: { delivered: 15_000, rejected: 0 },
      feederCores: 0.2,
      gatewayCores: 0.6,
      processorCores: 0.9,
      quiet: true,
    },
    peers: [http("express", 10_000, 20), http("fastify", 25_000, 15)],
    bunServe: http("bun-serve", 60_000, 2),
    jetstream: { window: 256, rps: 50_000, serialRps: 10_000 },
    memory: {
      gateway: { startMb: 60, peakSampledMb: 100, endMb: 90, hwmMb: 110, samples: [] },
      processor: { startMb: 70, peakSampledMb: 260, endMb: 200, hwmMb: 255, samples: [] },
    },
    notes: ["a note"],
  };
}

describe("bench arguments", () => {
  test("defaults to every phase with the standard durations", () => {
    const plan = parseBenchArgs([]);
    expect(plan.mode).toBe("suite");
    expect(plan.phases).toEqual(["gateway", "fixed", "batch", "peers", "limits", "e2e", "scheduler", "telemetry", "runtimes"]);
    expect(plan.runtimeRounds).toBe(2);
    expect([plan.connections, plan.durationS, plan.e2eSeconds]).toEqual([64, 20, 60]);
    expect([plan.schedulerCount, plan.schedulerAheadS, plan.schedulerDueNow]).toEqual([10_000, 120, 500]);
  });

  test("--quick shortens the phases but keeps end to end at 15 s or more", () => {
    const plan = parseBenchArgs(["--quick"]);
    expect(plan.durationS).toBeLessThan(20);
    expect(plan.e2eSeconds).toBeGreaterThanOrEqual(15);
  });

  test("--soak samples every 5 s for 600 s unless told otherwise", () => {
    expect(parseBenchArgs(["--soak"])).toMatchObject({ mode: "soak", soakSeconds: 600, sampleEveryS: 5 });
    expect(parseBenchArgs(["--soak", "--soak-seconds", "30"]).soakSeconds).toBe(30);
  });

  test("rejects an unknown phase, a non-positive number and an unknown flag", () => {
    expect(() => parseBenchArgs(["--phases", "gateway,nope"])).toThrow(/unknown nope/);
    expect(() => parseBenchArgs(["--duration", "0"])).toThrow(/--duration/);
    expect(() => parseBenchArgs(["--fast"])).toThrow();
  });
});

describe("bench report", () => {
  test("computes Herald's ratios against the peers and the ceilings", () => {
    const r = computeRatios(fixture());
    expect(r.heraldVsExpress).toBe(3);
    expect(r.heraldVsFastify).toBe(1.2);
    expect(r.heraldVsJetstream).toBe(0.6);
    expect(r.batchVsJetstream).toBe(0.8);
  });

  test("marks each target met or missed, and unmeasured ones as not measured", () => {
    const f = fixture();
    const verdicts = Object.fromEntries(checkTargets(f, computeRatios(f)).map((c) => [c.name, c.met]));
    expect(verdicts["single POST vs Express"]).toBe(true);
    expect(verdicts["single POST vs Fastify"]).toBe(false);
    expect(verdicts["batch ingest vs JetStream ceiling"]).toBe(true);
    expect(verdicts["processor peak RSS"]).toBe(false); // sampled 260 MB beats the 255 MB VmHWM sum
    const partial = { ...f, peers: [] };
    expect(checkTargets(partial, computeRatios(partial)).find((c) => c.name === "single POST vs Express")?.met).toBeNull();
  });

  test("ends with a RESULT object carrying the headline keys", () => {
    const line = resultLine(fixture());
    for (const key of [
      "gateway_rps",
      "gateway_p99_ms",
      "express_rps",
      "fastify_rps",
      "batch_rps",
      "jetstream_publish_rps",
      "e2e_sent_per_s",
      "gateway_rss_mb",
      "processor_rss_mb",
    ]) {
      expect(line[key]).toBeNumber();
    }
    expect(line).toMatchObject({ gateway_rps: 30_000, herald_vs_express: 3, processor_rss_mb: 260, targets_met: "7/9" }); // Fastify 1.2× and processor 260 MB miss
  });

  test("warns when a 202 did not reach the stream or the backlog did not drain", () => {
    const f = fixture();
    expect(warnings(f)).toEqual([]);
    f.peers[0] = { ...http("express", 1, 1), stream: { answered2xx: 10, held: 9, ok: false } };
    if (f.e2e) f.e2e = { ...f.e2e, drained: false };
    expect(warnings(f).join("\n")).toMatch(/express: answered 10 2xx but the stream holds 9[\s\S]*not drained/);
  });

  test("renders the same figures as text and Markdown", () => {
    const text = renderText(fixture());
    expect(text).toContain("30,000");
    expect(text).toMatch(/Express 5 \(Node\)\s+10,000.*3\.00×/);
    expect(renderMarkdown(fixture(), "latest.svg")).toContain("![throughput and p99 per system](latest.svg)");
    expect(markdownTable(["a", "b"], [["1", "2"]], [false, true])).toBe("| a | b |\n| --- | ---: |\n| 1 | 2 |");
  });

  test("gives the telemetry overhead round by round with its standard error", () => {
    const rounds = (...rps: number[]) => rps.map((x) => http("t", x, 5));
    const paired = pairedOverhead({ off: rounds(10_000, 8_000, 12_000), on: rounds(9_000, 7_600, 10_200) });
    // Costs 10%, 5% and 15%: mean 10, sample sd 5, standard error 5/√3.
    expect(paired?.meanPct).toBeCloseTo(10, 9);
    expect(paired?.standardErrorPct).toBeCloseTo(5 / Math.sqrt(3), 9);
    expect(pairedOverhead({ off: rounds(10_000), on: rounds(9_000) })).toBeNull();
  });

  test("judges a soak flat when the end is within 10% of the RSS after a minute", () => {
    const at = (atS: number, rssMb: number) => ({ atS, rssMb });
    expect(soakFlat([at(0, 50), at(60, 100), at(600, 105)])?.flat).toBe(true);
    expect(soakFlat([at(0, 50), at(60, 100), at(600, 140)])?.flat).toBe(false);
    expect(soakFlat([at(0, 50)])).toBeNull();
  });
});

test("tells which phase set the gateway's memory peak", () => {
  const f = fixture();
  if (!f.memory.gateway) throw new Error("fixture has gateway memory");
  f.memory.gateway.samples = [
    { atS: 1, rssMb: 80 },
    { atS: 5, rssMb: 100 },
    { atS: 12, rssMb: 240 },
    { atS: 25, rssMb: 150 },
  ];
  f.memory.phases = [
    { phase: "gateway", startS: 0, endS: 10 },
    { phase: "batch", startS: 10, endS: 20 },
    { phase: "e2e", startS: 20, endS: 30 },
  ];
  expect(phasePeaks(f)).toBe("; gateway's sampled peak by phase: gateway 100 MB, batch 240 MB, e2e 150 MB");
});

describe("bench chart", () => {
  test("draws one bar per measured system in each panel, escaped, as valid SVG", () => {
    const svg = renderChart(chartData(fixture()));
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    expect(svg.match(/<rect /g)?.length).toBe(1 + 7 + 4); // background, 7 throughput bars, 4 p99 bars
    expect(svg).toContain("30,000/s");
    expect(renderChart({ title: "<a & b>", throughput: [{ label: "x", value: Number.NaN, kind: "peer" }], p99: [] })).toContain("&lt;a &amp; b&gt;");
  });
});

test("a soak's RESULT carries start, peak and end RSS of both processes and whether each stayed flat", () => {
  const f = fixture();
  const memory = {
    gateway: {
      startMb: 60,
      peakSampledMb: 120,
      endMb: 100,
      hwmMb: 121,
      samples: [
        { atS: 0, rssMb: 60 },
        { atS: 60, rssMb: 100 },
        { atS: 600, rssMb: 100 },
      ],
    },
    processor: {
      startMb: 70,
      peakSampledMb: 200,
      endMb: 190,
      hwmMb: 200,
      samples: [
        { atS: 0, rssMb: 70 },
        { atS: 60, rssMb: 120 },
        { atS: 600, rssMb: 190 },
      ],
    },
  };
  if (!f.e2e) throw new Error("fixture has e2e");
  const line = resultLine({ ...f, soak: { seconds: 600, sampleEveryS: 5, e2e: f.e2e, memory } });
  expect(line).toMatchObject({ soak_seconds: 600, gateway_rss_peak_mb: 121, gateway_rss_flat: true, processor_rss_end_mb: 190, processor_rss_flat: false });
});

test("telemetry: a default phase, overhead judged against 10%, its figures in RESULT and the text", () => {
  expect(parseBenchArgs([]).phases).toContain("telemetry");
  expect(parseBenchArgs(["--phases", "telemetry"]).phases).toEqual(["telemetry"]);
  const f = fixture();
  const row = (r: BenchResults) => checkTargets(r, computeRatios(r)).find((c) => c.name.startsWith("telemetry overhead"));
  expect(row(f)?.met).toBeNull();
  f.telemetry = {
    sampleRatio: 0.1,
    off: [http("off", 20_000, 8), http("off", 20_000, 9)],
    on: [http("on", 19_000, 9), http("on", 17_000, 10)],
    offRps: 20_000,
    onRps: 18_000,
    offP99: 9,
    onP99: 10,
    overheadPct: 10,
    spans: 300,
    tracesSampled: 100,
    logLinesOn: 1000,
    acceptedOn: 1000,
  };
  expect(row(f)).toMatchObject({ met: true, shown: "10.0%" });
  f.telemetry.overheadPct = 10.5;
  expect(row(f)?.met).toBe(false);
  expect(resultLine(f)).toMatchObject({ telemetry_off_rps: 20_000, telemetry_on_rps: 18_000, telemetry_overhead_pct: 10.5 });
  expect(renderText(f)).toContain("20,000 → 18,000 req/s (10.5% overhead)");
});

describe("runtimes", () => {
  const rounds = (...rps: number[]) => rps.map((x, i) => ({ ...http("r", x, 8 + i), peakRssMb: 100 + i * 10 }));
  function runtimes(): RuntimesRun {
    return {
      roundsEach: 2,
      order: [
        ["bun", "node", "node_ws", "deno", "workerd"],
        ["workerd", "deno", "node_ws", "node", "bun"],
      ],
      variants: [
        summarizeRuntime({ key: "bun", runtime: "bun", transport: "tcp", store: "redis" }, "Bun 1.4.5", rounds(20_000, 18_000)),
        summarizeRuntime({ key: "node", runtime: "node", transport: "tcp", store: "redis" }, "Node v20.20.2", rounds(9_000, 10_000)),
        summarizeRuntime({ key: "node_ws", runtime: "node", transport: "ws", store: "redis" }, "Node v20.20.2", rounds(8_000, 7_200)),
        summarizeRuntime({ key: "deno", runtime: "deno", transport: "tcp", store: "redis" }, "Deno 2.9.6", rounds(15_000, 13_500)),
        summarizeRuntime({ key: "workerd", runtime: "workerd", transport: "ws", store: "upstash-rest" }, "workerd 2026-11-23", rounds(5_700, 5_700)),
      ],
    };
  }

  test("a default phase with two rounds, and runs on its own", () => {
    expect(parseBenchArgs(["--quick"]).phases).toContain("runtimes");
    expect(parseBenchArgs(["--phases", "runtimes", "--quick"])).toMatchObject({ phases: ["runtimes"], runtimeRounds: 2 });
    expect(parseBenchArgs(["--runtime-rounds", "4"]).runtimeRounds).toBe(4);
    expect(() => parseBenchArgs(["--runtime-rounds", "0"])).toThrow(/--runtime-rounds/);
  });

  test("folds each variant's rounds: mean req/s and p50, the worst p99, the largest peak RSS", () => {
    const bun = runtimes().variants[0];
    expect(bun).toMatchObject({ rps: 19_000, p50: 2, p99: 9, peakRssMb: 110 });
  });

  test("a table row per runtime with its transport, store and ratio to Bun", () => {
    const rows = runtimeRows(runtimes());
    expect(rows.map((r) => r[4])).toEqual(["1.00×", "0.50×", "0.40×", "0.75×", "0.30×"]);
    expect(rows[4]?.slice(0, 4)).toEqual(["workerd 2026-11-23", "WebSocket", "Upstash REST → Redis", "5,700"]);
    expect(rows[2]?.[9]).toBe("8,000, 7,200");
    const f = { ...fixture(), runtimes: runtimes() };
    expect(renderMarkdown(f)).toMatch(/\| Deno 2\.9\.6 \| TCP \| Redis \(TCP\) \| 14,250 \| 0\.75× \| 2 \| 9 \| 110 MB \|/);
    expect(renderText(f)).toContain("the gateway per runtime: 2 rounds each");
  });

  test("RESULT carries each runtime's req/s and ratio to Bun, null when the phase did not run", () => {
    expect(resultLine({ ...fixture(), runtimes: runtimes() })).toMatchObject({
      bun_runtime_rps: 19_000,
      node_rps: 9_500,
      node_vs_bun: 0.5,
      node_ws_rps: 7_600,
      deno_rps: 14_250,
      deno_vs_bun: 0.75,
      workerd_rps: 5_700,
      workerd_vs_bun: 0.3,
    });
    expect(resultLine(fixture())).toMatchObject({ bun_runtime_rps: null, node_rps: null, deno_rps: null, workerd_rps: null, workerd_vs_bun: null });
  });

  test("warns about a round that answered non-2xx", () => {
    const run = runtimes();
    const workerd = run.variants[4];
    if (!workerd) throw new Error("fixture has workerd");
    workerd.rounds[1] = { ...http("workerd gateway", 5_000, 9), non2xx: 12 };
    expect(warnings({ ...fixture(), runtimes: run })).toContain("workerd gateway: 12 non-2xx and 0 socket errors during the measured run");
  });
});

describe("isolation and parked", () => {
  function e2eAt(sentPerS: number): NonNullable<BenchResults["e2e"]> {
    const f = fixture();
    if (!f.e2e) throw new Error("fixture has e2e");
    return { ...f.e2e, sentPerS };
  }
  function isolated(maxMs: number): NonNullable<BenchResults["isolation"]> {
    return {
      low: 50_000,
      holdMs: 100,
      lowPostedS: 2.6,
      backlogAtFirst: 49_057,
      backlogAtLast: 45_904,
      lowSentByEnd: 4_096,
      urgent: 20,
      urgentEveryMs: 250,
      urgentSent: Number.isFinite(maxMs) ? 20 : 19,
      urgentMs: { p50: 10, max: maxMs, each: [10, maxMs] },
      quiet: true,
    };
  }

  test("opt-in phases that run alone, fewer notifications with --quick", () => {
    expect(parseBenchArgs([]).phases).not.toContain("isolation");
    expect(parseBenchArgs([]).phases).not.toContain("parked");
    expect(parseBenchArgs(["--phases", "parked,isolation"]).phases).toEqual(["isolation", "parked"]);
    expect(parseBenchArgs([])).toMatchObject({ isolationLow: 50_000, isolationUrgent: 20, isolationEveryMs: 250, parkedCount: 100_000 });
    expect(parseBenchArgs(["--quick"])).toMatchObject({ isolationLow: 20_000, parkedCount: 20_000 });
  });

  test("judges urgent sent within 1 s behind the low backlog, and puts the figures in RESULT and the text", () => {
    const f = { ...fixture(), isolation: isolated(49) };
    const row = (r: BenchResults) => checkTargets(r, computeRatios(r)).find((c) => c.name.startsWith("urgent sent"));
    expect(row(fixture())?.met).toBeNull();
    expect(row(f)).toMatchObject({ name: "urgent sent with 50,000 low queued (max)", bar: "≤ 1 s", met: true });
    expect(row({ ...f, isolation: isolated(1200) })?.met).toBe(false);
    expect(resultLine(f)).toMatchObject({ isolation_low_backlog: 49_057, isolation_urgent_p50_ms: 10, isolation_urgent_max_ms: 49 });
    expect(renderText(f)).toContain("urgent p50 10 ms · max 49 ms");
    expect(resultLine(fixture())).toMatchObject({ isolation_low_backlog: null, isolation_urgent_p50_ms: null, isolation_urgent_max_ms: null });
  });

  test("an urgent one never sent misses the bar, shows as -1 in RESULT and warns", () => {
    const f = { ...fixture(), isolation: isolated(Number.POSITIVE_INFINITY) };
    expect(checkTargets(f, computeRatios(f)).find((c) => c.name.startsWith("urgent sent"))?.met).toBe(false);
    expect(resultLine(f).isolation_urgent_max_ms).toBe(-1);
    expect(warnings(f)).toContain("isolation: 1 of 20 urgent notifications never sent");
  });

  test("reports sent/s with none and with the parked ones, their ratio, and warns when fewer were parked", () => {
    const parked = {
      parked: 100_000,
      parkedStored: 100_000,
      none: [e2eAt(10_000), e2eAt(12_000)],
      withParked: [e2eAt(9_900), e2eAt(11_000)],
      noneSentPerS: 11_000,
      parkedSentPerS: 10_450,
      ratio: 0.95,
    };
    const f = { ...fixture(), parked };
    expect(resultLine(f)).toMatchObject({ parked_none_sent_per_s: 11_000, parked_100k_sent_per_s: 10_450, parked_ratio: 0.95 });
    expect(renderText(f)).toContain("11,000 → 10,450 sent/s (0.95×)");
    expect(resultLine(fixture())).toMatchObject({ parked_none_sent_per_s: null, parked_100k_sent_per_s: null, parked_ratio: null });
    expect(warnings({ ...f, parked: { ...parked, parkedStored: 99_000 } })).toContain("parked: 100000 parked but the schedules table holds 99000");
  });

  test("reports sent/s empty and with millions stored, their ratio, the pass's, and warns when fewer were stored or the pass removed nothing", () => {
    expect(parseBenchArgs([]).phases).not.toContain("retention");
    expect(parseBenchArgs([])).toMatchObject({ retentionRows: 5_000_000, retentionRounds: 3 });
    expect(parseBenchArgs(["--quick"])).toMatchObject({ retentionRows: 500_000 });
    const retention = {
      rows: 5_000_000,
      held: { notifications: 5_000_000, attempts: 5_000_000, bytes: 4 * 2 ** 30 },
      storeS: 300,
      empty: [e2eAt(10_000), e2eAt(12_000)],
      stored: [e2eAt(10_500), e2eAt(11_100)],
      emptySentPerS: 11_000,
      storedSentPerS: 10_800,
      ratio: 0.98,
      pass: {
        days: 60,
        seconds: 70,
        windows: 4,
        windowS: 20,
        done: true,
        droppedNotifications: 1_300_000,
        droppedAttempts: 1_300_000,
        longestDropMs: 40,
        deletedNotifications: 400_000,
        deletedAttempts: 400_000,
        batches: 200,
        longestBatchMs: 300,
        round: e2eAt(9_000),
        onSentPerS: 8_640,
        offSentPerS: 10_800,
        ratio: 0.8,
      },
    };
    const f = { ...fixture(), retention };
    expect(resultLine(f)).toMatchObject({
      retention_empty_sent_per_s: 11_000,
      retention_stored_sent_per_s: 10_800,
      retention_stored_ratio: 0.98,
      retention_pass_sent_per_s: 8_640,
      retention_paused_sent_per_s: 10_800,
      retention_pass_ratio: 0.8,
      retention_pass_s: 70,
    });
    expect(renderText(f)).toContain("11,000 → 10,800 sent/s (0.98×)");
    expect(resultLine(fixture())).toMatchObject({ retention_stored_ratio: null, retention_pass_ratio: null });
    const short = {
      ...retention,
      held: { ...retention.held, notifications: 4_000_000 },
      pass: { ...retention.pass, droppedNotifications: 0, deletedNotifications: 0, done: false },
    };
    expect(renderText(f)).toContain("10,800 → 8,640 sent/s (0.80×)");
    expect(warnings({ ...f, retention: short })).toEqual(
      expect.arrayContaining([
        "retention: 5000000 to store but the table holds 4000000",
        "retention: the pass removed nothing",
        "retention: the round ended before the pass was done",
      ]),
    );
  });

  test("reports the breaker's cost a send and the suppression lookup's a message, with each round", () => {
    const failover = {
      sends: 200_000,
      rounds: 2,
      directUs: [0.1, 0.12],
      closedUs: [0.4, 0.42],
      openUs: [0.45, 0.5],
      breakerUs: 0.3,
      failoverUs: 0.38,
      suppressions: 100_000,
      batch: 512,
      lookupMs: 2.56,
      lookupUsPerMessage: 5,
    };
    const f = { ...fixture(), failover };
    expect(resultLine(f)).toMatchObject({ failover_breaker_us: 0.3, failover_lookup_us: 5 });
    expect(renderText(f)).toContain("breaker +0.30 µs a send · failing over +0.38 µs · suppression lookup 5.0 µs a message");
    expect(renderText(f)).toContain("direct 0.10, 0.12");
    expect(resultLine(fixture())).toMatchObject({ failover_breaker_us: null, failover_lookup_us: null });
  });
});

describe("signing", () => {
  test("reports what a tenant's secret and a rotation's second one add to a webhook send, and the cache's read", () => {
    const signing = {
      sends: 40_000,
      rounds: 2,
      deploymentUs: [40, 42],
      tenantUs: [40.2, 41.9],
      rotatingUs: [45, 47],
      lookupUs: 0.05,
      tenantAddedUs: 0.05,
      rotatingAddedUs: 5,
      tenantRatio: 1.001,
      loadsDuringRounds: 0,
      tenants: 64,
      readMs: 7.5,
    };
    const f = { ...fixture(), signing };
    expect(resultLine(f)).toMatchObject({ signing_tenant_us: 0.05, signing_tenant_ratio: 1.001, signing_lookup_us: 0.05, signing_read_ms: 7.5 });
    expect(renderText(f)).toContain(
      "tenant's secret +0.05 µs a send (1.00×; the cached lookup 0.050 µs) · two in a grace +5.00 µs · read of 64 tenants 7.50 ms",
    );
    expect(resultLine(fixture())).toMatchObject({ signing_tenant_us: null, signing_read_ms: null });
  });
});

describe("templates and render", () => {
  const rounds = (name: string, ...rps: number[]) => rps.map((x, i) => http(`${name} (round ${i + 1})`, x, 8 + i));
  function templates(): NonNullable<BenchResults["templates"]> {
    return {
      explicit: rounds("herald explicit send", 20_000, 18_000),
      template: rounds("herald template send", 15_000, 12_000),
      explicitRps: 19_000,
      templateRps: 13_500,
      explicitP99: 8.5,
      templateP99: 8.5,
      ratio: 13_500 / 19_000,
    };
  }
  const render = {
    notifications: 20_000,
    rounds: 3,
    cachedUs: [12.34, 11.9, 12.1],
    uncachedUs: [80.2, 79.5, 81],
    perNotificationUs: 12.1,
    uncachedPerNotificationUs: 80.2,
    validateUs: 1.234,
  };

  test("opt-in phases that run alone, in the table's order", () => {
    expect(parseBenchArgs([]).phases).not.toContain("templates");
    expect(parseBenchArgs([]).phases).not.toContain("render");
    expect(parseBenchArgs(["--phases", "render,templates"]).phases).toEqual(["templates", "render"]);
  });

  test("puts the template and explicit req/s, their ratio and the render cost in RESULT, null when not run", () => {
    const f = { ...fixture(), templates: templates(), render };
    expect(resultLine(f)).toMatchObject({ template_accept_rps: 13_500, explicit_accept_rps: 19_000, template_accept_ratio: 0.71, render_us: 12.1 });
    expect(resultLine(fixture())).toMatchObject({ template_accept_rps: null, explicit_accept_rps: null, template_accept_ratio: null, render_us: null });
  });

  test("shows each round's req/s and p99 of both bodies, and each render round", () => {
    const text = renderText({ ...fixture(), templates: templates(), render });
    expect(text).toContain("19,000 → 13,500 req/s (0.71×)");
    expect(text).toContain("explicit: 20,000, 18,000 req/s, p99 8, 9 ms");
    expect(text).toContain("by template (cached version, variables check, profile from Postgres): 15,000, 12,000 req/s, p99 8, 9 ms");
    expect(text).toContain("12.1 µs through the parse cache · 80.2 µs parsing every field");
    expect(text).toContain("cached 12.3, 11.9, 12.1 · uncached 80.2, 79.5, 81.0; the accept path's variables check 1.23 µs a send");
  });

  test("warns about a round that answered non-2xx", () => {
    const t = templates();
    const second = t.template[1];
    if (!second) throw new Error("fixture has two template rounds");
    t.template[1] = { ...second, non2xx: 40 };
    expect(warnings({ ...fixture(), templates: t })).toEqual(["herald template send (round 2): 40 non-2xx and 0 socket errors during the measured run"]);
  });
});
