import type { Logger } from "pino";
import { createSenders, type EmailProvider, type ProviderChains, type PushProvider, type SmsProvider } from "../processor/channels/index.ts";
import { importPkcs8, ServiceAccountKey } from "../processor/channels/google-oauth.ts";
import { loadApnsKey } from "../processor/channels/apns-token.ts";
import type { TwilioSenderOptions } from "../processor/channels/sms-twilio.ts";
import { cachedSigningKeys, type TenantSigningKeys } from "../processor/channels/webhook-keys.ts";
import { signingSecretsOf } from "../lib/db/webhook-secrets.ts";
import type { Database } from "../schemas/database.ts";
import { CHANNELS, type Channel } from "../schemas/enums.ts";
import { ConfigError, providerOrder, type HeraldConfig, type ProviderName } from "../schemas/config.ts";

/**
 * The service-account key named by HERALD_FCM_SERVICE_ACCOUNT: the JSON itself
 * (it starts with `{`) or a path to the key file. A bad key stops the start,
 * naming the key and the field.
 */
export async function loadServiceAccount(value: string): Promise<ServiceAccountKey> {
  const key = "HERALD_FCM_SERVICE_ACCOUNT";
  let text = value;
  if (!value.trimStart().startsWith("{")) {
    const file = Bun.file(value);
    if (!(await file.exists())) throw new ConfigError([key], `invalid configuration:\n  ${key}: no key file at ${value}`);
    text = await file.text();
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError([key], `invalid configuration:\n  ${key}: the key is not JSON`);
  }
  const parsed = ServiceAccountKey.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${key}: ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError([key], `invalid configuration:\n${lines.join("\n")}`);
  }
  // A PEM-shaped key that is not an RSA PKCS#8 key would otherwise fail every push, one retry at a time.
  await importPkcs8(parsed.data.private_key).catch(() => {
    throw new ConfigError([key], `invalid configuration:\n  ${key}: private_key: not an RSA PKCS#8 key`);
  });
  return parsed.data;
}

function twilioOptions(cfg: HeraldConfig): TwilioSenderOptions | undefined {
  const accountSid = cfg.TWILIO_ACCOUNT_SID;
  if (accountSid === undefined) return undefined;
  // parseConfig has checked that a credential and exactly one origin are set. With both
  // credentials, the API key sends; the auth token is there to verify status callbacks.
  const credentials =
    cfg.TWILIO_API_KEY_SID !== undefined && cfg.TWILIO_API_KEY_SECRET !== undefined
      ? { apiKeySid: cfg.TWILIO_API_KEY_SID, apiKeySecret: cfg.TWILIO_API_KEY_SECRET }
      : { authToken: cfg.TWILIO_AUTH_TOKEN ?? "" };
  const origin = cfg.TWILIO_FROM !== undefined ? { from: cfg.TWILIO_FROM } : { messagingServiceSid: cfg.TWILIO_MESSAGING_SERVICE_SID ?? "" };
  return {
    accountSid,
    ...credentials,
    ...origin,
    timeoutMs: cfg.HERALD_PROVIDER_TIMEOUT_MS,
    ...(cfg.TWILIO_API_URL ? { baseUrl: cfg.TWILIO_API_URL } : {}),
    ...(cfg.TWILIO_STATUS_CALLBACK_URL ? { statusCallbackUrl: cfg.TWILIO_STATUS_CALLBACK_URL } : {}),
  };
}

function emailProviders(cfg: HeraldConfig, timeoutMs: number): EmailProvider[] {
  return providerOrder(cfg, "email").map((name) => emailProvider(cfg, name, timeoutMs));
}

function emailProvider(cfg: HeraldConfig, name: ProviderName<"email">, timeoutMs: number): EmailProvider {
  const from = cfg.HERALD_EMAIL_FROM ?? "";
  switch (name) {
    case "smtp":
      return { provider: "smtp", options: { url: cfg.HERALD_SMTP_URL ?? "", from, timeoutMs, maxConnections: cfg.HERALD_SMTP_MAX_CONNECTIONS } };
    case "resend":
      return {
        provider: "resend",
        options: {
          apiKey: cfg.HERALD_RESEND_API_KEY ?? "",
          from,
          timeoutMs,
          ...(cfg.HERALD_RESEND_API_URL ? { baseUrl: cfg.HERALD_RESEND_API_URL } : {}),
        },
      };
    case "sink":
      return { provider: "sink" };
  }
}

function smsProviders(cfg: HeraldConfig): SmsProvider[] {
  return providerOrder(cfg, "sms").flatMap((name) => smsProvider(cfg, name));
}

function smsProvider(cfg: HeraldConfig, name: ProviderName<"sms">): SmsProvider[] {
  switch (name) {
    case "twilio": {
      const options = twilioOptions(cfg);
      return options ? [{ provider: "twilio", options }] : [];
    }
    case "vonage":
      // parseConfig has checked that the three keys come together.
      return [
        {
          provider: "vonage",
          options: {
            apiKey: cfg.VONAGE_API_KEY ?? "",
            apiSecret: cfg.VONAGE_API_SECRET ?? "",
            from: cfg.VONAGE_FROM ?? "",
            timeoutMs: cfg.HERALD_PROVIDER_TIMEOUT_MS,
            ...(cfg.VONAGE_API_URL ? { baseUrl: cfg.VONAGE_API_URL } : {}),
          },
        },
      ];
    case "sink":
      return [{ provider: "sink" }];
  }
}

async function pushProviders(cfg: HeraldConfig, timeoutMs: number): Promise<PushProvider[]> {
  const list: PushProvider[] = [];
  for (const name of providerOrder(cfg, "push")) {
    switch (name) {
      case "fcm":
        list.push({
          provider: "fcm",
          options: {
            serviceAccount: await loadServiceAccount(cfg.HERALD_FCM_SERVICE_ACCOUNT ?? ""),
            timeoutMs,
            ...(cfg.HERALD_FCM_API_URL ? { baseUrl: cfg.HERALD_FCM_API_URL } : {}),
          },
        });
        break;
      case "apns":
        // parseConfig has checked that the four keys come together.
        list.push({
          provider: "apns",
          options: {
            keyId: cfg.HERALD_APNS_KEY_ID ?? "",
            teamId: cfg.HERALD_APNS_TEAM_ID ?? "",
            privateKey: await loadApnsKey(cfg.HERALD_APNS_PRIVATE_KEY ?? ""),
            topic: cfg.HERALD_APNS_TOPIC ?? "",
            timeoutMs,
            ...(cfg.HERALD_APNS_API_URL ? { baseUrl: cfg.HERALD_APNS_API_URL } : {}),
          },
        });
        break;
      case "sink":
        list.push({ provider: "sink" });
        break;
    }
  }
  return list;
}

/**
 * The channel senders the configuration asks for: each channel's providers
 * in the order they are tried (its HERALD_<CHANNEL>_PROVIDERS list, else every
 * provider whose keys are set), the `sink` (which delivers nothing) where
 * none is. Logs the order for each channel, and warns in production for
 * every channel that can fall to the sink, whose notifications would end
 * `sent` without reaching anyone.
 */
export async function sendersFromConfig(cfg: HeraldConfig, webhookSecret: string, log: Logger, tenantKeys?: TenantSigningKeys): Promise<ProviderChains> {
  const timeoutMs = cfg.HERALD_PROVIDER_TIMEOUT_MS;
  const senders = createSenders({
    webhook: {
      secret: webhookSecret,
      timeoutMs: cfg.HERALD_WEBHOOK_TIMEOUT_MS,
      allowPrivate: cfg.HERALD_WEBHOOK_ALLOW_PRIVATE,
      ...(tenantKeys ? { tenantKeys } : {}),
    },
    email: emailProviders(cfg, timeoutMs),
    sms: smsProviders(cfg),
    push: await pushProviders(cfg, timeoutMs),
  });
  const providers = Object.fromEntries(CHANNELS.map((c) => [c, senders[c].map((s) => s.provider)])) as Record<Channel, string[]>;
  // As "channel=provider>next" text: `email` is a key the logger redacts, as it would a recipient's address.
  log.info({ providers: CHANNELS.map((c) => `${c}=${providers[c].join(">")}`).join(" ") }, "channel providers");
  if (cfg.NODE_ENV === "production") {
    for (const channel of CHANNELS) {
      if (providers[channel].includes("sink"))
        log.warn({ channel }, "this channel can go to the sink provider: its notifications are marked sent but delivered nowhere");
    }
  }
  return senders;
}

/**
 * Each tenant's own webhook signing secrets, read (and cached) from the
 * database `connected` resolves to: the senders are built before the process
 * connects, so a bad provider key stops the start at once.
 */
export function tenantSigningKeys(cfg: HeraldConfig, connected: Promise<Database>, log: Logger): TenantSigningKeys {
  if (!cfg.HERALD_TOKEN_SECRET) {
    log.warn("HERALD_TOKEN_SECRET is unset: webhooks of tenants with signing secrets of their own fail (retryably) until it is set as on the gateway");
  }
  return cachedSigningKeys({ load: async (tenants) => signingSecretsOf(await connected, cfg.HERALD_TOKEN_SECRET, tenants) });
}

/** The webhook signing secret a processor cannot start without. */
export function requireWebhookSecret(secret: string | undefined): string {
  if (!secret) throw new ConfigError(["HERALD_WEBHOOK_SECRET"], "invalid configuration:\n  HERALD_WEBHOOK_SECRET is required to sign webhooks");
  return secret;
}
