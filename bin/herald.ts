#!/usr/bin/env bun
// herald gateway | processor | all | migrate | replay — the one entry of every deployment.
import { jetstreamManager } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { createApp } from "../gateway/app.ts";
import { bunSha256Hex, serveGateway } from "../gateway/entry-bun.ts";
import { createNotificationCanceller } from "../gateway/cancel.ts";
import { createInbox } from "../gateway/inbox.ts";
import { createEventPublisher, createJetStreamPublisher } from "../gateway/publisher.ts";
import { rateLimiterFromConfig } from "../gateway/rate-limit.ts";
import { createNotificationReader } from "../gateway/reader.ts";
import { createStore } from "../gateway/store/index.ts";
import { closeSenders } from "../processor/channels/index.ts";
import { createProcessor, type Processor } from "../processor/processor.ts";
import { deadLetterAdmin, replayDeadLetters, type ReplayOptions } from "../processor/replay.ts";
import { replayOptions } from "./replay-flags.ts";
import { ensureStreams } from "../processor/streams.ts";
import { topology } from "../schemas/subjects.ts";
import { sql } from "drizzle-orm";
import { ConfigError, parseConfig, type HeraldConfig } from "./config.ts";
import { loadDevCredentials } from "./dev-credentials.ts";
import { sendersFromConfig } from "./senders.ts";
import { resolveDatabase, resolveNats, resolveRedisUrl, type Closer } from "./services.ts";
import { tracingOptions } from "./telemetry/config.ts";
import { jetStreamGauges } from "./telemetry/jetstream-gauges.ts";
import { createHeraldLogger, wantsPrettyLogs } from "./telemetry/logging.ts";
import { serveMetrics } from "./telemetry/metrics-server.ts";
import { createMetrics, type HeraldMetrics } from "./telemetry/metrics.ts";
import { timeQuery } from "./telemetry/recorder.ts";
import { startTracing, TracingShutdownTimeout, type Tracing } from "./telemetry/tracing.ts";

const MODES = ["gateway", "processor", "all", "migrate", "replay"] as const;
type Mode = (typeof MODES)[number];

function isMode(x: string | undefined): x is Mode {
  return (MODES as readonly (string | undefined)[]).includes(x);
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  if (!isMode(mode)) {
    console.error(`usage: herald <${MODES.join(" | ")}>`);
    process.exit(2);
  }
  let cfg: HeraldConfig;
  let replay: ReplayOptions | undefined;
  try {
    cfg = parseConfig(process.env);
    replay = mode === "replay" ? replayOptions(process.argv.slice(3)) : undefined;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78);
    }
    throw err;
  }
  const service = `herald-${mode}`;
  const log = createHeraldLogger({
    level: cfg.LOG_LEVEL,
    service,
    sampleRate: cfg.HERALD_LOG_SAMPLE,
    pretty: wantsPrettyLogs(cfg.NODE_ENV, process.stdout.isTTY),
  });
  const tracing = startTracing(tracingOptions(cfg, service));
  // Not awaited: the probe's request is made now, before serving (otlp-fetch.ts says why); its answer is only logged.
  void tracing.probe().then((problem) => {
    if (problem !== undefined) log.warn({ problem }, "the OTLP collector did not take an empty export at start; spans will be retried, then dropped");
  });
  // Closers run in reverse, so tracing shuts down last and exports the spans of the drain too.
  const closers: Closer[] = [
    () =>
      tracing.shutdown().catch((err: unknown) => {
        if (!(err instanceof TracingShutdownTimeout)) throw err;
        log.warn({ timeoutMs: err.timeoutMillis }, "the OTLP collector did not take the last spans in time; they were dropped");
      }),
  ];
  const shutdown = once(async (signal: string) => {
    log.info({ signal }, "shutting down");
    for (const close of closers.reverse()) {
      await close().catch((err: unknown) => log.error({ err }, "error while shutting down"));
    }
    log.info("stopped");
    process.exit(0);
  });
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));

  try {
    await run(mode, cfg, log, tracing, closers, replay);
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    if (err instanceof ConfigError) {
      // Configuration that only start-up can check (a provider's key file): the same exit as a bad variable.
      console.error(err.message);
      process.exit(78);
    }
    log.fatal({ err }, "could not start");
    process.exit(1);
  }
}

async function run(mode: Mode, cfg: HeraldConfig, log: Logger, tracing: Tracing, closers: Closer[], replay?: ReplayOptions): Promise<void> {
  const embedded = mode === "all";
  const topo = topology(cfg.HERALD_NAMESPACE);
  const dev = embedded && (cfg.HERALD_API_KEYS.size === 0 || !cfg.HERALD_WEBHOOK_SECRET) ? loadDevCredentials(cfg.HERALD_DATA_DIR) : null;
  const keys = cfg.HERALD_API_KEYS.size > 0 ? cfg.HERALD_API_KEYS : new Map(dev ? [[dev.apiKey, dev.tenant]] : []);
  const webhookSecret = cfg.HERALD_WEBHOOK_SECRET ?? dev?.webhookSecret;
  // Before any connection: a bad provider key (an FCM key file) stops the start at once.
  const senders = mode === "processor" || mode === "all" ? await sendersFromConfig(cfg, requireWebhookSecret(webhookSecret), log) : undefined;
  // One registry per process: in `all` the gateway's /metrics shows both halves.
  const metrics = createMetrics({ onCollectError: (err) => log.warn({ err }, "a metrics collector failed; the scrape answered without it") });
  const tracer = tracing.enabled ? tracing.tracer : undefined;

  const nats = await resolveNats(cfg, log, embedded);
  closers.push(nats.close);
  const database = await resolveDatabase(cfg, log, embedded);
  closers.push(database.close);
  const nc = nats.value;
  const db = database.value.db;
  metrics.dbPoolMax(database.value.poolMax);

  await timeQuery(metrics, "migrate", () => database.value.migrate());
  await ensureStreams(nc, topo, {
    duplicateWindowMs: cfg.HERALD_DUPLICATE_WINDOW_MS,
    ackWaitMs: cfg.HERALD_ACK_WAIT_MS,
    maxAckPending: cfg.HERALD_MAX_ACK_PENDING,
    replicas: cfg.HERALD_STREAM_REPLICAS,
    dlqMaxAgeDays: cfg.HERALD_DLQ_MAX_AGE_DAYS,
  });
  log.info({ nats: nats.description, database: database.description, namespace: cfg.HERALD_NAMESPACE }, "migrations and streams are up to date");
  if (mode === "migrate" || mode === "replay") {
    if (replay) {
      const report = await replayDeadLetters(nc, db, topo, replay);
      log.info({ replayed: report.replayed.length, unreplayable: report.unreplayable.length, skipped: report.skipped }, "dead letters handed to the scheduler");
      console.log(JSON.stringify(report));
    }
    for (const close of closers.reverse()) await close();
    process.exit(0);
  }
  const readiness = {
    nats: { name: "nats", check: async () => void (await nc.rtt()) },
    postgres: { name: "postgres", check: () => timeQuery(metrics, "readiness", async () => void (await db.execute(sql`select 1`))) },
  };

  let processor: Processor | undefined;
  if (senders) {
    // Pushed before the processor's stop, so it runs after it: no send is cut off.
    closers.push(() => closeSenders(senders));
    metrics.initSeries({ senders });
    metrics.addCollector(jetStreamGauges(nc, topo, metrics));
    const started = createProcessor({
      nc,
      db,
      topology: topo,
      senders,
      logger: log,
      metrics,
      ...(tracer ? { tracer } : {}),
      options: {
        batchSize: cfg.HERALD_BATCH_SIZE,
        channelConcurrency: cfg.HERALD_CHANNEL_CONCURRENCY,
        maxAttempts: cfg.HERALD_MAX_ATTEMPTS,
        retryBaseMs: cfg.HERALD_RETRY_BASE_MS,
        retryMaxMs: cfg.HERALD_RETRY_MAX_MS,
        stallLimit: cfg.HERALD_STALL_LIMIT,
        schedulerPollMs: cfg.HERALD_SCHEDULER_POLL_MS,
      },
    });
    await started.start();
    processor = started;
    // Closers run in reverse: the processor drains before NATS and Postgres close.
    closers.push(() => started.stop());
    if (mode === "processor") serveProcessorMetrics(cfg, log, metrics, [readiness.nats, readiness.postgres], started, closers);
    log.info("processor consuming");
  }

  if (mode === "gateway" || mode === "all") {
    if (keys.size === 0) throw new Error("HERALD_API_KEYS is empty: the gateway would refuse every request");
    const redisUrl = await resolveRedisUrl(cfg);
    const store = createStore({
      redisUrl,
      upstashUrl: cfg.UPSTASH_REDIS_REST_URL,
      upstashToken: cfg.UPSTASH_REDIS_REST_TOKEN,
      prefix: `${cfg.HERALD_NAMESPACE}:`,
    });
    closers.push(() => store.close());
    const lanes = processor;
    const rateLimiter = rateLimiterFromConfig({ perSecond: cfg.HERALD_RATE_LIMIT, burst: cfg.HERALD_RATE_LIMIT_BURST }, cfg.HERALD_RATE_LIMIT_TENANTS);
    const app = createApp({
      keys,
      store,
      publisher: createJetStreamPublisher(nc, topo, { timeoutMs: cfg.HERALD_PUBLISH_TIMEOUT_MS }),
      reader: createNotificationReader(db, metrics),
      canceller: createNotificationCanceller(db, metrics),
      inbox: createInbox(db, metrics),
      events: createEventPublisher(nc, topo, metrics),
      readiness: [readiness.nats, readiness.postgres, { name: "idempotency", check: () => store.ping() }],
      startup: [
        { name: "migrations", check: async () => void (await db.execute(sql`select 1 from notifications limit 0`)) },
        {
          name: "streams",
          check: async () => {
            const jsm = await jetstreamManager(nc);
            await Promise.all(Object.values(topo.streams).map((name) => jsm.streams.info(name)));
          },
        },
      ],
      ...(lanes ? { readinessDetails: async () => ({ lanes: await lanes.lanes() }) } : {}),
      logger: log,
      metrics,
      metricsPage: metrics,
      ...(tracer ? { tracer, traceSampleRatio: cfg.OTEL_TRACES_SAMPLER_ARG } : {}),
      ...(rateLimiter ? { rateLimiter } : {}),
      ...(cfg.HERALD_ADMIN_KEYS.size > 0
        ? { admin: { keys: cfg.HERALD_ADMIN_KEYS, deadLetters: deadLetterAdmin(nc, db, topo) } }
        : {}),
      hashBody: bunSha256Hex,
      options: { bodyLimitBytes: cfg.HERALD_BODY_LIMIT_BYTES },
    });
    metrics.initSeries({ routes: app.routes });
    const server = serveGateway(app, { port: cfg.HERALD_PORT, hostname: cfg.HERALD_HOST });
    // Stop taking requests first; in-flight ones finish before NATS closes.
    closers.push(async () => void (await server.stop()));
    const url = `http://127.0.0.1:${server.port}`;
    log.info({ url, store: store.kind, tracing: tracing.enabled }, "gateway listening");
    if (mode === "all") printWelcome(url, dev?.apiKey ?? "<one of HERALD_API_KEYS>", dev !== null && cfg.HERALD_API_KEYS.size === 0);
  }
}

/**
 * `/metrics` and the probes of a processor running alone, on HERALD_METRICS_PORT.
 * A port already taken (a second processor on one host) costs the probes, not
 * the processing: logged as an error, and Prometheus sees the target down.
 */
function serveProcessorMetrics(
  cfg: HeraldConfig,
  log: Logger,
  metrics: HeraldMetrics,
  readiness: Array<{ name: string; check(): Promise<void> }>,
  processor: Processor,
  closers: Closer[],
): void {
  try {
    const server = serveMetrics(metrics, {
      port: cfg.HERALD_METRICS_PORT,
      hostname: cfg.HERALD_HOST,
      readiness,
      details: async () => ({ lanes: await processor.lanes() }),
      onError: (err) => log.error({ err }, "could not render /metrics"),
    });
    closers.push(() => server.stop());
    log.info({ url: `http://127.0.0.1:${server.port}/metrics` }, "metrics and health probes listening");
  } catch (err) {
    log.error({ err, port: cfg.HERALD_METRICS_PORT }, "could not serve /metrics and the health probes (HERALD_METRICS_PORT taken?); processing goes on without them");
  }
}

function printWelcome(url: string, apiKey: string, isDevKey: boolean): void {
  const curl = [
    `curl -s -X POST ${url}/v1/notifications \\`,
    `  -H 'Authorization: Bearer ${apiKey}' -H 'Content-Type: application/json' \\`,
    `  -d '{"userId":"user-123","channel":"in_app","payload":{"title":"Hi","body":"Hello from Herald"}}'`,
  ].join("\n");
  process.stdout.write(
    [
      "",
      `Herald is running at ${url}`,
      isDevKey ? `dev API key (tenant "dev"): ${apiKey}` : "API keys: from HERALD_API_KEYS",
      "",
      "Send one:",
      curl,
      "",
      `Then: curl -s ${url}/v1/notifications/<id> -H 'Authorization: Bearer ${apiKey}'`,
      "",
      `API reference: ${url}/docs (OpenAPI: ${url}/openapi.json)`,
      "",
    ].join("\n"),
  );
}

function once<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  let started: Promise<void> | null = null;
  return (...args) => (started ??= fn(...args));
}

await main();

function requireWebhookSecret(secret: string | undefined): string {
  if (!secret) throw new ConfigError(["HERALD_WEBHOOK_SECRET"], "invalid configuration:\n  HERALD_WEBHOOK_SECRET is required to sign webhooks");
  return secret;
}
