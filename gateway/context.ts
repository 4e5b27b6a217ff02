import type { TemplateSendDeps } from "./accept-template.ts";
import type { Tracer } from "@opentelemetry/api";
import type { Logger } from "pino";
import { NOOP_METRICS, type MetricsRecorder } from "../lib/telemetry/recorder.ts";
import { NOOP_ERROR_REPORTER, type ErrorReporter } from "../lib/telemetry/error-reporter.ts";
import { sha256Hex } from "./body.ts";
import type { Publisher } from "../lib/nats/work.ts";
import type { DeadLetterAdmin } from "../schemas/dead-letter.ts";
import { instrumentPublisher } from "./publisher.ts";
import type { LifecycleEvent } from "../schemas/events.ts";
import { withStoredLimits, type RateLimiter } from "./rate-limiter.ts";
import { createTenantDirectory } from "../lib/tenant-directory.ts";
import type { Principal, TenantDirectory } from "../schemas/tenancy.ts";
import type { GatewayStore } from "./store/types.ts";
import { createCapGate, type CapGate, type SpendCaps } from "./daily-caps.ts";

import type { ReadinessCheck } from "../lib/readiness.ts";
import type { NotificationCanceller, Inbox, NotificationReader } from "../schemas/views.ts";
import type { DeliveryReports } from "../schemas/delivery-reports.ts";
import type { TemplateEngine } from "../lib/templates/render.ts";
import type { InboxFeed } from "../lib/nats/inbox-feed.ts";
import type { InboxFeedItem } from "../schemas/inbox-feed.ts";
import type { Database } from "../schemas/database.ts";
import type { EventRead, EventWindow, ReadProgress } from "../lib/nats/event-reader.ts";

export type { ReadinessCheck };

export interface GatewayOptions {
  /** Largest accepted single-request body; the batch route allows 16× this. */
  bodyLimitBytes: number;
  /** How long an Idempotency-Key replays its first answer. */
  idempotencyTtlMs: number;
  /** How long a claim survives a gateway that died before publishing. */
  pendingTtlMs: number;
  /** How long a GET can answer from the store before the processor's row exists. */
  acceptedTtlMs: number;
  /** Per-check deadline of `/health/ready`. */
  readinessTimeoutMs: number;
  /** Origins a browser may call the browser-facing routes from (`/v1/inbox/stream`); none or `*`: any. */
  corsOrigins?: string[];
}

/** The contract's defaults: body size, how long keys and read-your-writes copies live. */
export const DEFAULT_OPTIONS: GatewayOptions = {
  bodyLimitBytes: 256 * 1024,
  idempotencyTtlMs: 24 * 60 * 60 * 1000,
  pendingTtlMs: 60_000,
  acceptedTtlMs: 60 * 60 * 1000,
  readinessTimeoutMs: 2_000,
};

/**
 * Lower-case hex SHA-256, the fingerprint an Idempotency-Key is bound to.
 * Web Crypto's digest is async and hops to a worker thread; a runtime entry
 * may pass a synchronous native hash instead.
 */
export type BodyHasher = (bytes: Uint8Array<ArrayBuffer>) => string | Promise<string>;

/** Everything `createApp` needs; built once by the runtime entry or by a test. */
export interface GatewayDeps {
  /** Bootstrap API key → tenant (from HERALD_API_KEYS); each holds every scope. */
  keys: ReadonlyMap<string, string>;
  /**
   * Managed keys and stored tenant settings (lib/tenant-directory.ts over
   * Postgres); none: the bootstrap keys and the configured limits only.
   */
  tenants?: TenantDirectory;
  store: GatewayStore;
  publisher: Publisher;
  reader: NotificationReader;
  /** Users' in-app inboxes: delivered in-app notifications, read state. */
  inbox: Inbox;
  /** Cancels notifications not yet being sent (writes their row in Postgres). */
  canceller: NotificationCanceller;
  /**
   * Publishes a lifecycle event the gateway causes (`cancelled`); none: not
   * published. Resolves once stored; failures are logged, not turned into errors.
   */
  events?: { publish(event: LifecycleEvent): Promise<void> };
  readiness: ReadinessCheck[];
  /**
   * What `/health/startup` waits for (streams exist, migrations applied);
   * once every one answered, the probe answers 200 without asking again.
   * None: started as soon as it serves.
   */
  startup?: ReadinessCheck[];
  /** Extra facts for `/health/ready`, e.g. the lane backlog of the processor `herald all` runs beside it. */
  readinessDetails?: () => Promise<Record<string, unknown>>;
  logger: Logger;
  /** Where counters and timings go (the prom-client registry of lib/telemetry/metrics.ts); default: nowhere. */
  metrics?: MetricsRecorder;
  /** Served unauthenticated at `GET /metrics` when given (the registry's exposition text). */
  metricsPage?: { readonly contentType: string; render(): Promise<string> };
  /** Spans for the request, the idempotency check and the publish; none when left out. */
  tracer?: Tracer;
  /** Share of new traces kept (OTEL_TRACES_SAMPLER_ARG), decided per request before any span; default 1. */
  traceSampleRatio?: number;
  /** Where unexpected errors (the 500s) are reported (SENTRY_DSN); default: nowhere. */
  errorReporter?: ErrorReporter;
  /** `/admin/v1` for operators (HERALD_ADMIN_KEYS); none, or no keys: the routes do not exist. */
  admin?: AdminDeps;
  /** Providers' delivery callbacks (`/v1/callbacks/*`), authenticated by their signatures; none: they answer 503. */
  callbacks?: CallbackDeps;
  /** Sends by template: the published versions, the variables check, the recipients; none: such a send answers 503. */
  templateSends?: TemplateSendDeps;
  /** Recipients, categories and preferences (`/v1/users`, `/v1/categories`, `/v1/unsubscribe`); none: those routes answer 503. */
  recipients?: RecipientDeps;
  /** The realtime inbox (`/v1/inbox/tokens`, `/v1/inbox/stream`); none, or no secret: they answer 503. */
  inboxStream?: InboxStreamDeps;
  /** Templates' drafts, versions and previews (`/v1/templates`); none: those routes answer 503. */
  templates?: TemplateDeps;
  /** Tenants' webhook signing secrets (`/v1/webhook-secrets`); none: those routes answer 503. */
  webhookSecrets?: WebhookSecretDeps;
  /** Tenants' status-webhook endpoints and their deliveries (`/v1/webhook-endpoints`); none: those routes answer 503. */
  webhookEndpoints?: WebhookEndpointDeps;
  /** Per-tenant token buckets (HERALD_RATE_LIMIT); none: no limit. */
  rateLimiter?: RateLimiter;
  /** Notifications per tenant, channel and UTC day (HERALD_DAILY_CAPS, a tenant's own); none: no caps. */
  spendCaps?: SpendCaps;
  /** Defaults to Web Crypto's SHA-256, which every runtime has. */
  hashBody?: BodyHasher;
  /**
   * The address of the peer that sent the request, as the runtime's socket
   * sees it (never a forwarded header), for the audit log; none: not recorded.
   */
  clientAddress?(req: Request): string | undefined;
  options?: Partial<GatewayOptions>;
}

/** What `/admin/v1` needs: the operators' keys (HERALD_ADMIN_KEYS, name by key) and the dead letters. */
export interface AdminDeps {
  keys: ReadonlyMap<string, string>;
  deadLetters: DeadLetterAdmin;
  /** The audit log's database (lib/db/audit.ts); none: `GET /admin/v1/audit` answers 503 and replays go unrecorded. */
  db?: Database;
  /** HERALD_KEY_ROTATION_GRACE_S: how long a rotated key keeps working when the rotation names no grace period. */
  keyRotationGraceS?: number;
  /** The events stream, for `/admin/v1/events` and a notification's history; none: those answer 503. */
  events?: AdminEventsDeps;
}

/** What the admin event routes read (lib/nats/event-reader.ts `readEvents`). */
export interface AdminEventsDeps {
  read(window: EventWindow, progress?: ReadProgress): AsyncIterable<EventRead>;
  /** How far past its created_at a notification's history reads when the request names no `until`; default 1 h. */
  historyHorizonMs?: number;
}

/** What `/v1/callbacks/*` needs: where reports are written, and each provider's signing secret (none: its route answers 503). */
export interface CallbackDeps {
  reports: DeliveryReports;
  /** TWILIO_AUTH_TOKEN signs; TWILIO_STATUS_CALLBACK_URL is the URL signed: the one Twilio was given, whatever proxy is in between. */
  twilio?: { authToken: string; callbackUrl: string };
  /** HERALD_RESEND_WEBHOOK_SECRET (`whsec_…`). */
  resend?: { secret: string };
}

/** What the recipient routes need: the database their writers (lib/db/users.ts, lib/db/preferences.ts) use, and the link secret. */
export interface RecipientDeps {
  db: Database;
  /** HERALD_TOKEN_SECRET, which signs one-click unsubscribe links; none: `/v1/unsubscribe/*` answers 503 naming it. */
  tokenSecret?: string;
  /** Deletes a user's dead letters from the dead-letter stream (lib/nats/dead-letters.ts); none: an erasure answers `deadLetters: null`. */
  deadLetters?: { eraseUser(tenantId: string, userId: string): Promise<number> };
}

/** What the realtime inbox needs: the token secret, the live feed and the replay read. */
export interface InboxStreamDeps {
  /** HERALD_TOKEN_SECRET; none: the routes answer 503 naming it. */
  tokenSecret?: string;
  /** HERALD_INBOX_TOKEN_TTL_S: a token's default and longest life. */
  tokenTtlSeconds: number;
  feed: InboxFeed;
  /** The user's in-app notifications sent after `afterId`, oldest first, at most `limit` (lib/db/reads.ts `inboxSentAfter`). */
  sentAfter(tenant: string, userId: string, afterId: string, limit: number): Promise<InboxFeedItem[]>;
  /** Between heartbeat comments; default 15 s. */
  heartbeatMs?: number;
  /** Aborted when the gateway stops: open streams end, so a graceful stop need not wait for browsers to leave. */
  closing?: AbortSignal;
}

/** What `/v1/templates` needs: the database its writer (lib/db/templates.ts) uses, and the engine that checks and previews. */
export interface TemplateDeps {
  db: Database;
  engine: TemplateEngine;
  /** Told after a publish, so this gateway's cache of published versions sees it at once. */
  published?(tenant: string, name: string): void;
}

/** What `/v1/webhook-secrets` needs: the database its writer (lib/db/webhook-secrets.ts) uses, and the key that seals the secrets. */
export interface WebhookSecretDeps {
  db: Database;
  /** HERALD_TOKEN_SECRET, from which the sealing key is derived; none: the routes answer 503 naming it. */
  tokenSecret?: string;
}

/** What `/v1/webhook-endpoints` needs: the database of its writers (lib/db/webhook-endpoints.ts, lib/db/webhook-deliveries.ts), the sealing key's secret, and the SSRF rule. */
export interface WebhookEndpointDeps {
  db: Database;
  /** HERALD_TOKEN_SECRET, from which the sealing key is derived; none: the routes answer 503 naming it. */
  tokenSecret?: string;
  /** HERALD_WEBHOOK_ALLOW_PRIVATE: http and private addresses allowed (dev and tests only). */
  allowPrivate: boolean;
}

/** Deps with every option filled in, as handlers see them. */
export type ResolvedDeps = Omit<GatewayDeps, "options" | "hashBody" | "metrics" | "startup" | "tenants" | "errorReporter"> & {
  tenants: TenantDirectory;
  errorReporter: ErrorReporter;
  options: GatewayOptions;
  hashBody: BodyHasher;
  metrics: MetricsRecorder;
  startup: ReadinessCheck[];
  /** Built from `spendCaps`, once per app. */
  capGate?: CapGate;
};

/** Fills every option from `DEFAULT_OPTIONS`, the hasher from Web Crypto, and metrics with the no-op recorder. */
export function resolveDeps(deps: GatewayDeps): ResolvedDeps {
  // An explicit `undefined` (an unset config key) must fall back to the default, not erase it.
  const given = Object.entries(deps.options ?? {}).filter(([, v]) => v !== undefined);
  const metrics = deps.metrics ?? NOOP_METRICS;
  const { rateLimiter } = deps;
  const tenants =
    deps.tenants ??
    createTenantDirectory({
      bootstrap: deps.keys,
      defaults: { rateLimit: (tenant) => rateLimiter?.policyOf(tenant) ?? null, dailyCaps: {}, retentionDays: 0 },
      sha256: () => "",
    });
  return {
    ...deps,
    tenants,
    ...(rateLimiter ? { rateLimiter: withStoredLimits(rateLimiter, (tenant) => tenants.peek(tenant)) } : {}),
    publisher: instrumentPublisher(deps.publisher, metrics, deps.tracer),
    hashBody: deps.hashBody ?? sha256Hex,
    metrics,
    errorReporter: deps.errorReporter ?? NOOP_ERROR_REPORTER,
    startup: deps.startup ?? [],
    ...(deps.spendCaps ? { capGate: createCapGate({ caps: deps.spendCaps, store: deps.store, metrics, logger: deps.logger }) } : {}),
    options: { ...DEFAULT_OPTIONS, ...Object.fromEntries(given) },
  };
}

/** Context variables every route sees. */
export interface BaseEnv {
  Variables: { deps: ResolvedDeps; requestId: string };
}

/** Context variables behind the auth middleware. */
export interface TenantEnv {
  Variables: BaseEnv["Variables"] & { tenant: string; principal: Principal };
}
