import { z } from "zod";
import { CHANNELS, type Channel } from "./enums.ts";
import { DEFAULT_METRICS_PORT } from "./metrics.ts";
import { DEFAULT_STREAM_OPTIONS } from "./subjects.ts";
import { SmsPayload } from "./request.ts";
import { DEFAULT_DISABLE_AFTER_H, DEFAULT_RETRY_SCHEDULE_S } from "./status-webhooks.ts";
import { NAMESPACE_PATTERN } from "./subjects.ts";

const ratio = z.coerce.number().min(0).max(1);
/** A Sentry DSN with its public key and numeric project id; plain http only to a loopback host (a local relay, tests). */
const SENTRY_DSN_SHAPE = /^(?:https:\/\/[A-Za-z0-9]+@[^/@:?#\s]+|http:\/\/[A-Za-z0-9]+@(?:localhost|127\.0\.0\.1|\[::1\]))(?::\d{1,5})?(?:\/[^?#\s]*)?\/\d+$/;

export const TELEMETRY_CONFIG_SHAPE = {
  /** `herald processor` serves /metrics and the health probes here (deploy/prometheus/prometheus.yml scrapes 9464). */
  HERALD_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(DEFAULT_METRICS_PORT),
  /** Share of info/debug lines kept, decided per correlation id; warn and above are always kept. */
  HERALD_LOG_SAMPLE: ratio.default(1),
  /** OTLP/HTTP collector base URL; spans go to `<url>/v1/traces`. Unset: tracing off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** Share of new traces sampled (parent-based: a continued trace follows its caller). */
  OTEL_TRACES_SAMPLER_ARG: ratio.default(1),
  /** Milliseconds between span exports (the OpenTelemetry SDK's variable; its default, 5000). */
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().positive().default(5_000),
  /** Overrides `service.name` (default herald-<mode>). */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  /** Sentry's DSN, `https://<publicKey>@host[:port]/<projectId>`: unexpected errors are reported there. Unset: not reported. */
  SENTRY_DSN: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z
      .string()
      .regex(SENTRY_DSN_SHAPE, "must be https://<publicKey>@<host>[:port]/<projectId> (http only for localhost), with no secret key")
      .refine((v) => URL.canParse(v), "must be a URL")
      .optional(),
  ),
};

export const TelemetryConfigSchema = z.object(TELEMETRY_CONFIG_SHAPE);
export type TelemetryConfig = z.infer<typeof TelemetryConfigSchema>;

const bool = z.enum(["0", "1", "true", "false", "yes", "no", ""]).transform((v) => v === "1" || v === "true" || v === "yes");
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(def);

/** `tenant:key,tenant:key` → key → tenant. A key may belong to one tenant only. */
const keyList = z
  .string()
  .default("")
  .transform((raw, ctx) => {
    const keys = new Map<string, string>();
    for (const part of raw
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean)) {
      const at = part.indexOf(":");
      const tenant = part.slice(0, at).trim();
      const key = part.slice(at + 1).trim();
      if (at <= 0 || !tenant || key.length < 8) {
        ctx.addIssue({ code: "custom", message: `entry "${part.slice(0, 12)}…" must be tenant:key with a key of 8+ characters` });
        return z.NEVER;
      }
      if (keys.has(key) && keys.get(key) !== tenant) {
        ctx.addIssue({ code: "custom", message: `a key is listed for two tenants` });
        return z.NEVER;
      }
      keys.set(key, tenant);
    }
    return keys;
  });

/** A channel's own retry budget and backoff; what it leaves out is the global one's. */
export interface ChannelRetryOverride {
  maxAttempts: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/** `channel:attempts[:baseMs[:maxMs]],…` → channel → its retry policy. */
const retryPolicyList = z
  .string()
  .default("")
  .transform((raw, ctx) => {
    const policies = new Map<Channel, ChannelRetryOverride>();
    for (const part of raw
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean)) {
      const [channel = "", ...numbers] = part.split(":").map((p) => p.trim());
      const [attempts, base, max] = numbers.map(Number);
      const whole = (n: number | undefined, min: number, most: number) => n === undefined || (Number.isInteger(n) && n >= min && n <= most);
      const valid =
        (CHANNELS as readonly string[]).includes(channel) &&
        numbers.length >= 1 &&
        numbers.length <= 3 &&
        attempts !== undefined &&
        whole(attempts, 1, 100) &&
        whole(base, 1, 86_400_000) &&
        whole(max, 1, 86_400_000) &&
        (base === undefined || max === undefined || max >= base) &&
        !policies.has(channel as Channel);
      if (!valid) {
        ctx.addIssue({
          code: "custom",
          message: `entry "${part.slice(0, 40)}" must be channel:attempts[:baseMs[:maxMs]] once per channel (${CHANNELS.join(", ")}; attempts 1–100, maxMs ≥ baseMs)`,
        });
        return z.NEVER;
      }
      policies.set(channel as Channel, {
        maxAttempts: attempts,
        ...(base !== undefined ? { retryBaseMs: base } : {}),
        ...(max !== undefined ? { retryMaxMs: max } : {}),
      });
    }
    return policies;
  });

/** An optional key where deployment templates render an unset variable as `KEY=`: empty means unset. */
const unlessEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === "" ? undefined : v), schema.optional());
const twilioSid = (prefix: string) => z.string().regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`), `must be ${prefix} followed by 32 hex digits`);
const httpsUrl = z.url({ protocol: /^https?$/ });

/** Every provider Herald has for a channel, by the name its lists use. */
export const CHANNEL_PROVIDERS = {
  email: ["smtp", "resend", "sink"],
  sms: ["twilio", "vonage", "sink"],
  push: ["fcm", "apns", "sink"],
} as const satisfies Partial<Record<Channel, readonly string[]>>;
export type FailoverChannel = keyof typeof CHANNEL_PROVIDERS;
export type ProviderName<C extends FailoverChannel = FailoverChannel> = (typeof CHANNEL_PROVIDERS)[C][number];

/** `a,b,c`: a channel's providers in the order they are tried; each once. Unset: every configured one, in CHANNEL_PROVIDERS' order. */
const providerList = <C extends FailoverChannel>(channel: C) =>
  z
    .string()
    .optional()
    .transform((raw, ctx): Array<ProviderName<C>> | undefined => {
      if (raw === undefined || raw.trim() === "") return undefined;
      const known: readonly string[] = CHANNEL_PROVIDERS[channel];
      const names = raw.split(",").map((p) => p.trim());
      const bad = names.find((n, i) => !known.includes(n) || names.indexOf(n) !== i);
      if (bad !== undefined) {
        ctx.addIssue({
          code: "custom",
          message: `"${bad.slice(0, 20)}" is not a ${channel} provider or is listed twice; the ${channel} providers are ${known.join(", ")}`,
        });
        return z.NEVER;
      }
      return names as Array<ProviderName<C>>;
    });

/** `tenant:perSecond[:burst],…` → tenant → its own rate limit; 0 per second: not limited. */
const rateLimitList = z
  .string()
  .default("")
  .transform((raw, ctx) => {
    const limits = new Map<string, { perSecond: number; burst: number | undefined }>();
    for (const part of raw
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean)) {
      const [tenant = "", perSecond = "", burst, ...rest] = part.split(":").map((p) => p.trim());
      const rate = Number(perSecond);
      const size = burst === undefined ? undefined : Number(burst);
      if (
        !tenant ||
        rest.length > 0 ||
        perSecond === "" ||
        !Number.isFinite(rate) ||
        rate < 0 ||
        (size !== undefined && !(Number.isInteger(size) && size >= 1))
      ) {
        ctx.addIssue({
          code: "custom",
          message: `entry "${part.slice(0, 40)}" must be tenant:perSecond or tenant:perSecond:burst (perSecond ≥ 0, burst a whole number ≥ 1)`,
        });
        return z.NEVER;
      }
      limits.set(tenant, { perSecond: rate, burst: size });
    }
    return limits;
  });

/** `channel:perDay,…` → the default daily cap per channel (e.g. `sms:10000`); a tenant's own caps replace it per channel. */
const dailyCapList = z
  .string()
  .default("")
  .transform((raw, ctx) => {
    const caps: Partial<Record<Channel, number>> = {};
    for (const part of raw
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean)) {
      const [channel = "", perDay = "", ...rest] = part.split(":").map((p) => p.trim());
      const n = Number(perDay);
      if (!(CHANNELS as readonly string[]).includes(channel) || rest.length > 0 || perDay === "" || !Number.isInteger(n) || n < 0) {
        ctx.addIssue({
          code: "custom",
          message: `entry "${part.slice(0, 40)}" must be channel:perDay (a channel of ${CHANNELS.join(", ")}, a whole number ≥ 0)`,
        });
        return z.NEVER;
      }
      caps[channel as Channel] = n;
    }
    return caps;
  });

/** Every setting Herald reads from the environment, parsed once at start. */
export const ConfigSchema = z.object({
  HERALD_PORT: int(8080, 0, 65535),
  /** The interface to listen on; unset: 0.0.0.0, but 127.0.0.1 for `all`, a developer's machine. */
  HERALD_HOST: unlessEmpty(z.string().min(1)),
  NATS_URL: z.string().optional(),
  DATABASE_URL: z.string().optional(),
  REDIS_URL: z.string().optional(),
  UPSTASH_REDIS_REST_URL: z.url().optional(),
  UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
  HERALD_API_KEYS: keyList,
  HERALD_ADMIN_KEYS: keyList,
  HERALD_NAMESPACE: z.string().regex(NAMESPACE_PATTERN, "lower-case letters, digits, _ and -; up to 32").default("herald"),
  HERALD_WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  HERALD_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]{24,}$/, "must be whsec_ followed by base64 of 18+ random bytes")
    .optional(),
  HERALD_WEBHOOK_TIMEOUT_MS: int(10_000, 100),
  /** Signs what Herald hands out and later trusts: one-click unsubscribe links and inbox stream tokens. Gateways and processors share it. */
  HERALD_TOKEN_SECRET: unlessEmpty(z.string().min(32, "must be at least 32 characters of random text")),
  /** The gateway's public base URL (`https://notify.example.com`): unsubscribe links point there. */
  HERALD_PUBLIC_URL: unlessEmpty(httpsUrl),
  /** How long a one-click unsubscribe link stays valid. */
  HERALD_UNSUBSCRIBE_TTL_DAYS: int(60, 1, 3650),
  /** Origins a browser may call the browser-facing routes (`/v1/inbox/stream`) from, comma-separated; unset or `*`: any. */
  HERALD_CORS_ORIGINS: z
    .string()
    .default("")
    .transform((raw) =>
      raw
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.union([z.literal("*"), z.url({ protocol: /^https?$/ }).regex(/^[^/]+\/\/[^/]+$/, "must be an origin: scheme, host and port, no path")]))),
  /** The longest an inbox stream token minted by `POST /v1/inbox/tokens` may live. */
  HERALD_INBOX_TOKEN_TTL_S: int(900, 10, 86_400),
  HERALD_RETRY_BASE_MS: int(1000, 1),
  HERALD_RETRY_MAX_MS: int(300_000, 1),
  HERALD_MAX_ATTEMPTS: int(8, 1, 100),
  /** Per channel, its own attempts and backoff instead of the three above, e.g. `sms:4:2000:60000,webhook:12`. */
  HERALD_RETRY_POLICIES: retryPolicyList,
  /** Deliveries of one message without a new attempt (crashes, lost acks) before it is failed as stalled. */
  HERALD_STALL_LIMIT: int(10, 2, 1000),
  /** How often each processor's scheduler looks for notifications that came due. */
  HERALD_SCHEDULER_POLL_MS: int(200, 10, 60_000),
  HERALD_ACK_WAIT_MS: int(DEFAULT_STREAM_OPTIONS.ackWaitMs, 1000),
  HERALD_BATCH_SIZE: int(512, 1, 10_000),
  HERALD_MAX_ACK_PENDING: int(DEFAULT_STREAM_OPTIONS.maxAckPending, 1),
  HERALD_CHANNEL_CONCURRENCY: int(64, 1, 10_000),
  HERALD_BODY_LIMIT_BYTES: int(256 * 1024, 1024),
  /** Requests (a batch: notifications) per second per tenant and gateway instance; 0: no limit. */
  HERALD_RATE_LIMIT: z.coerce.number().min(0).default(0),
  /** The bucket size; 0: one second's worth of HERALD_RATE_LIMIT. */
  HERALD_RATE_LIMIT_BURST: int(0),
  HERALD_RATE_LIMIT_TENANTS: rateLimitList,
  /** Notifications a tenant may have accepted per UTC day on a channel, `sms:10000,…`; past it: 429 with problem type daily_cap. Stored tenant caps replace it. */
  HERALD_DAILY_CAPS: dailyCapList,
  /** Days notifications and their attempts are kept unless the tenant's own retention says otherwise. */
  HERALD_RETENTION_DAYS: int(90, 1, 36_500),
  /** How often each processor runs a retention pass; 0: never (run `herald retention` from cron instead). */
  HERALD_RETENTION_INTERVAL_S: int(3600, 0, 7 * 86_400),
  /** How long a rotated API key keeps working beside its successor unless the rotation names its own grace period. */
  HERALD_KEY_ROTATION_GRACE_S: int(86_400, 0, 30 * 86_400),
  HERALD_PUBLISH_TIMEOUT_MS: int(5000, 100),
  /** How long SIGTERM/SIGINT waits for a clean stop (drains, the last acks) before the process exits 1 anyway. */
  HERALD_SHUTDOWN_TIMEOUT_MS: int(25_000, 100),
  /** workerd only: Durable Objects the Worker spreads requests over, each with its own NATS connection and Postgres pool. */
  HERALD_GATEWAY_SHARDS: int(1, 1, 64),
  HERALD_DUPLICATE_WINDOW_MS: int(DEFAULT_STREAM_OPTIONS.duplicateWindowMs, 1000),
  /** Stream replicas in a NATS cluster (production: 3); a single server takes only 1. */
  HERALD_STREAM_REPLICAS: int(1, 1, 5),
  /** How long the dead-letter stream keeps its feed; replay reads Postgres, so nothing is lost when a dead letter ages out. */
  HERALD_DLQ_MAX_AGE_DAYS: int(14, 1, 3650),
  /** How long the events stream keeps its events: the reach of a new subscriber, `herald events replay` and the drift check. */
  HERALD_EVENTS_MAX_AGE_DAYS: int(7, 1, 3650),
  HERALD_DATA_DIR: z.string().default(".data"),
  /** Email, SMS and push providers (./senders.ts): one call's deadline. */
  HERALD_PROVIDER_TIMEOUT_MS: int(15_000, 100),
  HERALD_SMTP_URL: unlessEmpty(z.string().regex(/^smtps?:\/\/[^/]+/, "must be an smtp:// or smtps:// URL")),
  HERALD_EMAIL_FROM: unlessEmpty(z.string().min(3)),
  /** Resend's API key (`re_…`): email over its HTTP API instead of SMTP. */
  HERALD_RESEND_API_KEY: unlessEmpty(z.string().min(8)),
  HERALD_RESEND_API_URL: unlessEmpty(httpsUrl),
  /** Resend's webhook signing secret (`whsec_…`): its delivery and bounce events are accepted only when signed with it. */
  HERALD_RESEND_WEBHOOK_SECRET: unlessEmpty(z.string().regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, "must be whsec_ followed by base64")),
  HERALD_SMTP_MAX_CONNECTIONS: int(5, 1, 100),
  /** Each channel's providers in the order they are tried when a breaker is open, e.g. `resend,smtp`; `sink` by name. */
  HERALD_EMAIL_PROVIDERS: providerList("email"),
  HERALD_SMS_PROVIDERS: providerList("sms"),
  HERALD_PUSH_PROVIDERS: providerList("push"),
  /** Consecutive provider-caused failures that open a provider's circuit breaker. */
  HERALD_BREAKER_FAILURES: int(5, 1, 1000),
  /** How long an open breaker waits before letting one trial call through (half-open). */
  HERALD_BREAKER_HALF_OPEN_MS: int(30_000, 100, 3_600_000),
  TWILIO_ACCOUNT_SID: unlessEmpty(twilioSid("AC")),
  TWILIO_AUTH_TOKEN: unlessEmpty(z.string().min(1)),
  TWILIO_API_KEY_SID: unlessEmpty(twilioSid("SK")),
  TWILIO_API_KEY_SECRET: unlessEmpty(z.string().min(1)),
  TWILIO_FROM: unlessEmpty(SmsPayload.shape.to),
  TWILIO_MESSAGING_SERVICE_SID: unlessEmpty(twilioSid("MG")),
  TWILIO_API_URL: unlessEmpty(httpsUrl),
  TWILIO_STATUS_CALLBACK_URL: unlessEmpty(httpsUrl),
  /** Vonage's Messages API: the account's API key and secret (HTTP Basic), and the sender number or name. */
  VONAGE_API_KEY: unlessEmpty(z.string().min(1)),
  VONAGE_API_SECRET: unlessEmpty(z.string().min(1)),
  VONAGE_FROM: unlessEmpty(z.string().min(1).max(15)),
  VONAGE_API_URL: unlessEmpty(httpsUrl),
  /** APNs token authentication: the .p8 key (PEM text or a path), its key id, the team id, and the app's bundle id (apns-topic). */
  HERALD_APNS_KEY_ID: unlessEmpty(z.string().regex(/^[A-Z0-9]{10}$/, "must be the 10-character key id")),
  HERALD_APNS_TEAM_ID: unlessEmpty(z.string().regex(/^[A-Z0-9]{10}$/, "must be the 10-character team id")),
  HERALD_APNS_PRIVATE_KEY: unlessEmpty(z.string().min(1)),
  HERALD_APNS_TOPIC: unlessEmpty(z.string().min(1)),
  /** https://api.push.apple.com (default) or https://api.sandbox.push.apple.com. */
  HERALD_APNS_API_URL: unlessEmpty(httpsUrl),
  /** A service-account key file's path, or its JSON. */
  HERALD_FCM_SERVICE_ACCOUNT: unlessEmpty(z.string().min(1)),
  HERALD_FCM_API_URL: unlessEmpty(httpsUrl),
  // Status webhooks (docs/status-webhooks.md): tenants' endpoints for their lifecycle events.
  /** Seconds before each attempt, comma-separated, the first counted from the event; after the last the delivery is dead. */
  HERALD_STATUS_WEBHOOK_RETRY_SCHEDULE_S: z
    .string()
    .default(DEFAULT_RETRY_SCHEDULE_S.join(","))
    .transform((raw) => raw.split(",").map((part) => Number(part.trim())))
    .pipe(
      z
        .array(
          z
            .number()
            .min(0)
            .max(7 * 86_400),
        )
        .min(1)
        .max(20),
    ),
  /** Hours an endpoint's deliveries may fail without one success before it is disabled (fractions allowed). */
  HERALD_STATUS_WEBHOOK_DISABLE_AFTER_H: z.coerce.number().positive().default(DEFAULT_DISABLE_AFTER_H),
  /** One POST's deadline. */
  HERALD_STATUS_WEBHOOK_TIMEOUT_MS: int(15_000, 100, 120_000),
  /** POSTs in flight per processor; one endpoint gets at most a quarter of them. */
  HERALD_STATUS_WEBHOOK_CONCURRENCY: int(32, 1, 1024),
  /** How often each processor looks for deliveries that came due. */
  HERALD_STATUS_WEBHOOK_POLL_MS: int(1000, 10, 60_000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  NODE_ENV: z.string().default("development"),
  ...TELEMETRY_CONFIG_SHAPE,
  // Deployment templates often render an unset variable as `KEY=`: an empty endpoint means tracing off, not a bad URL.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess((v) => (v === "" ? undefined : v), TELEMETRY_CONFIG_SHAPE.OTEL_EXPORTER_OTLP_ENDPOINT),
});

export type HeraldConfig = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly keys: string[],
    message: string,
  ) {
    super(message);
  }
}

/** Parses the environment once at startup; fails fast naming every bad key. */
export function parseConfig(env: Record<string, string | undefined>): HeraldConfig {
  const result = ConfigSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    const keys = [...new Set(result.error.issues.map((i) => String(i.path[0])))];
    throw new ConfigError(keys, `invalid configuration:\n${lines.join("\n")}`);
  }
  const cfg = result.data;
  const problems = [...pairingProblems(cfg)];
  if (problems.length > 0) {
    throw new ConfigError([...new Set(problems.flatMap((p) => p.keys))], `invalid configuration:\n${problems.map((p) => `  ${p.message}`).join("\n")}`);
  }
  return cfg;
}

/** Keys that only work together: each problem names the keys to look at. */
function* pairingProblems(cfg: HeraldConfig): Generator<{ keys: string[]; message: string }> {
  if (Boolean(cfg.UPSTASH_REDIS_REST_URL) !== Boolean(cfg.UPSTASH_REDIS_REST_TOKEN)) {
    yield { keys: ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"], message: "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN go together" };
  }
  const emailProvider = Boolean(cfg.HERALD_SMTP_URL) || Boolean(cfg.HERALD_RESEND_API_KEY);
  if (emailProvider !== Boolean(cfg.HERALD_EMAIL_FROM)) {
    yield {
      keys: ["HERALD_SMTP_URL", "HERALD_RESEND_API_KEY", "HERALD_EMAIL_FROM"],
      message: "HERALD_EMAIL_FROM goes with an email provider: HERALD_SMTP_URL and/or HERALD_RESEND_API_KEY",
    };
  }
  yield* allOrNone(["VONAGE_API_KEY", "VONAGE_API_SECRET", "VONAGE_FROM"], cfg);
  yield* allOrNone(["HERALD_APNS_KEY_ID", "HERALD_APNS_TEAM_ID", "HERALD_APNS_PRIVATE_KEY", "HERALD_APNS_TOPIC"], cfg);
  yield* listedButNotConfigured(cfg);
  yield* twilioProblems(cfg);
}

/** Keys that make sense only together: all set, or none. */
function* allOrNone(keys: Array<keyof HeraldConfig>, cfg: HeraldConfig): Generator<{ keys: string[]; message: string }> {
  const set = keys.filter((k) => cfg[k] !== undefined);
  if (set.length > 0 && set.length < keys.length)
    yield { keys, message: `${keys.join(", ")} go together (missing: ${keys.filter((k) => !set.includes(k)).join(", ")})` };
}

/** Whether each provider has its keys; `sink` always has. */
export function configuredProviders(cfg: HeraldConfig): { [C in FailoverChannel]: Record<ProviderName<C>, boolean> } {
  return {
    email: { smtp: Boolean(cfg.HERALD_SMTP_URL), resend: Boolean(cfg.HERALD_RESEND_API_KEY), sink: true },
    sms: { twilio: Boolean(cfg.TWILIO_ACCOUNT_SID), vonage: Boolean(cfg.VONAGE_API_KEY), sink: true },
    push: { fcm: Boolean(cfg.HERALD_FCM_SERVICE_ACCOUNT), apns: Boolean(cfg.HERALD_APNS_KEY_ID), sink: true },
  };
}

const LIST_KEYS = { email: "HERALD_EMAIL_PROVIDERS", sms: "HERALD_SMS_PROVIDERS", push: "HERALD_PUSH_PROVIDERS" } as const satisfies Record<
  FailoverChannel,
  keyof HeraldConfig
>;

/** A provider named in a list whose keys are not set would fail every message it takes. */
function* listedButNotConfigured(cfg: HeraldConfig): Generator<{ keys: string[]; message: string }> {
  const configured = configuredProviders(cfg);
  for (const channel of Object.keys(LIST_KEYS) as FailoverChannel[]) {
    const key = LIST_KEYS[channel];
    const have: Record<string, boolean> = configured[channel];
    for (const name of cfg[key] ?? []) {
      if (!have[name]) yield { keys: [key], message: `${key} names ${name}, whose keys are not set` };
    }
  }
}

/** A channel's providers in the order they are tried: its list, else every configured one, else the sink. */
export function providerOrder<C extends FailoverChannel>(cfg: HeraldConfig, channel: C): Array<ProviderName<C>> {
  const listed = cfg[LIST_KEYS[channel]] as Array<ProviderName<C>> | undefined;
  if (listed) return listed;
  const have = configuredProviders(cfg)[channel] as Record<ProviderName<C>, boolean>;
  const real = (CHANNEL_PROVIDERS[channel] as readonly ProviderName<C>[]).filter((n) => n !== "sink" && have[n]);
  return real.length > 0 ? real : (["sink"] as Array<ProviderName<C>>);
}

/**
 * Sending through Twilio needs the account, a credential and one origin. The
 * auth token may also stand alone (a gateway that only verifies status
 * callbacks) or beside an API key (Twilio signs callbacks with the token even
 * when Herald sends with the key, which then authenticates the sends).
 */
function* twilioProblems(cfg: HeraldConfig): Generator<{ keys: string[]; message: string }> {
  const sending = [cfg.TWILIO_ACCOUNT_SID, cfg.TWILIO_API_KEY_SID, cfg.TWILIO_API_KEY_SECRET, cfg.TWILIO_FROM, cfg.TWILIO_MESSAGING_SERVICE_SID];
  if (sending.every((v) => v === undefined)) return;
  if (!cfg.TWILIO_ACCOUNT_SID) yield { keys: ["TWILIO_ACCOUNT_SID"], message: "TWILIO_ACCOUNT_SID is required with the other TWILIO_ keys" };
  const apiKey = cfg.TWILIO_API_KEY_SID !== undefined || cfg.TWILIO_API_KEY_SECRET !== undefined;
  if (apiKey && !(cfg.TWILIO_API_KEY_SID && cfg.TWILIO_API_KEY_SECRET)) {
    yield { keys: ["TWILIO_API_KEY_SID", "TWILIO_API_KEY_SECRET"], message: "TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET go together" };
  } else if (!apiKey && cfg.TWILIO_AUTH_TOKEN === undefined) {
    yield {
      keys: ["TWILIO_AUTH_TOKEN", "TWILIO_API_KEY_SID", "TWILIO_API_KEY_SECRET"],
      message: "Twilio needs TWILIO_AUTH_TOKEN or both TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET",
    };
  }
  if ((cfg.TWILIO_FROM === undefined) === (cfg.TWILIO_MESSAGING_SERVICE_SID === undefined)) {
    yield { keys: ["TWILIO_FROM", "TWILIO_MESSAGING_SERVICE_SID"], message: "Twilio needs exactly one of TWILIO_FROM and TWILIO_MESSAGING_SERVICE_SID" };
  }
}
