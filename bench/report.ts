// Turns one run's results into the printed table, the Markdown file and the
// RESULT line. Pure functions of BenchResults, so they are unit-tested.
import { mean, meanWithStandardError } from "./lib/stats.ts";
import { checkTargets, computeRatios, peakRss, soakFlat, type Ratios, type TargetCheck } from "./targets.ts";
import {
  type BenchResults,
  type E2eRun,
  type FailoverRun,
  type SigningRun,
  type SubscriberRun,
  type FanoutRun,
  type FanoutVariant,
  type HttpRun,
  type IsolationRun,
  type ParkedRun,
  type RetentionRun,
  type RenderRun,
  RUNTIME_KEYS,
  type RuntimesRun,
  type TelemetryRun,
  type TemplatesRun,
} from "./types.ts";

const int = (n: number) => Math.round(n).toLocaleString("en-US");
// autocannon reports whole milliseconds at these rates; print decimals only when there are some.
const ms = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 2 : 1));
const x = (n: number | null) => (n === null ? "—" : `${n.toFixed(2)}×`);
const mb = (n: number | null) => (n === null ? "n/a" : `${Math.round(n)} MB`);
const cores = (n: number) => n.toFixed(2);

type Row = string[];

/** A Markdown table; `align` marks right-aligned (numeric) columns. */
export function markdownTable(head: Row, rows: Row[], align: boolean[] = []): string {
  const sep = head.map((_, i) => (align[i] ? "---:" : "---"));
  return [head, sep, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

/** A plain-text table with columns padded to their widest cell. */
export function textTable(head: Row, rows: Row[], align: boolean[] = []): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: Row) => r.map((c, i) => (align[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

function httpRow(label: string, run: HttpRun | undefined, vsHerald: number | null): Row | null {
  if (!run) return null;
  const checks = run.non2xx + run.errors > 0 ? ` (${run.non2xx} non-2xx, ${run.errors} errors)` : "";
  return [
    label,
    `${int(run.rps)}${checks}`,
    ms(run.p50),
    ms(run.p99),
    ms(run.p999),
    x(vsHerald),
    cores(run.serverCores),
    cores(run.loadgenCores),
    mb(run.peakRssMb),
  ];
}

const SYSTEM_HEAD = ["system", "req/s (2xx)", "p50 ms", "p99 ms", "p99.9 ms", "Herald is", "server cores", "loadgen cores", "peak RSS"];
const SYSTEM_ALIGN = [false, true, true, true, true, true, true, true, true];

/** One row per system under the same single-POST load, plus the ceilings. */
export function systemRows(r: BenchResults, ratios: Ratios): Row[] {
  const peer = (n: string) => r.peers.find((p) => p.name === n);
  const rows = [
    httpRow("Herald (Bun + Hono)", r.herald, null),
    httpRow("Express 5 (Node)", peer("express"), ratios.heraldVsExpress),
    httpRow("Fastify 5 (Node)", peer("fastify"), ratios.heraldVsFastify),
    httpRow("bare Bun.serve (HTTP ceiling)", r.bunServe, ratios.heraldVsBunServe),
  ].filter((row): row is Row => row !== null);
  if (r.jetstream)
    rows.push([`JetStream publish, window ${r.jetstream.window} (broker ceiling)`, int(r.jetstream.rps), "", "", "", x(ratios.heraldVsJetstream), "", "", ""]);
  return rows;
}

const RUNTIME_HEAD = ["runtime", "NATS", "idempotency store", "req/s (2xx)", "vs Bun", "p50 ms", "p99 ms", "peak RSS", "server cores", "req/s by round"];
const RUNTIME_ALIGN = [false, false, false, true, true, true, true, true, true, false];
const STORES = { redis: "Redis (TCP)", "upstash-rest": "Upstash REST → Redis" } as const;

/** Each variant's req/s over Bun's in the same phase; null without a Bun figure. */
export function runtimeRatios(run: RuntimesRun): Map<string, number | null> {
  const bun = run.variants.find((v) => v.key === "bun")?.rps;
  return new Map(run.variants.map((v) => [v.key, bun === undefined || bun <= 0 ? null : v.rps / bun]));
}

/** One row per runtime variant: the figures of its rounds, Bun as 1.0. */
export function runtimeRows(run: RuntimesRun): Row[] {
  const ratios = runtimeRatios(run);
  return run.variants.map((v) => {
    const failed = v.rounds.reduce((n, round) => n + round.non2xx + round.errors, 0);
    return [
      v.version,
      v.transport === "ws" ? "WebSocket" : "TCP",
      STORES[v.store],
      `${int(v.rps)}${failed > 0 ? ` (${failed} non-2xx or errors)` : ""}`,
      x(ratios.get(v.key) ?? null),
      ms(v.p50),
      ms(v.p99),
      mb(v.peakRssMb),
      cores(v.serverCores),
      v.rounds.map((round) => int(round.rps)).join(", "),
    ];
  });
}

function runtimesTitle(run: RuntimesRun): string {
  return `the gateway per runtime: ${run.roundsEach} rounds each, a fresh process per round, order alternating; p50 the rounds' mean, p99 the worst round's`;
}

function otherRows(r: BenchResults, ratios: Ratios): Row[] {
  const rows: Row[] = [];
  if (r.fixed) {
    const f = r.fixed;
    rows.push([
      "fixed rate (50% of max)",
      `${int(f.achievedRps)} of ${int(f.targetRps)} req/s`,
      `p50 ${ms(f.p50)} · p99 ${ms(f.p99)} · p99.9 ${ms(f.p999)} ms${f.non2xx + f.errors > 0 ? ` · ${f.non2xx} non-2xx, ${f.errors} errors` : ""}`,
    ]);
  }
  if (r.batch) {
    const b = r.batch;
    rows.push([
      `batch (${b.batchSize}-item batches, ${b.connections} connections)`,
      `${int(b.itemsPerS)} notifications/s`,
      `${x(ratios.batchVsJetstream)} the JetStream ceiling · p99 ${ms(b.p99)} ms per batch · stream ${b.stream.ok ? "holds every item" : `MISSING ${b.stream.expected - b.stream.held}`}`,
    ]);
  }
  if (r.e2e) {
    const e = r.e2e;
    rows.push([
      `end to end (${e.windowS} s measured)`,
      `${int(e.sentPerS)} sent/s`,
      `per second min ${int(e.perSecond.min)} · median ${int(e.perSecond.median)} · max ${int(e.perSecond.max)}; ${int(e.accepted)} accepted (${int(e.webhooks)} webhooks, ${int(e.webhookReceiver.delivered)} verified by the receiver); feeder held back by the backlog cap ${Math.round(e.throttledShare * 100)}% of the time; ` +
        `${e.drained ? `drained ${e.drainS.toFixed(1)} s after feeding stopped` : "NOT DRAINED"}: lanes ${e.final.pending} pending / ${e.final.ackPending} ack-pending, Postgres ${int(e.final.byStatus.sent ?? 0)} sent`,
    ]);
  }
  if (r.scheduler) {
    const sc = r.scheduler;
    rows.push([
      `scheduler (${int(sc.scheduled)} due ${sc.aheadS} s ahead, ${int(sc.dueNow)} due now)`,
      `due-now sent in ${sc.dueNowSentS.toFixed(2)} s`,
      `scheduled ones sent ${int(sc.lateMs.min)} ms after their time at the earliest, ${int(sc.lateMs.p50)} ms at p50, ${int(sc.lateMs.p99)} ms p99, ${int(sc.lateMs.max)} ms max; lane ack-pending while they waited ≤ ${int(sc.maxAckPendingWhileWaiting)}; ` +
        `${int(sc.sentOnce)} delivered once, ${sc.missing} missing, ${sc.duplicated} twice or more`,
    ]);
  }
  if (r.isolation) rows.push(isolationRow(r.isolation));
  if (r.parked) rows.push(parkedRow(r.parked));
  if (r.retention) rows.push(...retentionRows(r.retention));
  if (r.templates) rows.push(templatesRow(r.templates));
  if (r.failover) rows.push(failoverRow(r.failover));
  if (r.signing) rows.push(signingRow(r.signing));
  if (r.subscriber) rows.push(subscriberRow(r.subscriber));
  if (r.fanout) rows.push(fanoutRow(r.fanout));
  if (r.render) rows.push(renderRow(r.render));
  if (r.telemetry) rows.push(telemetryRow(r.telemetry));
  if (r.jetstream) rows.push(["JetStream publish one at a time", `${int(r.jetstream.serialRps)} publishes/s`, "for contrast with the window"]);
  rows.push([
    "memory",
    `gateway ${mb(peakRss(r.memory.gateway))} · processor ${mb(peakRss(r.memory.processor))}`,
    `peak RSS of each process tree during the run${phasePeaks(r)}`,
  ]);
  return rows;
}

/**
 * The overhead round by round: 1 − on/off of each round's adjacent pair, as a
 * mean and its standard error, so a reader sees how far the box's drift leaves
 * the headline figure uncertain. Null with fewer than two pairs.
 */
export function pairedOverhead(t: Pick<TelemetryRun, "off" | "on">): { meanPct: number; standardErrorPct: number } | null {
  const n = Math.min(t.off.length, t.on.length);
  if (n < 2) return null;
  const costs = Array.from({ length: n }, (_, i) => (1 - (t.on[i]?.rps ?? 0) / (t.off[i]?.rps ?? 1)) * 100);
  const { mean, standardError } = meanWithStandardError(costs);
  return { meanPct: mean, standardErrorPct: standardError };
}

const msOrNever = (n: number) => (Number.isFinite(n) ? `${int(n)} ms` : "never");

/** Urgent 202 → sent beside the low backlog, and how big that backlog really was. */
export function isolationRow(i: IsolationRun): Row {
  return [
    `priority isolation (${int(i.low)} low queued, ${i.urgent} urgent every ${i.urgentEveryMs} ms)`,
    `urgent p50 ${msOrNever(i.urgentMs.p50)} · max ${msOrNever(i.urgentMs.max)}`,
    `202 → Postgres sent_at; low lane pending + ack-pending ${int(i.backlogAtFirst)} at the first urgent, ${int(i.backlogAtLast)} after the last; ` +
      `low webhooks held ${i.holdMs} ms by the receiver, queued in ${i.lowPostedS.toFixed(1)} s, ${int(i.lowSentByEnd)} sent by the end; ${i.urgentSent} of ${i.urgent} urgent sent`,
  ];
}

/** The breaker's cost on one send and the batch's suppression lookup, each round's figure so the spread shows. */
export function failoverRow(f: FailoverRun): Row {
  const us = (xs: number[]) => xs.map((v) => v.toFixed(2)).join(", ");
  return [
    `failover on the send path (${int(f.sends)} sends × ${f.rounds} rounds, alternating)`,
    `breaker +${f.breakerUs.toFixed(2)} µs a send · failing over +${f.failoverUs.toFixed(2)} µs · suppression lookup ${f.lookupUsPerMessage.toFixed(1)} µs a message`,
    `µs a send to the sink: direct ${us(f.directUs)} · through closed breakers ${us(f.closedUs)} · primary open ${us(f.openUs)}; ` +
      `one lookup of ${f.batch} addresses among ${int(f.suppressions)} suppressions: ${f.lookupMs.toFixed(2)} ms median`,
  ];
}

/** Per-tenant secrets' cost on one webhook send and the cache's read, each round's figure so the spread shows. */
export function signingRow(g: SigningRun): Row {
  const us = (xs: number[]) => xs.map((v) => v.toFixed(2)).join(", ");
  return [
    `per-tenant webhook secrets on the send path (${int(g.sends)} sends × ${g.rounds} rounds, alternating)`,
    `tenant's secret +${g.tenantAddedUs.toFixed(2)} µs a send (${x(g.tenantRatio)}; the cached lookup ${g.lookupUs.toFixed(3)} µs) · two in a grace +${g.rotatingAddedUs.toFixed(2)} µs · read of ${g.tenants} tenants ${g.readMs.toFixed(2)} ms`,
    `µs a webhook send to a stub: deployment secret ${us(g.deploymentUs)} · tenant's one, cached ${us(g.tenantUs)} · two ${us(g.rotatingUs)}; ` +
      `${g.loadsDuringRounds} reads of the secrets during the rounds; a stale tenant is read at most once per 5 s, with the batch's others`,
  ];
}

/** @herald/events' events/s by handler and concurrency, beside a bare consumer's. */
export function subscriberRow(sr: SubscriberRun): Row {
  const of = (handler: string, c: number) => sr.variants.find((v) => v.handler === handler && v.concurrency === c);
  const rate = (handler: string, c: number) => int(of(handler, c)?.eventsPerS ?? 0);
  const cpu = (handler: string, c: number) => (of(handler, c)?.cpuUs ?? 0).toFixed(1);
  return [
    `@herald/events subscriber (${int(sr.events)} stored events, ${sr.rounds} rounds)`,
    `no-op handler ${rate("none", 1)} events/s at concurrency 1 · ${rate("none", 64)} at 64`,
    `1 ms handler ${rate("1 ms", 1)} events/s at concurrency 1 (${int(of("1 ms", 1)?.events ?? 0)} events) · ${rate("1 ms", 64)} at 64; ` +
      `CPU µs an event: no-op ${cpu("none", 1)} at 1, ${cpu("none", 64)} at 64; ` +
      `a bare pull consumer acking unparsed: ${int(sr.bareEventsPerS)} events/s, ${sr.bareCpuUs.toFixed(1)} µs; medians of the rounds`,
  ];
}

/** Status webhooks' fan-out: events/s and CPU per event with no endpoints and with some per tenant. */
export function fanoutRow(f: FanoutRun): Row {
  const side = (v: FanoutVariant) => `${int(v.eventsPerS)} events/s, ${v.cpuUsPerEvent.toFixed(1)} µs CPU/event (rounds ${v.rounds.map(int).join(", ")})`;
  return [
    `status-webhook fan-out (${int(f.events)} events each way, ${f.tenants} tenants)`,
    `no endpoints ${side(f.none)} · ${f.some.endpointsPerTenant} per tenant ${side(f.some)}`,
    `${int(f.some.deliveriesPerRound)} delivery rows per B round; ${(f.some.cpuUsPerEvent / Math.max(f.none.cpuUsPerEvent, 1e-9)).toFixed(2)}× the CPU per event; medians`,
  ];
}

/** Explicit vs by template, each round's req/s and p99 so the spread shows. */
export function templatesRow(t: TemplatesRun): Row {
  const rounds = (runs: HttpRun[]) => `${runs.map((run) => int(run.rps)).join(", ")} req/s, p99 ${runs.map((run) => ms(run.p99)).join(", ")} ms`;
  // The gateway's CPU per accepted request: what each body costs it, beside what it could answer.
  const cpuUs = (runs: HttpRun[]) => int(mean(runs.map((run) => (run.rps > 0 ? (run.serverCores / run.rps) * 1e6 : 0))));
  return [
    `send by template vs explicit payload (${t.explicit.length}+${t.template.length} alternating rounds)`,
    `${int(t.explicitRps)} → ${int(t.templateRps)} req/s (${x(t.ratio)}) · p99 ${ms(t.explicitP99)} → ${ms(t.templateP99)} ms`,
    `explicit: ${rounds(t.explicit)}, gateway CPU ${cpuUs(t.explicit)} µs a request · by template (cached version, variables check, profile from Postgres): ${rounds(t.template)}, gateway CPU ${cpuUs(t.template)} µs a request`,
  ];
}

/** The processor's render per notification, with and without the parse cache, each round's figure. */
export function renderRow(r: RenderRun): Row {
  const us = (xs: number[]) => xs.map((v) => v.toFixed(1)).join(", ");
  return [
    `render per notification (${int(r.notifications)} × ${r.rounds} rounds, alternating)`,
    `${r.perNotificationUs.toFixed(1)} µs through the parse cache · ${r.uncachedPerNotificationUs.toFixed(1)} µs parsing every field`,
    `µs a notification: cached ${us(r.cachedUs)} · uncached ${us(r.uncachedUs)}; the accept path's variables check ${r.validateUs.toFixed(2)} µs a send`,
  ];
}

/** Sent/s with none parked against many parked, each round's figure so the spread shows. */
export function parkedRow(p: ParkedRun): Row {
  const rounds = (runs: E2eRun[]) => runs.map((run) => int(run.sentPerS)).join(", ");
  return [
    `end to end beside ${int(p.parked)} parked (${p.none.length}+${p.withParked.length} alternating rounds)`,
    `${int(p.noneSentPerS)} → ${int(p.parkedSentPerS)} sent/s (${x(p.ratio)})`,
    `none: ${rounds(p.none)} sent/s · ${int(p.parked)} parked an hour ahead (${int(p.parkedStored)} rows in schedules): ${rounds(p.withParked)} sent/s; two stacks, none first`,
  ];
}

/** Sent/s with an empty table against millions stored, each round's figure so the spread shows; then during a retention pass. */
export function retentionRows(t: RetentionRun): Row[] {
  const rounds = (runs: E2eRun[]) => runs.map((run) => int(run.sentPerS)).join(", ");
  const p = t.pass;
  return [
    [
      `end to end with ${int(t.held.notifications)} stored (${t.empty.length}+${t.stored.length} alternating rounds)`,
      `${int(t.emptySentPerS)} → ${int(t.storedSentPerS)} sent/s (${x(t.ratio)})`,
      `empty: ${rounds(t.empty)} sent/s · stored: ${rounds(t.stored)} sent/s; ${int(t.held.attempts)} attempts beside them, ${(t.held.bytes / 2 ** 30).toFixed(2)} GiB with indexes, stored in ${Math.round(t.storeS)} s`,
    ],
    [
      `end to end during a retention pass (${p.days} days, ${p.windows} windows of ${p.windowS} s, pauses between)`,
      `${int(p.offSentPerS)} → ${int(p.onSentPerS)} sent/s (${x(p.ratio)})`,
      `paused → running; the pass ran ${p.seconds.toFixed(0)} s${p.done ? "" : " and was NOT done when the round ended"}: dropped ${int(p.droppedNotifications)} notifications and ${int(p.droppedAttempts)} attempts with their month (longest drop ${int(p.longestDropMs)} ms), deleted ${int(p.deletedNotifications)} and ${int(p.deletedAttempts)} in ${int(p.batches)} statements (longest ${int(p.longestBatchMs)} ms)`,
    ],
  ];
}

/** Off vs on, each round's req/s so the interleaving's spread shows. */
export function telemetryRow(t: TelemetryRun): Row {
  const rounds = (runs: HttpRun[]) => runs.map((run) => int(run.rps)).join(", ");
  const paired = pairedOverhead(t);
  return [
    `telemetry off vs on (${t.off.length}+${t.on.length} interleaved rounds)`,
    `${int(t.offRps)} → ${int(t.onRps)} req/s (${t.overheadPct.toFixed(1)}% overhead)`,
    `off (LOG_LEVEL=warn, no OTLP): ${rounds(t.off)} req/s, p99 ≤ ${ms(t.offP99)} ms · on (LOG_LEVEL=info, OTLP at ${Math.round(t.sampleRatio * 100)}%): ${rounds(t.on)} req/s, p99 ≤ ${ms(t.onP99)} ms · ` +
      (paired ? `round by round ${paired.meanPct.toFixed(1)} ± ${paired.standardErrorPct.toFixed(1)}% (mean ± standard error) · ` : "") +
      `receiver got ${int(t.spans)} spans in ${int(t.tracesSampled)} traces for ${int(t.acceptedOn)} accepted; ${int(t.logLinesOn)} log lines`,
  ];
}

/** The gateway's sampled peak within each phase, e.g. " (gateway: gateway 150 MB, batch 240 MB)". */
export function phasePeaks(r: BenchResults): string {
  const samples = r.memory.gateway?.samples ?? [];
  const parts = (r.memory.phases ?? []).flatMap((p) => {
    const within = samples.filter((s) => s.atS >= p.startS && s.atS <= p.endS).map((s) => s.rssMb);
    return within.length > 0 ? [`${p.phase} ${Math.round(Math.max(...within))} MB`] : [];
  });
  return parts.length > 0 ? `; gateway's sampled peak by phase: ${parts.join(", ")}` : "";
}

function targetRows(checks: TargetCheck[]): Row[] {
  return checks.map((c) => [c.name, c.bar, c.shown, c.met === null ? "not measured" : c.met ? "met" : "MISSED"]);
}

/** Problems that make a figure untrustworthy; printed loudly and kept in the JSON. */
export function warnings(r: BenchResults): string[] {
  const w: string[] = [];
  const runtimeRounds = r.runtimes?.variants.flatMap((v) => v.rounds) ?? [];
  const templateRounds = [...(r.templates?.explicit ?? []), ...(r.templates?.template ?? [])];
  for (const run of [r.herald, ...r.peers, r.bunServe, ...(r.telemetry?.off ?? []), ...(r.telemetry?.on ?? []), ...runtimeRounds, ...templateRounds]) {
    if (!run) continue;
    if (run.non2xx > 0 || run.errors > 0) w.push(`${run.name}: ${run.non2xx} non-2xx and ${run.errors} socket errors during the measured run`);
    if (run.stream && !run.stream.ok) w.push(`${run.name}: answered ${run.stream.answered2xx} 2xx but the stream holds ${run.stream.held}`);
    if (!run.quiet) w.push(`${run.name}: the box was busy before the phase`);
  }
  if (r.batch && !r.batch.stream.ok) w.push(`batch: expected ${r.batch.stream.expected} messages, the stream holds ${r.batch.stream.held}`);
  if (r.e2e) {
    if (!r.e2e.drained) w.push(`e2e: backlog not drained (pending ${r.e2e.final.pending}, ack pending ${r.e2e.final.ackPending})`);
    if (r.e2e.webhookReceiver.delivered < r.e2e.webhooks) w.push(`e2e: ${r.e2e.webhooks} webhooks accepted, ${r.e2e.webhookReceiver.delivered} delivered`);
    if (r.e2e.webhookReceiver.rejected > 0) w.push(`e2e: ${r.e2e.webhookReceiver.rejected} webhooks failed signature verification`);
    if (r.e2e.failedBatches > 0) w.push(`e2e: the gateway failed ${r.e2e.failedBatches} batches`);
    if (r.e2e.final.dlqMessages > 0) w.push(`e2e: ${r.e2e.final.dlqMessages} dead letters`);
  }
  if (r.scheduler) {
    const sc = r.scheduler;
    if (sc.missing > 0 || sc.duplicated > 0) w.push(`scheduler: ${sc.missing} never delivered, ${sc.duplicated} delivered more than once`);
    if (sc.lateMs.max > 2000) w.push(`scheduler: the latest scheduled notification was sent ${int(sc.lateMs.max)} ms after its time`);
    if (sc.lateMs.min < 0) w.push(`scheduler: a scheduled notification was sent ${int(-sc.lateMs.min)} ms before its time`);
    if (sc.dueNowSentS > 5) w.push(`scheduler: the due-now notifications took ${sc.dueNowSentS.toFixed(1)} s`);
    if (!sc.quiet) w.push("scheduler: the box was busy before the phase");
  }
  if (r.isolation) {
    const i = r.isolation;
    if (i.urgentSent < i.urgent) w.push(`isolation: ${i.urgent - i.urgentSent} of ${i.urgent} urgent notifications never sent`);
    if (i.backlogAtFirst < i.low * 0.8) w.push(`isolation: only ${i.backlogAtFirst} of ${i.low} low were still queued at the first urgent`);
    if (!i.quiet) w.push("isolation: the box was busy before the phase");
  }
  if (r.parked) {
    const p = r.parked;
    if (p.parkedStored < p.parked) w.push(`parked: ${p.parked} parked but the schedules table holds ${p.parkedStored}`);
    for (const [side, runs] of [
      ["none", p.none],
      ["parked", p.withParked],
    ] as const)
      for (const e of runs) {
        if (!e.drained) w.push(`parked (${side}): backlog not drained (pending ${e.final.pending}, ack pending ${e.final.ackPending})`);
        if (e.failedBatches > 0) w.push(`parked (${side}): the gateway failed ${e.failedBatches} batches`);
      }
  }
  if (r.retention) {
    const t = r.retention;
    if (t.held.notifications < t.rows) w.push(`retention: ${t.rows} to store but the table holds ${t.held.notifications}`);
    for (const [side, runs] of [
      ["empty", t.empty],
      ["stored", t.stored],
      ["pass", [t.pass.round]],
    ] as const)
      for (const e of runs) if (!e.drained) w.push(`retention (${side}): backlog not drained (pending ${e.final.pending}, ack pending ${e.final.ackPending})`);
    if (t.pass.droppedNotifications + t.pass.deletedNotifications === 0) w.push("retention: the pass removed nothing");
    if (!t.pass.done) w.push("retention: the round ended before the pass was done");
  }
  return w;
}

const round = (n: number | undefined, digits = 0) => (n === undefined ? null : Number(n.toFixed(digits)));
// JSON has no Infinity: an urgent notification never sent shows as -1, not as a figure that passes.
const finite = (n: number | undefined) => (n === undefined ? null : Number.isFinite(n) ? Math.round(n) : -1);

/** The machine-readable summary printed as the last line, `RESULT {json}`. */
export function resultLine(r: BenchResults): Record<string, number | boolean | string | null> {
  if (r.soak) return soakResultLine(r.soak);
  const ratios = computeRatios(r);
  const checks = checkTargets(r, ratios);
  const peer = (n: string) => r.peers.find((p) => p.name === n);
  const measured = checks.filter((c) => c.met !== null);
  return {
    gateway_rps: round(r.herald?.rps),
    gateway_p50_ms: round(r.herald?.p50, 2),
    gateway_p99_ms: round(r.herald?.p99, 2),
    gateway_p999_ms: round(r.herald?.p999, 2),
    gateway_non2xx: r.herald ? r.herald.non2xx + r.herald.errors : null,
    fixed_rate_rps: round(r.fixed?.achievedRps),
    fixed_p50_ms: round(r.fixed?.p50, 2),
    fixed_p99_ms: round(r.fixed?.p99, 2),
    fixed_p999_ms: round(r.fixed?.p999, 2),
    express_rps: round(peer("express")?.rps),
    express_p99_ms: round(peer("express")?.p99, 2),
    fastify_rps: round(peer("fastify")?.rps),
    fastify_p99_ms: round(peer("fastify")?.p99, 2),
    bun_serve_rps: round(r.bunServe?.rps),
    batch_rps: round(r.batch?.itemsPerS),
    jetstream_publish_rps: round(r.jetstream?.rps),
    e2e_sent_per_s: round(r.e2e?.sentPerS),
    e2e_drained: r.e2e ? r.e2e.drained : null,
    scheduler_due_now_s: round(r.scheduler?.dueNowSentS, 2),
    scheduler_late_p99_ms: round(r.scheduler?.lateMs.p99),
    scheduler_late_max_ms: round(r.scheduler?.lateMs.max),
    isolation_low_backlog: r.isolation ? r.isolation.backlogAtFirst : null,
    isolation_urgent_p50_ms: finite(r.isolation?.urgentMs.p50),
    isolation_urgent_max_ms: finite(r.isolation?.urgentMs.max),
    parked_none_sent_per_s: round(r.parked?.noneSentPerS),
    parked_100k_sent_per_s: round(r.parked?.parkedSentPerS),
    parked_ratio: round(r.parked?.ratio, 2),
    retention_empty_sent_per_s: round(r.retention?.emptySentPerS),
    retention_stored_sent_per_s: round(r.retention?.storedSentPerS),
    retention_stored_ratio: round(r.retention?.ratio, 2),
    retention_pass_sent_per_s: round(r.retention?.pass.onSentPerS),
    retention_paused_sent_per_s: round(r.retention?.pass.offSentPerS),
    retention_pass_ratio: round(r.retention?.pass.ratio, 2),
    retention_pass_s: round(r.retention?.pass.seconds, 1),
    failover_breaker_us: round(r.failover?.breakerUs, 2),
    failover_lookup_us: round(r.failover?.lookupUsPerMessage, 1),
    signing_tenant_us: round(r.signing?.tenantAddedUs, 2),
    signing_tenant_ratio: round(r.signing?.tenantRatio, 3),
    signing_lookup_us: round(r.signing?.lookupUs, 3),
    signing_read_ms: round(r.signing?.readMs, 2),
    subscriber_noop_c1_events_per_s: round(r.subscriber?.variants.find((v) => v.handler === "none" && v.concurrency === 1)?.eventsPerS),
    subscriber_noop_c64_events_per_s: round(r.subscriber?.variants.find((v) => v.handler === "none" && v.concurrency === 64)?.eventsPerS),
    subscriber_noop_c64_cpu_us: round(r.subscriber?.variants.find((v) => v.handler === "none" && v.concurrency === 64)?.cpuUs, 1),
    template_accept_rps: round(r.templates?.templateRps),
    explicit_accept_rps: round(r.templates?.explicitRps),
    template_accept_ratio: round(r.templates?.ratio, 2),
    render_us: round(r.render?.perNotificationUs, 2),
    gateway_rss_mb: round(peakRss(r.memory.gateway) ?? undefined),
    processor_rss_mb: round(peakRss(r.memory.processor) ?? undefined),
    loadgen_cores: round(r.herald?.loadgenCores, 2),
    herald_vs_express: round(ratios.heraldVsExpress ?? undefined, 2),
    herald_vs_fastify: round(ratios.heraldVsFastify ?? undefined, 2),
    herald_vs_jetstream: round(ratios.heraldVsJetstream ?? undefined, 2),
    batch_vs_jetstream: round(ratios.batchVsJetstream ?? undefined, 2),
    telemetry_off_rps: round(r.telemetry?.offRps),
    telemetry_on_rps: round(r.telemetry?.onRps),
    telemetry_overhead_pct: round(r.telemetry?.overheadPct, 1),
    telemetry_spans: r.telemetry ? r.telemetry.spans : null,
    ...runtimeResult(r.runtimes),
    targets_met: `${measured.filter((c) => c.met).length}/${measured.length}`,
    quick: r.plan.quick,
  };
}

/** `bun_runtime_rps` (Bun in the runtimes phase, beside the others), `node_rps`, `node_ws_rps`, `deno_rps`, `workerd_rps`, and each one's `_vs_bun`. */
function runtimeResult(run: RuntimesRun | undefined): Record<string, number | null> {
  const ratios = run ? runtimeRatios(run) : new Map<string, number | null>();
  const line: Record<string, number | null> = {};
  for (const key of RUNTIME_KEYS) {
    line[key === "bun" ? "bun_runtime_rps" : `${key}_rps`] = round(run?.variants.find((v) => v.key === key)?.rps);
    if (key !== "bun") line[`${key}_vs_bun`] = round(ratios.get(key) ?? undefined, 2);
  }
  return line;
}

function soakResultLine(soak: NonNullable<BenchResults["soak"]>): Record<string, number | boolean | string | null> {
  const line: Record<string, number | boolean | string | null> = {
    soak_seconds: soak.seconds,
    e2e_sent_per_s: round(soak.e2e.sentPerS),
    e2e_drained: soak.e2e.drained,
  };
  for (const name of ["gateway", "processor"] as const) {
    const m = soak.memory[name];
    line[`${name}_rss_start_mb`] = round(m?.startMb);
    line[`${name}_rss_peak_mb`] = round(peakRss(m) ?? undefined);
    line[`${name}_rss_end_mb`] = round(m?.endMb);
    line[`${name}_rss_flat`] = soakFlat(m?.samples ?? [])?.flat ?? null;
  }
  return line;
}

function machineLine(r: BenchResults): string {
  const m = r.machine;
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, Linux ${m.kernel}; Bun ${m.bun}, Node ${m.node}, NATS ${m.nats}, Postgres ${m.postgres}, Redis ${m.redis}`;
}

function soakRows(r: BenchResults): Row[] {
  if (!r.soak) return [];
  return (["gateway", "processor"] as const).map((name) => {
    const m = r.soak?.memory[name];
    const flat = soakFlat(m?.samples ?? []);
    const verdict = flat === null ? "n/a" : `${flat.flat ? "flat" : "GREW"} (${Math.round(flat.settledMb)} → ${Math.round(flat.endMb)} MB)`;
    return [name, mb(m?.startMb ?? null), mb(peakRss(m)), mb(m?.endMb ?? null), verdict];
  });
}

/** Everything a reader needs, as printed to the terminal. */
export function renderText(r: BenchResults): string {
  const ratios = computeRatios(r);
  const parts = [`machine: ${machineLine(r)}`, ""];
  if (r.plan.mode === "soak" && r.soak) {
    parts.push(
      `soak: ${r.soak.seconds} s of end-to-end load, RSS sampled every ${r.soak.sampleEveryS} s`,
      textTable(["process", "start", "peak", "end", "after the first minute"], soakRows(r), [false, true, true, true, false]),
    );
    if (r.soak.e2e) parts.push(`sustained ${int(r.soak.e2e.sentPerS)} sent/s; ${r.soak.e2e.drained ? "drained" : "NOT DRAINED"}`);
  } else {
    const systems = systemRows(r, ratios);
    if (systems.length > 0) parts.push(textTable(SYSTEM_HEAD, systems, SYSTEM_ALIGN), "");
    if (r.runtimes) parts.push(`${runtimesTitle(r.runtimes)}:`, textTable(RUNTIME_HEAD, runtimeRows(r.runtimes), RUNTIME_ALIGN), "");
    parts.push(textTable(["phase", "figure", "detail"], otherRows(r, ratios)), "");
    parts.push(textTable(["target", "bar", "this run", "verdict"], targetRows(checkTargets(r, ratios))));
  }
  const w = warnings(r);
  if (w.length > 0) parts.push("", "WARNINGS:", ...w.map((line) => `  - ${line}`));
  if (r.notes.length > 0) parts.push("", ...r.notes.map((n) => `note: ${n}`));
  return parts.join("\n");
}

/** The same as Markdown, for bench/results/<timestamp>.md and docs/performance.md. */
export function renderMarkdown(r: BenchResults, chartFile?: string): string {
  const ratios = computeRatios(r);
  const parts = [
    `Run of ${r.startedAt} (${r.plan.quick ? "`--quick`" : r.plan.mode === "soak" ? "`--soak`" : "full"}, ${Math.round(r.elapsedS)} s). Machine: ${machineLine(r)}.`,
    "",
  ];
  if (r.plan.mode === "soak" && r.soak) {
    parts.push(markdownTable(["process", "RSS start", "peak", "end", "after the first minute"], soakRows(r), [false, true, true, true, false]));
    parts.push("", `Sustained ${int(r.soak.e2e.sentPerS)} sent/s over the soak; backlog ${r.soak.e2e.drained ? "drained" : "NOT DRAINED"} after it.`);
  } else {
    const systems = systemRows(r, ratios);
    if (systems.length > 0) parts.push(markdownTable(SYSTEM_HEAD, systems, SYSTEM_ALIGN), "");
    if (r.runtimes) {
      const title = runtimesTitle(r.runtimes);
      parts.push(`${title[0]?.toUpperCase()}${title.slice(1)}.`, "", markdownTable(RUNTIME_HEAD, runtimeRows(r.runtimes), RUNTIME_ALIGN), "");
    }
    parts.push(markdownTable(["phase", "figure", "detail"], otherRows(r, ratios)), "");
    parts.push(markdownTable(["target", "bar", "this run", "verdict"], targetRows(checkTargets(r, ratios))));
  }
  if (chartFile) parts.push("", `![throughput and p99 per system](${chartFile})`);
  const w = warnings(r);
  if (w.length > 0) parts.push("", "**Warnings**", "", ...w.map((line) => `- ${line}`));
  if (r.notes.length > 0) parts.push("", ...r.notes.map((n) => `- ${n}`));
  return `${parts.join("\n")}\n`;
}
