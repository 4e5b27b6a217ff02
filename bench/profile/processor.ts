// Processor probe: how fast does `herald processor` turn work-stream
// messages into `sent` rows, and who burns the CPU while it does?
//
// On its own namespace and database it publishes N envelopes of the gateway's
// shape straight to the work stream (mostly in_app → inbox, a share of webhooks
// to a bare local receiver), runs `herald processor` as a child process, and
// times until every row is `sent` and every lane shows num_pending 0 and
// num_ack_pending 0. It prints sent/s, the CPU seconds of the processor,
// Postgres, nats-server and this probe over the run, and the processor's RSS.
//
//   bun bench/profile/processor.ts [--count 100000] [--webhooks 0.1]
//     [--mode prepublished|concurrent] [--rate 15000] [--set KEY=VALUE ...]
//
// prepublished: the backlog is in the stream before the processor starts; the
//               clock starts when the processor logs "processor consuming".
// concurrent:   the processor runs first; publishing (at --rate/s, 0 = as fast
//               as the window allows) and consuming overlap; the clock starts
//               with the first publish.
// Run it under the shared CPU lock: flock -x /tmp/herald-cpu.lock bun bench/profile/processor.ts
import { jetstreamManager } from "@nats-io/jetstream";
import { count, eq, max } from "drizzle-orm";
import { readdirSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parseConfig } from "../../schemas/config.ts";
import { uuidv7 } from "../../gateway/ids.ts";
import { createAckPublisher } from "../../lib/nats/ack-publisher.ts";
import { ensureStreams } from "../../lib/nats/streams.ts";
import { PRIORITIES } from "../../schemas/enums.ts";
import type { Envelope } from "../../schemas/envelope.ts";
import { notifications } from "../../schemas/tables.ts";
import { startHerald } from "../../test/support/herald-process.ts";
import { connectTestNats, topology } from "../../test/support/services.ts";
import { createStack } from "../../test/support/stack.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "100000" },
    webhooks: { type: "string", default: "0.1" },
    mode: { type: "string", default: "prepublished" },
    rate: { type: "string", default: "0" },
    window: { type: "string", default: "1024" },
    set: { type: "string", multiple: true, default: [] },
    "timeout-s": { type: "string", default: "300" },
  },
});
const N = Number(values.count);
const webhookShare = Number(values.webhooks);
const mode = values.mode === "concurrent" ? "concurrent" : "prepublished";
const rate = Number(values.rate);
const windowSize = Number(values.window);
const overrides = Object.fromEntries(values.set.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));

// A bare receiver: answers 204 at once and counts deliveries per webhook-id.
const hits = new Map<string, number>();
const receiver = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    await req.arrayBuffer();
    const id = req.headers.get("webhook-id") ?? "";
    hits.set(id, (hits.get(id) ?? 0) + 1);
    return new Response(null, { status: 204 });
  },
});
const hookUrl = `http://127.0.0.1:${receiver.port}/hook`;

const stack = await createStack({ LOG_LEVEL: "info", ...overrides });
const cfg = parseConfig(stack.env);
const topo = topology(stack.namespace);
const nc = await connectTestNats();
const jsm = await jetstreamManager(nc);
await ensureStreams(nc, topo, {
  duplicateWindowMs: cfg.HERALD_DUPLICATE_WINDOW_MS,
  ackWaitMs: cfg.HERALD_ACK_WAIT_MS,
  maxAckPending: cfg.HERALD_MAX_ACK_PENDING,
});

const webhookEvery = webhookShare > 0 ? Math.round(1 / webhookShare) : 0;
function envelopeAt(i: number): Envelope {
  const now = Date.now();
  const hook = webhookEvery > 0 && i % webhookEvery === 0;
  return {
    v: 1,
    id: uuidv7(now),
    tenantId: "acme",
    userId: `user-${i % 1000}`,
    channel: hook ? "webhook" : "in_app",
    type: "transactional",
    priority: "normal",
    payload: hook ? { url: hookUrl, body: { n: i, kind: "probe" } } : { title: "Probe", body: `Hello #${i}` },
    metadata: null,
    idempotencyKey: null,
    correlationId: `probe-${i}`,
    scheduledFor: null,
    acceptedAt: new Date(now).toISOString(),
  };
}

/**
 * Publishes `total` envelopes with up to `windowSize` awaiting their ack, paced
 * to `perSecond` when > 0. Through the processor's AckedPublisher (one reply
 * subscription), so the load generator costs about what the gateway's publish
 * window costs, not a request per message.
 */
async function publishAll(total: number, perSecond: number): Promise<number> {
  const publisher = createAckPublisher(nc, { timeoutMs: 10_000 });
  const chunk = 256;
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const from = next;
      const to = Math.min(total, from + chunk);
      next = to;
      if (perSecond > 0) {
        const dueMs = (from / perSecond) * 1000 - (performance.now() - started);
        if (dueMs > 1) await Bun.sleep(dueMs);
      }
      const messages = Array.from({ length: to - from }, (_, k) => {
        const e = envelopeAt(from + k);
        return { subject: topo.sendSubject(e.priority, e.channel), data: JSON.stringify(e), msgId: `${e.tenantId}:${e.id}` };
      });
      const report = await publisher.publishAll(messages);
      if (report.failed > 0) throw new Error(`${report.failed} publishes failed: ${report.firstError}`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.ceil(windowSize / chunk)) }, worker));
  publisher.close();
  return (performance.now() - started) / 1000;
}

// CPU ticks per process name, so the split between processor, Postgres and NATS is visible.
function cpuTicksByPid(): Map<number, { comm: string; ticks: number }> {
  const out = new Map<number, { comm: string; ticks: number }>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(Number(d), { comm, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // exited while we looked
    }
  }
  return out;
}
function cpuSplit(before: Map<number, { ticks: number }>, after: Map<number, { comm: string; ticks: number }>, processorPid: number): Record<string, number> {
  const split: Record<string, number> = { processor: 0, postgres: 0, "nats-server": 0, probe: 0, other: 0 };
  const others = new Map<string, number>();
  for (const [pid, a] of after) {
    const d = (a.ticks - (before.get(pid)?.ticks ?? 0)) / 100;
    if (d <= 0) continue;
    const key = pid === processorPid ? "processor" : pid === process.pid ? "probe" : a.comm === "postgres" || a.comm === "nats-server" ? a.comm : "other";
    split[key] = (split[key] ?? 0) + d;
    if (key === "other") others.set(a.comm, (others.get(a.comm) ?? 0) + d);
  }
  const top = [...others].sort((a, b) => b[1] - a[1]).slice(0, 4);
  console.log(`"other" CPU by process name: ${top.map(([c, v]) => `${c} ${v.toFixed(1)} s`).join(", ")}`);
  return split;
}
function rssMb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (f: string) => Number(new RegExp(`^${f}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) / 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

const sentCount = async () => (await stack.db.db.select({ n: count() }).from(notifications).where(eq(notifications.status, "sent")))[0]?.n ?? 0;
async function lanesIdle(): Promise<boolean> {
  for (const p of PRIORITIES) {
    const info = await jsm.consumers.info(topo.streams.work, topo.laneConsumer(p));
    if (info.num_pending > 0 || info.num_ack_pending > 0) return false;
  }
  return true;
}

let processor: Awaited<ReturnType<typeof startHerald>> | undefined;
try {
  let publishS = 0;
  if (mode === "prepublished") {
    publishS = await publishAll(N, 0);
    console.log(`published ${N} envelopes (${(webhookShare * 100).toFixed(0)}% webhooks) in ${publishS.toFixed(2)} s → ${(N / publishS).toFixed(0)}/s`);
  }
  const spawned = performance.now();
  processor = await startHerald("processor", stack.env);
  const pid = processor.proc.pid;
  const t0 = performance.now();
  console.log(`processor pid ${pid} consuming after ${((t0 - spawned) / 1000).toFixed(2)} s`);
  const publishing = mode === "concurrent" ? publishAll(N, rate).then((s) => (publishS = s)) : Promise.resolve(0);
  const cpuStart = cpuTicksByPid();
  const rssSeries: number[] = [];
  let last = 0;
  let lastT = t0;
  const deadline = t0 + Number(values["timeout-s"]) * 1000;
  for (;;) {
    await Bun.sleep(1000);
    const n = await sentCount();
    const now = performance.now();
    const { rss } = rssMb(pid);
    rssSeries.push(rss);
    console.log(`  t=${((now - t0) / 1000).toFixed(1)}s sent ${n} (+${Math.round((n - last) / ((now - lastT) / 1000))}/s) rss ${rss.toFixed(0)} MB`);
    last = n;
    lastT = now;
    if (n >= N && (await lanesIdle())) break;
    if (now > deadline) throw new Error(`not drained within ${values["timeout-s"]} s: ${n}/${N} sent`);
  }
  await publishing;
  // The 1 s polls overshoot the finish; the sent_at of the last row is the real one.
  const [span] = await stack.db.db.select({ last: max(notifications.sentAt) }).from(notifications);
  const cpuEnd = cpuTicksByPid();
  // CPU is read from the first to the last poll, which overshoots the drain by up to a second.
  const cpuWindowS = (performance.now() - t0) / 1000;
  const mem = rssMb(pid);
  const lastSentMs = span?.last?.getTime() ?? Date.now();
  const elapsedS = (lastSentMs - (Date.now() - (performance.now() - t0))) / 1000;
  const split = cpuSplit(cpuStart, cpuEnd, pid);
  const webhookHits = [...hits.values()];
  const result = {
    mode,
    count: N,
    webhook_share: webhookShare,
    rate: mode === "concurrent" ? rate : null,
    publish_s: Number(publishS.toFixed(2)),
    drain_s: Number(elapsedS.toFixed(2)),
    sent_per_s: Math.round(N / elapsedS),
    webhooks_received: webhookHits.length,
    webhook_duplicates: webhookHits.filter((h) => h > 1).length,
    cpu_s: Object.fromEntries(Object.entries(split).map(([k, v]) => [k, Number(v.toFixed(1))])),
    cpu_window_s: Number(cpuWindowS.toFixed(2)),
    processor_cpu_pct: Math.round(((split.processor ?? 0) / cpuWindowS) * 100),
    processor_rss_mb: Math.round(mem.rss),
    processor_peak_rss_mb: Math.round(mem.hwm),
    overrides,
  };
  console.log(
    `drained ${N} in ${elapsedS.toFixed(2)} s → ${result.sent_per_s} sent/s; processor CPU ${result.processor_cpu_pct}% of a core, RSS ${result.processor_rss_mb} MB (peak ${result.processor_peak_rss_mb} MB)`,
  );
  console.log(`CPU seconds over ${cpuWindowS.toFixed(1)} s: ${JSON.stringify(result.cpu_s)}`);
  const byMsg = new Map<string, number>();
  for (const l of processor.logs) byMsg.set(String(l.msg), (byMsg.get(String(l.msg)) ?? 0) + 1);
  console.log(`processor log lines: ${[...byMsg].map(([m, n]) => `${n}× ${m}`).join("; ")}`);
  console.log(`PROBE ${JSON.stringify(result)}`);
} finally {
  await processor?.signal("SIGTERM");
  await nc.close();
  await receiver.stop(true);
  await stack.cleanup();
}
