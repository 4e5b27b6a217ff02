import type { NatsConnection, WsConnectionOptions } from "@nats-io/nats-core";
import { sql } from "drizzle-orm";
import type { Hono } from "hono";
import pino, { type Logger } from "pino";
import { createNotificationCanceller } from "../../lib/db/canceller.ts";
import { createDeliveryReports } from "../../lib/db/delivery-reports.ts";
import { createInbox } from "../../lib/db/inbox-store.ts";
import { countAccepted } from "../../lib/db/usage.ts";
import { openPool, type Listen, type Pool } from "../../lib/db/pool.ts";
import { openTenantDirectory } from "../../lib/tenancy.ts";
import type { TenantDirectory } from "../../schemas/tenancy.ts";
import { createNotificationReader, inboxSentAfter } from "../../lib/db/reads.ts";
import { createAckPublisher, type AckPublisher } from "../../lib/nats/ack-publisher.ts";
import { connectNats, type TcpConnect } from "../../lib/nats/connect.ts";
import { createInboxFeed } from "../../lib/nats/inbox-feed.ts";
import { eraseUserDeadLetters } from "../../lib/nats/dead-letters.ts";
import { publishEvent } from "../../lib/nats/event-publisher.ts";
import { migratedChecks } from "../../lib/startup-checks.ts";
import { createTemplateEngine } from "../../lib/templates/render.ts";
import { createWorkPublisher } from "../../lib/nats/work.ts";
import type { HeraldMetrics } from "../../lib/telemetry/metrics.ts";
import { NOOP_METRICS, timeQuery, type MetricsRecorder } from "../../lib/telemetry/recorder.ts";
import { configuredErrorReporter } from "../../lib/telemetry/error-reporter.ts";
import pkg from "../../package.json" with { type: "json" };
import { ConfigError, parseConfig, type HeraldConfig } from "../../schemas/config.ts";
import type { Database, Sql } from "../../schemas/database.ts";
import type { Channel } from "../../schemas/enums.ts";
import type { LifecycleEvent } from "../../schemas/events.ts";
import { topology } from "../../schemas/subjects.ts";
import { createApp } from "../app.ts";
import { templateSendDeps, TEMPLATE_CACHE_TTL_MS } from "./template-deps.ts";
import { createTemplateCache } from "../../lib/templates/cache.ts";
import type { BaseEnv, BodyHasher, CallbackDeps, GatewayDeps } from "../context.ts";
import { createRateLimiter, createSharedRateLimiter, rateLimiterFromConfig, type RateLimiter } from "../rate-limiter.ts";
import { capsFromDirectory } from "../daily-caps.ts";
import { createMemoryStore } from "../store/memory.ts";
import type { GatewayStore } from "../store/types.ts";
import { createUpstashStore } from "../store/upstash.ts";

export type RuntimeName = "bun" | "node" | "deno" | "workerd";

/** What one runtime can do, handed over by its entry; what it lacks is refused at start, not at the first request. */
export interface Platform {
  runtime: RuntimeName;
  /** NATS's TCP protocol; none: only `ws://`/`wss://` URLs. */
  tcp?: TcpConnect;
  /** Extra NATS options, e.g. a `wsFactory` where there is no global `WebSocket`. */
  nats?: Partial<WsConnectionOptions>;
  /** Redis over TCP; none: `REDIS_URL` is refused. */
  redisStore?: (opts: { url: string; prefix: string }) => GatewayStore;
  /** A metrics registry served at `/metrics`; none: nothing is counted. */
  metrics?: () => HeraldMetrics;
  /** A synchronous native SHA-256 where the runtime has one. */
  hashBody?: BodyHasher;
  /** Where log lines go; default: pino's stdout. */
  logger?: (cfg: HeraldConfig) => Logger;
  /** The TCP peer of a request, for the audit log; none: not recorded. */
  clientAddress?: (req: Request) => string | undefined;
}

/** The gateway built from the environment, ready to serve. */
export interface AssembledGateway {
  app: Hono<BaseEnv>;
  cfg: HeraldConfig;
  hostname: string;
  port: number;
  logger: Logger;
  nc: NatsConnection;
  /** Closes NATS (draining publishes in flight), the store and the pool; the entry stops serving first. */
  close(): Promise<void>;
  /**
   * The entry's SIGTERM/SIGINT handler: the first signal stops serving
   * (requests in flight finish), closes, and exits 0; the exit is 1 when
   * HERALD_SHUTDOWN_TIMEOUT_MS passes first or a second signal comes.
   */
  signalHandler(stopServing: () => Promise<void>, exit: (code: number) => void): (signal: string) => void;
}

/** Config a gateway cannot start without, checked before anything connects. */
export function gatewayConfig(env: Record<string, string | undefined>, platform: Platform): HeraldConfig {
  const cfg = parseConfig(env);
  const missing = (["NATS_URL", "DATABASE_URL"] as const).filter((key) => !cfg[key]);
  if (cfg.HERALD_API_KEYS.size === 0) missing.push("HERALD_API_KEYS" as never);
  if (missing.length > 0) throw new ConfigError(missing, `invalid configuration:\n${missing.map((k) => `  ${k}: required by the gateway`).join("\n")}`);
  if (cfg.REDIS_URL && !platform.redisStore) {
    throw new ConfigError(
      ["REDIS_URL"],
      `invalid configuration:\n  REDIS_URL: ${platform.runtime} has no TCP sockets for Redis; set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN instead`,
    );
  }
  if (!platform.tcp && cfg.NATS_URL && !/^wss?:\/\//i.test(cfg.NATS_URL)) {
    throw new ConfigError(["NATS_URL"], `invalid configuration:\n  NATS_URL: ${platform.runtime} reaches NATS over WebSocket only; use ws:// or wss://`);
  }
  return cfg;
}

function pickStore(cfg: HeraldConfig, platform: Platform): GatewayStore {
  const prefix = `${cfg.HERALD_NAMESPACE}:`;
  if (cfg.UPSTASH_REDIS_REST_URL && cfg.UPSTASH_REDIS_REST_TOKEN) {
    return createUpstashStore({ url: cfg.UPSTASH_REDIS_REST_URL, token: cfg.UPSTASH_REDIS_REST_TOKEN, prefix });
  }
  if (cfg.REDIS_URL && platform.redisStore) return platform.redisStore({ url: cfg.REDIS_URL, prefix });
  return createMemoryStore();
}

/** What a gateway works with, opened by its entry. */
export interface GatewayIo {
  nc: NatsConnection;
  db: Database;
  /** The same database for fixed statements (the delivery callbacks' writes). */
  sql: Sql;
  store: GatewayStore;
  /** Lifecycle events (a cancel's) go out through this. */
  out: AckPublisher;
  metrics: MetricsRecorder;
  /** Told when the shared rate limiter falls back to per-instance buckets. */
  logger?: Logger;
  /** Managed keys and stored tenant settings (`openGatewayTenancy`); none: bootstrap keys and configured limits only. */
  tenants?: TenantDirectory;
}

/** The configured rate limit of each tenant, for tenants without a stored one. */
export function configuredRateLimit(cfg: HeraldConfig): RateLimiter | undefined {
  return rateLimiterFromConfig({ perSecond: cfg.HERALD_RATE_LIMIT, burst: cfg.HERALD_RATE_LIMIT_BURST }, cfg.HERALD_RATE_LIMIT_TENANTS);
}

/**
 * The tenant directory of a gateway: HERALD_API_KEYS, managed keys and
 * stored settings from Postgres, changes heard through LISTEN.
 */
export function openGatewayTenancy(
  cfg: HeraldConfig,
  database: { db: Database; listen: Listen },
  opts: { logger?: Logger; sha256?: (text: string) => string } = {},
) {
  const configured = configuredRateLimit(cfg);
  return openTenantDirectory({
    db: database.db,
    listen: database.listen,
    bootstrap: cfg.HERALD_API_KEYS,
    rateLimit: (tenant) => configured?.policyOf(tenant) ?? null,
    dailyCaps: cfg.HERALD_DAILY_CAPS,
    retentionDays: cfg.HERALD_RETENTION_DAYS,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.sha256 ? { sha256: opts.sha256 } : {}),
  });
}

/**
 * The dependencies every entry builds the same way from the configuration
 * and its connections: keys, store, publisher, reads, cancels, the inbox,
 * events, the startup checks, the rate limiter and the body limit. Each
 * entry adds its runtime's readiness checks, logger, metrics and extras.
 */
export function sharedDeps(cfg: HeraldConfig, io: GatewayIo) {
  const { nc, db, store, out, metrics } = io;
  const topo = topology(cfg.HERALD_NAMESPACE);
  // Always a limiter: a tenant's stored limit (`PUT /admin/v1/tenants/:id`) applies even when none is configured.
  const local =
    rateLimiterFromConfig({ perSecond: cfg.HERALD_RATE_LIMIT, burst: cfg.HERALD_RATE_LIMIT_BURST }, cfg.HERALD_RATE_LIMIT_TENANTS) ?? createRateLimiter({});
  // Shared by every gateway on the store's Redis; per instance with the in-memory store, or while Redis does not answer.
  const rateLimiter =
    local &&
    createSharedRateLimiter(store, local, (err) =>
      io.logger?.warn({ err }, "the rate-limit store did not answer: limits hold per gateway instance until it does"),
    );
  const templateCache = createTemplateCache(db, TEMPLATE_CACHE_TTL_MS);
  return {
    keys: cfg.HERALD_API_KEYS,
    ...(io.tenants ? { tenants: io.tenants } : {}),
    store,
    publisher: createWorkPublisher(nc, topo, { timeoutMs: cfg.HERALD_PUBLISH_TIMEOUT_MS }),
    reader: createNotificationReader(db, metrics),
    canceller: createNotificationCanceller(db, metrics),
    inbox: createInbox(db, metrics),
    events: { publish: (event: LifecycleEvent) => publishEvent(out, topo, event, metrics) },
    callbacks: callbackDeps(cfg, createDeliveryReports(io.sql, metrics)),
    templates: { db, engine: createTemplateEngine(), published: (tenant: string, name: string) => templateCache.invalidate(tenant, name) },
    templateSends: templateSendDeps(io.sql, templateCache),
    inboxStream: {
      ...(cfg.HERALD_TOKEN_SECRET ? { tokenSecret: cfg.HERALD_TOKEN_SECRET } : {}),
      tokenTtlSeconds: cfg.HERALD_INBOX_TOKEN_TTL_S,
      feed: createInboxFeed(nc, topo),
      sentAfter: (tenant: string, userId: string, afterId: string, limit: number) => inboxSentAfter(db, tenant, userId, afterId, limit, metrics),
    },
    recipients: {
      db,
      deadLetters: { eraseUser: (tenantId: string, userId: string) => eraseUserDeadLetters(nc, topo, tenantId, userId) },
      ...(cfg.HERALD_TOKEN_SECRET ? { tokenSecret: cfg.HERALD_TOKEN_SECRET } : {}),
    },
    webhookSecrets: { db, ...(cfg.HERALD_TOKEN_SECRET ? { tokenSecret: cfg.HERALD_TOKEN_SECRET } : {}) },
    webhookEndpoints: { db, allowPrivate: cfg.HERALD_WEBHOOK_ALLOW_PRIVATE, ...(cfg.HERALD_TOKEN_SECRET ? { tokenSecret: cfg.HERALD_TOKEN_SECRET } : {}) },
    startup: migratedChecks(db, nc, topo),
    ...(rateLimiter ? { rateLimiter } : {}),
    spendCaps: {
      capsOf: io.tenants ? capsFromDirectory(io.tenants) : () => cfg.HERALD_DAILY_CAPS,
      countAccepted: (tenant: string, channel: Channel, from: Date, to: Date) => countAccepted(db, tenant, channel, from, to, metrics),
    },
    options: { bodyLimitBytes: cfg.HERALD_BODY_LIMIT_BYTES, ...(cfg.HERALD_CORS_ORIGINS.length > 0 ? { corsOrigins: cfg.HERALD_CORS_ORIGINS } : {}) },
  } satisfies Partial<GatewayDeps>;
}

/** The providers' callback secrets from the configuration; a provider without its keys has its route off. */
export function callbackDeps(cfg: HeraldConfig, reports: CallbackDeps["reports"]): CallbackDeps {
  const { TWILIO_AUTH_TOKEN: authToken, TWILIO_STATUS_CALLBACK_URL: callbackUrl, HERALD_RESEND_WEBHOOK_SECRET: secret } = cfg;
  return {
    reports,
    ...(authToken && callbackUrl ? { twilio: { authToken, callbackUrl } } : {}),
    ...(secret ? { resend: { secret } } : {}),
  };
}

/**
 * The gateway of `herald gateway` on any runtime: config, NATS, the
 * Postgres pool for reads and cancels, the idempotency store, then
 * `createApp`. Migrations and streams are `herald migrate`'s; until they
 * exist `/health/startup` answers 503.
 */
export async function assembleGateway(env: Record<string, string | undefined>, platform: Platform, pool?: (url: string) => Pool): Promise<AssembledGateway> {
  const cfg = gatewayConfig(env, platform);
  const logger = platform.logger?.(cfg) ?? pino({ level: cfg.LOG_LEVEL, base: { service: "herald-gateway", runtime: platform.runtime } });
  if (cfg.TWILIO_STATUS_CALLBACK_URL && !cfg.TWILIO_AUTH_TOKEN) {
    logger.warn("TWILIO_STATUS_CALLBACK_URL is set without TWILIO_AUTH_TOKEN: Twilio's status callbacks cannot be verified and answer 503");
  }
  const natsUrl = cfg.NATS_URL as string;
  const databaseUrl = cfg.DATABASE_URL as string;
  const nc = await connectNats(natsUrl, platform.tcp, platform.nats);
  const database = (pool ?? ((url) => openPool(url)))(databaseUrl);
  const store = pickStore(cfg, platform);
  const metrics = platform.metrics?.();
  const recorder = metrics ?? NOOP_METRICS;
  const out = createAckPublisher(nc, { timeoutMs: cfg.HERALD_PUBLISH_TIMEOUT_MS });
  const { db } = database;
  const tenancy = await openGatewayTenancy(cfg, database, { logger });
  const errorReporter = configuredErrorReporter(cfg.SENTRY_DSN, {
    version: pkg.version,
    environment: cfg.NODE_ENV,
    service: "gateway",
    onDropped: (reason) => logger.warn({ reason }, "an error report was not sent to Sentry"),
  });
  const app = createApp({
    ...sharedDeps(cfg, { nc, db, sql: database.sql, store, out, metrics: recorder, logger, tenants: tenancy.directory }),
    readiness: [
      { name: "nats", check: async () => void (await nc.rtt()) },
      { name: "postgres", check: () => timeQuery(recorder, "readiness", async () => void (await db.execute(sql`select 1`))) },
      { name: "idempotency", check: () => store.ping() },
    ],
    logger,
    errorReporter,
    ...(metrics ? { metrics, metricsPage: metrics } : {}),
    ...(platform.hashBody ? { hashBody: platform.hashBody } : {}),
    ...(platform.clientAddress ? { clientAddress: platform.clientAddress } : {}),
  });
  if (metrics) metrics.initSeries({ routes: app.routes });
  const close = async () => {
    out.close();
    await nc.drain().catch(() => nc.close());
    await tenancy.close().catch(() => {});
    await Promise.allSettled([store.close(), database.close()]);
    await errorReporter.flush();
  };
  return {
    app,
    cfg,
    hostname: cfg.HERALD_HOST ?? "0.0.0.0",
    port: cfg.HERALD_PORT,
    logger,
    nc,
    close,
    signalHandler(stopServing, exit) {
      let stopping = false;
      return (signal) => {
        if (stopping) {
          logger.warn({ signal }, "a second signal while stopping; exiting at once");
          return exit(1);
        }
        stopping = true;
        logger.info({ signal }, "stopping");
        const deadline = setTimeout(() => {
          logger.error({ timeoutMs: cfg.HERALD_SHUTDOWN_TIMEOUT_MS }, "the clean stop did not finish in time; exiting anyway");
          exit(1);
        }, cfg.HERALD_SHUTDOWN_TIMEOUT_MS);
        void stopServing()
          .then(close)
          .then(
            () => {
              clearTimeout(deadline);
              exit(0);
            },
            (err: unknown) => {
              logger.error({ err }, "error while stopping");
              exit(1);
            },
          );
      };
    },
  };
}
