// `npm run bench`: one invocation measures Herald's gateway, a
// fixed-rate latency run, batch ingest, end to end, the gateway on Node, Deno
// and workerd against Bun, the Express and Fastify peers, and the box's
// ceilings (bare Bun.serve, JetStream publish), all on namespaces and a
// database of its own that it removes afterwards, even on failure or Ctrl-C.
// Prints a table with ratios, writes bench/results/, and ends with
// `RESULT {json}`.
// Usage: npm run bench -- [--quick] [--soak] … (see bench/args.ts)
import { connect } from "@nats-io/transport-node";
import { topology } from "../schemas/subjects.ts";
import { deleteRedisPrefix, SERVICES } from "../test/support/services.ts";
import { TENANT_KEY } from "../test/support/constants.ts";
import { createStack } from "../test/support/stack.ts";
import { startWebhookReceiver } from "../test/support/webhook-receiver.ts";
import { parseBenchArgs, USAGE, type BenchPlan } from "./args.ts";
import { cleanupOnSignals, createCleanup, type Cleanup } from "./lib/cleanup.ts";
import { serviceVersions, startWatched, stopHerald } from "./lib/herald.ts";
import { describeMachine } from "./lib/machine.ts";
import { writeResults } from "./lib/results.ts";
import { createRssMonitor, type RssMonitor } from "./lib/rss-monitor.ts";
import { purgeStream } from "./lib/stream.ts";
import { e2ePhase } from "./phases/e2e.ts";
import { batchPhase, fixedRatePhase, gatewayPhase, type HeraldGateway } from "./phases/herald-ingest.ts";
import { bunServePhase, jetstreamPhase } from "./phases/limits.ts";
import { peersPhase } from "./phases/peers.ts";
import { runtimesPhase } from "./phases/runtimes.ts";
import { isolationPhase } from "./phases/isolation.ts";
import { parkedPhase } from "./phases/parked.ts";
import { retentionPhase } from "./phases/retention.ts";
import { failoverPhase } from "./phases/failover.ts";
import { schedulerPhase } from "./phases/scheduler.ts";
import { telemetryPhase } from "./phases/telemetry.ts";
import { templatesPhase } from "./phases/templates.ts";
import { renderPhase } from "./phases/render.ts";
import { signingPhase } from "./phases/signing.ts";
import { subscriberPhase } from "./phases/subscriber.ts";
import { fanoutPhase } from "./phases/fanout.ts";
import { renderText, resultLine } from "./report.ts";
import type { BenchResults, MemoryFigures, TreeMemory } from "./types.ts";

const log = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

const NOTES = [
  "Each system gets the same body and a fresh Idempotency-Key per request, so each does validation, a Redis SET NX and a JetStream publish awaiting the ack.",
  "Herald's gateway runs with LOG_LEVEL=warn (no per-request info line), as the peers log no requests.",
  "The processor runs only in the end-to-end phase: the ingest phases (gateway, fixed rate, batch) run the gateway alone, with its work stream purged before each phase.",
  "Peers publish to namespaces whose streams and consumers are created by Herald's own ensureStreams (same shape). autocannon runs in its own Node process; 'loadgen cores' is its CPU time over the run.",
];

function memoryOf(monitor: RssMonitor, name: string): TreeMemory | null {
  const s = monitor.series(name);
  if (!s || s.samples.length === 0) return null;
  return { startMb: s.startMb, peakSampledMb: s.peakMb, endMb: s.endMb, hwmMb: s.hwmMb, samples: [...s.samples] };
}

/** The run's own namespace, database and Redis prefix, the gateway started, and the services' versions. */
async function setUp(plan: BenchPlan, cleanup: Cleanup) {
  const nc = await connect({ servers: SERVICES.nats });
  cleanup.defer("NATS connection", () => nc.close());
  // The webhook receiver is on loopback, so the processor must be allowed to reach it.
  const stack = await createStack({ HERALD_WEBHOOK_ALLOW_PRIVATE: "1", LOG_LEVEL: "info" });
  let removed: Promise<void> | null = null;
  /** Removes the run's streams, Redis keys and database; safe to call again. */
  const removeStack = () => (removed ??= stack.cleanup());
  cleanup.defer("namespace streams, Redis keys and database", removeStack);
  const monitor = createRssMonitor(plan.sampleEveryS * 1000);
  cleanup.defer("RSS monitor", () => monitor.stop());
  const machine = await describeMachine(await serviceVersions(nc, stack.db.url, SERVICES.redis));
  log(`namespace ${stack.namespace}, database ${stack.db.name}`);
  return { nc, stack, monitor, machine, removeStack };
}

async function runSuite(plan: BenchPlan, cleanup: Cleanup, startedAt: string): Promise<Omit<BenchResults, "elapsedS">> {
  const { nc, stack, monitor, machine, removeStack } = await setUp(plan, cleanup);
  const results: Omit<BenchResults, "elapsedS"> = { startedAt, plan, machine, peers: [], memory: { gateway: null, processor: null }, notes: [...NOTES] };
  const has = (p: BenchPlan["phases"][number]) => plan.phases.includes(p);
  const spans: NonNullable<MemoryFigures["phases"]> = [];
  const span = async <T>(phase: string, run: () => Promise<T>): Promise<T> => {
    const startS = monitor.elapsedS();
    try {
      return await run();
    } finally {
      spans.push({ phase, startS, endS: monitor.elapsedS() });
    }
  };

  if (has("gateway") || has("fixed") || has("batch") || has("templates") || has("e2e") || has("scheduler") || has("isolation")) {
    const gateway = await startWatched("gateway", stack.env, monitor, cleanup);
    const gw: HeraldGateway = { url: gateway.url, pid: gateway.proc.pid, apiKey: TENANT_KEY, nc, stream: topology(stack.namespace).streams.work };
    if (has("gateway")) {
      log(`gateway: ${plan.connections} connections, ${plan.warmupS} s warm-up + ${plan.durationS} s`);
      results.herald = await span("gateway", () => gatewayPhase(gw, plan));
    }
    if (has("fixed")) {
      if (results.herald) {
        log(`fixed rate: ${Math.round(results.herald.rps / 2)} req/s for ${plan.durationS} s`);
        const maxRps = results.herald.rps;
        results.fixed = await span("fixed", () => fixedRatePhase(gw, plan, maxRps));
      } else results.notes.push("fixed rate skipped: it needs the gateway phase's maximum");
    }
    if (has("batch")) {
      log(`batch: ${plan.batchSize}-item batches, ${plan.batchConnections} connections, ${plan.warmupS} s warm-up + ${plan.durationS} s`);
      results.batch = await span("batch", () => batchPhase(gw, plan));
    }
    if (has("templates")) {
      const opts = { connections: plan.connections, warmupS: plan.warmupS, durationS: plan.durationS, rounds: 4 };
      log(`templates: explicit vs by template, ${opts.rounds} rounds each alternating, ${opts.connections} connections, 1 s warm-up + ${opts.durationS} s`);
      results.templates = await span("templates", () => templatesPhase(gw, opts, log));
      results.notes.push(
        "Templates phase: the gateway phase's load on the same gateway with an email to bench-user, explicit (to, subject, body) or by template (bench-order, published, with a variables schema; the gateway reads the version from its 5 s cache, checks data against the schema and reads the user's profile from Postgres); rounds alternate explicit-template, template-explicit, the stream purged before each.",
      );
    }
    if (has("e2e")) {
      await purgeStream(nc, gw.stream);
      const receiver = startWebhookReceiver();
      cleanup.defer("webhook receiver", () => receiver.stop());
      const processor = await startWatched("processor", stack.env, monitor, cleanup);
      log(`e2e: ${plan.e2eRampS} s ramp + ${plan.e2eSeconds} s measured`);
      results.e2e = await span("e2e", () =>
        e2ePhase(
          {
            gatewayUrl: gw.url,
            apiKey: TENANT_KEY,
            nc,
            namespace: stack.namespace,
            databaseUrl: stack.db.url,
            receiver,
            gatewayPid: gw.pid,
            processorPid: processor.proc.pid,
          },
          { rampS: plan.e2eRampS, seconds: plan.e2eSeconds, batchSize: plan.batchSize, drainTimeoutS: plan.quick ? 60 : 120 },
          log,
        ),
      );
      await monitor.sampleNow();
      await stopHerald(processor);
    }
    if (has("scheduler")) {
      await purgeStream(nc, gw.stream);
      const receiver = startWebhookReceiver();
      cleanup.defer("scheduler webhook receiver", () => receiver.stop());
      const processor = await startWatched("processor", stack.env, monitor, cleanup);
      const opts = { scheduled: plan.schedulerCount, dueNow: plan.schedulerDueNow, aheadS: plan.schedulerAheadS };
      log(`scheduler: ${opts.scheduled} webhooks ${opts.aheadS} s ahead, then ${opts.dueNow} due now`);
      results.scheduler = await span("scheduler", () =>
        schedulerPhase({ gatewayUrl: gw.url, apiKey: TENANT_KEY, nc, namespace: stack.namespace, databaseUrl: stack.db.url, receiver }, opts, log),
      );
      await stopHerald(processor);
    }
    if (has("isolation")) {
      await purgeStream(nc, gw.stream);
      const slowPath = "/slow";
      const receiver = startWebhookReceiver({ [slowPath]: () => ({ status: 200, holdMs: plan.isolationHoldMs }) });
      cleanup.defer("isolation webhook receiver", () => receiver.stop());
      const processor = await startWatched("processor", stack.env, monitor, cleanup);
      const opts = { low: plan.isolationLow, urgent: plan.isolationUrgent, urgentEveryMs: plan.isolationEveryMs, slowPath, holdMs: plan.isolationHoldMs };
      log(`isolation: ${opts.low} low webhooks held ${opts.holdMs} ms each, then ${opts.urgent} urgent every ${opts.urgentEveryMs} ms`);
      results.isolation = await span("isolation", () =>
        isolationPhase({ gatewayUrl: gw.url, apiKey: TENANT_KEY, nc, namespace: stack.namespace, databaseUrl: stack.db.url, receiver }, opts, log),
      );
      await stopHerald(processor);
    }
    await monitor.sampleNow();
    await stopHerald(gateway);
    results.memory = { gateway: memoryOf(monitor, "gateway"), processor: memoryOf(monitor, "processor"), phases: spans };
  }
  if (has("parked")) {
    const receiver = startWebhookReceiver();
    cleanup.defer("parked webhook receiver", () => receiver.stop());
    const opts = { parked: plan.parkedCount, rounds: plan.parkedRounds, rampS: plan.e2eRampS, seconds: plan.durationS, batchSize: plan.batchSize };
    log(`parked: ${opts.rounds} rounds each of ${opts.rampS} s ramp + ${opts.seconds} s end to end, none and ${opts.parked} parked, alternating`);
    results.parked = await span("parked", () => parkedPhase({ apiKey: TENANT_KEY, nc, receiver, cleanup }, opts, log));
    results.notes.push(
      "Parked phase: two stacks of its own (namespace, database, gateway and processor each), one with nothing scheduled and one with the parked notifications due an hour ahead; the end-to-end feeder runs on each in turn, none first, alternating.",
    );
  }
  if (has("retention")) {
    const receiver = startWebhookReceiver();
    cleanup.defer("retention webhook receiver", () => receiver.stop());
    const opts = {
      rows: plan.retentionRows,
      days: 90,
      rounds: plan.retentionRounds,
      rampS: plan.e2eRampS,
      seconds: plan.durationS,
      passRoundS: plan.quick ? 120 : 900,
      windowS: plan.quick ? 10 : 20,
      batchSize: plan.batchSize,
    };
    log(
      `retention: ${opts.rows} stored over ${opts.days} days, then ${opts.rounds} rounds each of ${opts.rampS} s ramp + ${opts.seconds} s, empty and stored, alternating; then a pass`,
    );
    results.retention = await span("retention", () => retentionPhase({ apiKey: TENANT_KEY, nc, receiver, cleanup }, opts, log));
    results.notes.push(
      "Retention phase: two stacks of their own, one empty and one with the stored notifications (each with an attempt, over 90 days, five tenants, loaded month by month as attached partitions, then vacuumed); the end-to-end feeder runs on each in turn, empty first; then, in one round on the stored stack, a retention pass with a 60-day default alternates with pauses as long until it is done, and Postgres's sent_at gives the sent/s of both.",
    );
  }
  if (has("failover")) {
    const opts = { sends: plan.failoverSends, rounds: 5, suppressions: 100_000, batch: 512, lookups: 50 };
    log(`failover: ${opts.rounds} rounds of ${opts.sends} sends each way, then a ${opts.batch}-address suppression lookup among ${opts.suppressions}`);
    results.failover = await span("failover", () => failoverPhase(opts, log));
  }
  if (has("signing")) {
    const opts = { sends: plan.signingSends, rounds: 7, tenants: 64, reads: 50 };
    log(`signing: ${opts.rounds} rounds of ${opts.sends} webhook sends each way in interleaved blocks, then a read of ${opts.tenants} tenants' secrets`);
    results.signing = await span("signing", () => signingPhase(opts, log));
  }
  if (has("subscriber")) {
    const opts = { events: plan.subscriberEvents, rounds: plan.quick ? 1 : 3, window: plan.jetstreamWindow };
    log(`subscriber: ${opts.events} events stored, then read by @herald/events, handler none or 1 ms, concurrency 1 or 64, ${opts.rounds} rounds`);
    results.subscriber = await span("subscriber", () => subscriberPhase(opts, cleanup, log));
  }
  if (has("fanout")) {
    const opts = { events: plan.fanoutEvents, tenants: 10, endpoints: plan.fanoutEndpoints, rounds: plan.quick ? 2 : 3, window: plan.jetstreamWindow };
    log(`fan-out: ${opts.events} events each way, tenants with no status-webhook endpoints vs ${opts.endpoints} each, ${opts.rounds} rounds alternating`);
    results.fanout = await span("fanout", () => fanoutPhase(nc, opts, cleanup, log));
    results.notes.push(
      "Fan-out phase: the processor's status-webhook fan-out loop in the harness's process reads stored lifecycle events from a fresh durable and inserts one delivery row per matching endpoint; A: tenants without endpoints, B: 5 each; rounds alternate (A B, B A, …); CPU is the harness process's, not Postgres's; nothing is POSTed.",
    );
  }
  if (has("render")) {
    const opts = { notifications: plan.quick ? 5_000 : 20_000, rounds: 5 };
    log(`render: ${opts.rounds} rounds of ${opts.notifications} notifications each way, through the parse cache and parsing every field`);
    results.render = await span("render", () => renderPhase(opts, log));
  }
  if (has("telemetry")) {
    // Last of the Herald phases: what it leaves (Redis keys, a purged stream) slows any phase after it,
    // and here its off and on rounds alternate, so whatever the earlier phases leave hits both alike.
    const stream = topology(stack.namespace).streams.work;
    results.telemetry = await span("telemetry", () => telemetryPhase({ env: stack.env, apiKey: TENANT_KEY, nc, stream }, plan, cleanup, log));
    results.notes.push(
      "Telemetry phase: two gateways, off and on, run side by side in four legs, restarted for each (off started first, then on first, twice: identical gateways started one after another measured up to 13% apart, in either direction, so a process's own speed is averaged over four of each), each warmed once; the gateway phase's load alternates between them for eight rounds each (off-on, on-off), two per leg. Off: no OTLP endpoint, LOG_LEVEL=warn. On: OTLP/HTTP to a local receiver in the harness process, OTEL_TRACES_SAMPLER_ARG=0.1, LOG_LEVEL=info (one line per request, stdout drained by a newline counter). Metrics are on in both.",
    );
  }
  if (has("gateway") || has("fixed") || has("batch") || has("templates") || has("e2e") || has("isolation") || has("telemetry")) {
    // The peers then start from the same Redis and NATS state Herald did, not behind its leftovers.
    log("removing Herald's streams, Redis keys and database before the peers");
    await removeStack();
  }
  if (has("runtimes")) {
    results.runtimes = await runtimesPhase(plan, cleanup, log);
    results.notes.push(
      "Runtimes phase: each round starts every variant afresh, warms it and measures it alone, in the order bun, node, node over WebSocket, deno, workerd, then reversed; all on one private nats-server (JetStream in a temporary directory), not the one of the gateway phase, so its Bun row is the baseline here. Node runs the bundle of bin/build-gateway.ts, Deno the TypeScript sources, workerd its bundle under deploy/workerd/config.capnp with one Durable Object. workerd's store path differs: no TCP there, so NATS goes over WebSocket and each idempotency claim is an HTTP request in Upstash's REST protocol to a server in the bench harness, in front of the same Redis; that server's CPU is not in workerd's figures.",
    );
  }
  const svc = { nc, natsUrl: SERVICES.nats, redisUrl: SERVICES.redis, deleteRedisPrefix };
  if (has("peers")) results.peers = await peersPhase(plan, svc, cleanup, log);
  if (has("limits")) {
    log("limits: bare Bun.serve");
    results.bunServe = await bunServePhase(plan, cleanup);
    log(`limits: JetStream publish, window ${plan.jetstreamWindow}`);
    const { quiet: _quiet, ...ceiling } = await jetstreamPhase(plan, SERVICES.nats, nc, cleanup);
    results.jetstream = ceiling;
  }
  return results;
}

/** `--soak`: end-to-end load for `soakSeconds`, RSS of both processes sampled every few seconds. */
async function runSoak(plan: BenchPlan, cleanup: Cleanup, startedAt: string): Promise<Omit<BenchResults, "elapsedS">> {
  const { nc, stack, monitor, machine } = await setUp(plan, cleanup);
  const gateway = await startWatched("gateway", stack.env, monitor, cleanup);
  const receiver = startWebhookReceiver();
  cleanup.defer("webhook receiver", () => receiver.stop());
  const processor = await startWatched("processor", stack.env, monitor, cleanup);
  await monitor.sampleNow();
  log(`soak: ${plan.soakSeconds} s of end-to-end load, RSS every ${plan.sampleEveryS} s`);
  let memory: MemoryFigures = { gateway: null, processor: null };
  // The soak's "end" is the end of the load, not after the drain.
  const onFeedEnd = async () => {
    await monitor.sampleNow();
    memory = { gateway: memoryOf(monitor, "gateway"), processor: memoryOf(monitor, "processor") };
  };
  const e2e = await e2ePhase(
    {
      gatewayUrl: gateway.url,
      apiKey: TENANT_KEY,
      nc,
      namespace: stack.namespace,
      databaseUrl: stack.db.url,
      receiver,
      gatewayPid: gateway.proc.pid,
      processorPid: processor.proc.pid,
    },
    { rampS: 0, seconds: plan.soakSeconds, batchSize: plan.batchSize, drainTimeoutS: 120, onFeedEnd },
    log,
  );
  await stopHerald(processor);
  await stopHerald(gateway);
  const notes = ["Soak: the end-to-end feeder for the whole duration; 'flat' means the end RSS is within 10% (min 10 MB) of the RSS after the first minute."];
  return { startedAt, plan, machine, peers: [], memory, soak: { seconds: plan.soakSeconds, sampleEveryS: plan.sampleEveryS, e2e, memory }, notes };
}

async function main(): Promise<void> {
  let plan: BenchPlan;
  try {
    plan = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(2);
  }
  const cleanup = createCleanup();
  cleanupOnSignals(cleanup);
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  let partial: Omit<BenchResults, "elapsedS">;
  try {
    partial = plan.mode === "soak" ? await runSoak(plan, cleanup, startedAt) : await runSuite(plan, cleanup, startedAt);
  } finally {
    log("cleaning up");
    await cleanup.run();
  }
  const results: BenchResults = { ...partial, elapsedS: (performance.now() - t0) / 1000 };
  const files = writeResults(results, plan.outDir);
  console.log(renderText(results));
  console.log(`\nwrote ${files.join(", ")} (${Math.round(results.elapsedS)} s)`);
  console.log(`RESULT ${JSON.stringify(resultLine(results))}`);
}

await main();
