import type { NatsConnection } from "@nats-io/transport-node";
import { sql } from "drizzle-orm";
import { createApp } from "../gateway/app.ts";
import { openGatewayTenancy, sharedDeps } from "../gateway/runtime/assemble.ts";
import { bunClientAddress, bunSha256Hex, serveGateway } from "../gateway/runtime/bun/serve.ts";
import type { DatabaseHandle } from "../lib/db/connect.ts";
import { pendingMigrations } from "../lib/db/migrations.ts";
import { createAckPublisher } from "../lib/nats/ack-publisher.ts";
import { ensureStreams, missingTopology } from "../lib/nats/streams.ts";
import { readEvents } from "../lib/nats/event-reader.ts";
import type { ReadinessCheck } from "../lib/readiness.ts";
import { jetStreamGauges } from "../lib/telemetry/jetstream-gauges.ts";
import { serveMetrics } from "../lib/telemetry/metrics-server.ts";
import { createMetrics, type HeraldMetrics } from "../lib/telemetry/metrics.ts";
import { watchNatsConnection } from "../lib/telemetry/nats-connection.ts";
import { timeQuery } from "../lib/telemetry/recorder.ts";
import { closeSenders } from "../processor/channels/index.ts";
import type { ProviderChains } from "../processor/channels/types.ts";
import { createResolver } from "../processor/resolver.ts";
import { createProcessor, type Processor } from "../processor/processor.ts";
import { deadLetterAdmin } from "../processor/dead-letter-admin.ts";
import type { Topology } from "../schemas/subjects.ts";
import { topology } from "../schemas/subjects.ts";
import type { HeraldConfig } from "../schemas/config.ts";
import { StartupError, type ProcessContext } from "./lifecycle.ts";
import { resolveDatabase, resolveNats, resolveRedisUrl } from "./embedded-services.ts";
import { createStore } from "./store.ts";

/** NATS and Postgres connected, and everything a command builds on them. */
export interface Connected {
  nc: NatsConnection;
  database: DatabaseHandle;
  topo: Topology;
  metrics: HeraldMetrics;
  readiness: { nats: ReadinessCheck; postgres: ReadinessCheck };
}

/** Connects NATS and Postgres (the embedded fallbacks only for `all`), closed with the process. */
export async function connect(ctx: ProcessContext, opts: { embedded: boolean }): Promise<Connected> {
  const { cfg, log, closers } = ctx;
  const nats = await resolveNats(cfg, log, opts.embedded);
  closers.push(nats.close);
  const database = await resolveDatabase(cfg, log, opts.embedded);
  closers.push(database.close);
  // One registry per process: in `all` the gateway's /metrics shows both halves.
  const metrics = createMetrics({ onCollectError: (err) => log.warn({ err }, "a metrics collector failed; the scrape answered without it") });
  metrics.dbPoolMax(database.value.poolMax);
  const nc = nats.value;
  watchNatsConnection(nc, metrics, log).catch((err) => log.warn({ err }, "stopped following the NATS connection's status"));
  const db = database.value.db;
  log.info({ nats: nats.description, database: database.description, namespace: cfg.HERALD_NAMESPACE }, "connected");
  return {
    nc,
    database: database.value,
    topo: topology(cfg.HERALD_NAMESPACE),
    metrics,
    readiness: {
      nats: { name: "nats", check: async () => void (await nc.rtt()) },
      postgres: { name: "postgres", check: () => timeQuery(metrics, "readiness", async () => void (await db.execute(sql`select 1`))) },
    },
  };
}

/** `migrate` and `all`: the committed migrations, then the streams and lane consumers, created or updated. */
export async function migrateAll(cfg: HeraldConfig, c: Connected): Promise<void> {
  await timeQuery(c.metrics, "migrate", () => c.database.migrate());
  await ensureStreams(c.nc, c.topo, {
    duplicateWindowMs: cfg.HERALD_DUPLICATE_WINDOW_MS,
    ackWaitMs: cfg.HERALD_ACK_WAIT_MS,
    maxAckPending: cfg.HERALD_MAX_ACK_PENDING,
    replicas: cfg.HERALD_STREAM_REPLICAS,
    dlqMaxAgeDays: cfg.HERALD_DLQ_MAX_AGE_DAYS,
    eventsMaxAgeDays: cfg.HERALD_EVENTS_MAX_AGE_DAYS,
  });
}

/** `gateway`, `processor` and `replay` serve what `migrate` made, and refuse to start on a schema or topology it has not made yet. */
export async function requireMigrated(c: Connected): Promise<void> {
  const [pending, missing] = await Promise.all([pendingMigrations(c.database.db), missingTopology(c.nc, c.topo)]);
  const problems = [
    ...(pending > 0 ? [`the database lacks ${pending} of Herald's migrations`] : []),
    ...(missing.length > 0 ? [`NATS lacks ${missing.join(", ")}`] : []),
  ];
  if (problems.length > 0)
    throw new StartupError(
      [],
      `not migrated:\n  ${problems.join("\n  ")}\nrun \`herald migrate\` with the same DATABASE_URL, NATS_URL and HERALD_NAMESPACE first`,
    );
}

/** Starts the processor; it drains before NATS and Postgres close. */
export async function startProcessor(ctx: ProcessContext, c: Connected, senders: ProviderChains): Promise<Processor> {
  const { cfg, log, tracing, closers } = ctx;
  // Pushed before the processor's stop, so it runs after it: no send is cut off.
  closers.push(() => closeSenders(senders));
  c.metrics.initSeries({ providers: Object.fromEntries(Object.entries(senders).map(([channel, list]) => [channel, list.map((s) => s.provider)])) });
  c.metrics.addCollector(jetStreamGauges(c.nc, c.topo, c.metrics));
  const processor = createProcessor({
    nc: c.nc,
    db: c.database.db,
    sql: c.database.sql,
    session: (fn) => c.database.session(fn),
    topology: c.topo,
    senders,
    resolver: createResolver(c.database.sql, {
      unsubscribeTtlDays: cfg.HERALD_UNSUBSCRIBE_TTL_DAYS,
      ...(cfg.HERALD_TOKEN_SECRET ? { tokenSecret: cfg.HERALD_TOKEN_SECRET } : {}),
      ...(cfg.HERALD_PUBLIC_URL ? { publicUrl: cfg.HERALD_PUBLIC_URL } : {}),
    }),
    logger: log,
    metrics: c.metrics,
    errorReporter: ctx.errors,
    ...(tracing.enabled ? { tracer: tracing.tracer } : {}),
    options: {
      batchSize: cfg.HERALD_BATCH_SIZE,
      channelConcurrency: cfg.HERALD_CHANNEL_CONCURRENCY,
      maxAttempts: cfg.HERALD_MAX_ATTEMPTS,
      retryBaseMs: cfg.HERALD_RETRY_BASE_MS,
      retryMaxMs: cfg.HERALD_RETRY_MAX_MS,
      retryPolicies: cfg.HERALD_RETRY_POLICIES,
      stallLimit: cfg.HERALD_STALL_LIMIT,
      schedulerPollMs: cfg.HERALD_SCHEDULER_POLL_MS,
      retentionDays: cfg.HERALD_RETENTION_DAYS,
      retentionEveryMs: cfg.HERALD_RETENTION_INTERVAL_S * 1000,
      breaker: { failures: cfg.HERALD_BREAKER_FAILURES, halfOpenMs: cfg.HERALD_BREAKER_HALF_OPEN_MS },
    },
    statusWebhooks: {
      schedule: cfg.HERALD_STATUS_WEBHOOK_RETRY_SCHEDULE_S,
      disableAfterMs: cfg.HERALD_STATUS_WEBHOOK_DISABLE_AFTER_H * 3_600_000,
      timeoutMs: cfg.HERALD_STATUS_WEBHOOK_TIMEOUT_MS,
      concurrency: cfg.HERALD_STATUS_WEBHOOK_CONCURRENCY,
      pollMs: cfg.HERALD_STATUS_WEBHOOK_POLL_MS,
      allowPrivate: cfg.HERALD_WEBHOOK_ALLOW_PRIVATE,
      ...(cfg.HERALD_TOKEN_SECRET ? { tokenSecret: cfg.HERALD_TOKEN_SECRET } : {}),
      retentionDays: cfg.HERALD_RETENTION_DAYS,
      pruneEveryMs: cfg.HERALD_RETENTION_INTERVAL_S * 1000,
    },
  });
  await processor.start();
  closers.push(() => processor.stop());
  log.info("processor consuming");
  return processor;
}

/**
 * `/metrics` and the probes of a processor running alone, on HERALD_METRICS_PORT.
 * A port already taken (a second processor on one host) costs the probes, not
 * the processing: logged as an error, and Prometheus sees the target down.
 */
export function serveProcessorProbes(ctx: ProcessContext, c: Connected, processor: Processor): void {
  const { cfg, log, closers } = ctx;
  try {
    const server = serveMetrics(c.metrics, {
      port: cfg.HERALD_METRICS_PORT,
      hostname: cfg.HERALD_HOST ?? "0.0.0.0",
      readiness: [c.readiness.nats, c.readiness.postgres],
      details: async () => ({ lanes: await processor.lanes() }),
      onError: (err) => log.error({ err }, "could not render /metrics"),
    });
    closers.push(() => server.stop());
    log.info({ port: server.port }, "metrics and health probes listening");
  } catch (err) {
    log.error(
      { err, port: cfg.HERALD_METRICS_PORT },
      "could not serve /metrics and the health probes (HERALD_METRICS_PORT taken?); processing goes on without them",
    );
  }
}

export interface GatewayOptions {
  keys: ReadonlyMap<string, string>;
  /** The interface it listens on. */
  hostname: string;
  /** The processor `all` runs beside it: its lane backlog goes into /health/ready. */
  processor?: Processor;
}

/** Builds and serves the gateway; it stops taking requests before NATS closes. Resolves to the address it listens on. */
export async function startGateway(ctx: ProcessContext, c: Connected, opts: GatewayOptions): Promise<{ hostname: string; port: number }> {
  const { cfg, log, tracing, closers } = ctx;
  const { nc, topo, metrics } = c;
  const db = c.database.db;
  const store = createStore({
    redisUrl: await resolveRedisUrl(cfg),
    upstashUrl: cfg.UPSTASH_REDIS_REST_URL,
    upstashToken: cfg.UPSTASH_REDIS_REST_TOKEN,
    prefix: `${cfg.HERALD_NAMESPACE}:`,
  });
  closers.push(() => store.close());
  const out = createAckPublisher(nc, { timeoutMs: cfg.HERALD_PUBLISH_TIMEOUT_MS });
  closers.push(async () => out.close());
  const { processor } = opts;
  // Aborted before the server stops, so open inbox streams end instead of holding the graceful stop.
  const closing = new AbortController();
  // The keys given (`herald all`'s dev key among them) are the bootstrap keys, with every scope.
  const tenancy = await openGatewayTenancy({ ...cfg, HERALD_API_KEYS: new Map(opts.keys) }, c.database, {
    logger: log,
    sha256: (text) => Bun.SHA256.hash(text, "hex"),
  });
  closers.push(() => tenancy.close());
  const shared = sharedDeps(cfg, { nc, db, sql: c.database.sql, store, out, metrics, logger: log, tenants: tenancy.directory });
  const peers = bunClientAddress();
  const app = createApp({
    ...shared,
    inboxStream: { ...shared.inboxStream, closing: closing.signal },
    keys: opts.keys,
    readiness: [c.readiness.nats, c.readiness.postgres, { name: "idempotency", check: () => store.ping() }],
    ...(processor ? { readinessDetails: async () => ({ lanes: await processor.lanes() }) } : {}),
    logger: log,
    metrics,
    metricsPage: metrics,
    errorReporter: ctx.errors,
    ...(tracing.enabled ? { tracer: tracing.tracer, traceSampleRatio: cfg.OTEL_TRACES_SAMPLER_ARG } : {}),
    // Always: a tenant's admin-scoped key manages its keys here even where no operator key is configured.
    admin: {
      keys: cfg.HERALD_ADMIN_KEYS,
      deadLetters: deadLetterAdmin(nc, { db, publisher: out, topo, log }),
      db,
      keyRotationGraceS: cfg.HERALD_KEY_ROTATION_GRACE_S,
      events: { read: (window, progress) => readEvents(nc, topo, window, progress) },
    },
    hashBody: bunSha256Hex,
    clientAddress: peers.clientAddress,
  });
  metrics.initSeries({ routes: app.routes });
  const server = serveGateway(app, { port: cfg.HERALD_PORT, hostname: opts.hostname });
  peers.bind(server);
  // Stop taking requests first; in-flight ones finish before NATS closes.
  closers.push(async () => {
    closing.abort();
    await server.stop();
  });
  log.info({ hostname: opts.hostname, port: server.port, store: store.kind, tracing: tracing.enabled }, "gateway listening");
  return { hostname: opts.hostname, port: server.port ?? cfg.HERALD_PORT };
}
