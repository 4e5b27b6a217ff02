import { expect, test } from "bun:test";
import { ConfigError, parseConfig, providerOrder } from "./config.ts";

test("parses API keys into key → tenant and applies defaults", () => {
  const cfg = parseConfig({ HERALD_API_KEYS: "acme:key-acme-123, beta:key-beta-456" });
  expect(cfg.HERALD_API_KEYS.get("key-beta-456")).toBe("beta");
  expect(cfg.HERALD_PORT).toBe(8080);
  expect(cfg.HERALD_NAMESPACE).toBe("herald");
  expect(cfg.HERALD_MAX_ATTEMPTS).toBe(8);
});

test("fails fast naming every bad key", () => {
  try {
    parseConfig({ HERALD_PORT: "http", HERALD_API_KEYS: "nokey", HERALD_NAMESPACE: "Bad.Name" });
    throw new Error("expected a ConfigError");
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).keys.sort()).toEqual(["HERALD_API_KEYS", "HERALD_NAMESPACE", "HERALD_PORT"]);
  }
});

test("requires the Upstash URL and token together", () => {
  expect(() => parseConfig({ UPSTASH_REDIS_REST_URL: "https://x.upstash.io" })).toThrow(ConfigError);
});

test("reads the telemetry keys with the rest, and an empty OTLP endpoint means tracing off", () => {
  const cfg = parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "", HERALD_LOG_SAMPLE: "0.25", HERALD_METRICS_PORT: "9500" });
  expect(cfg.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
  expect(cfg.HERALD_LOG_SAMPLE).toBe(0.25);
  expect(cfg.HERALD_METRICS_PORT).toBe(9500);
  expect(parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" }).OTEL_EXPORTER_OTLP_ENDPOINT).toBe("http://127.0.0.1:4318");
  expect(() => parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector" })).toThrow(ConfigError);
});

test("reads the rate limit: off by default, per-tenant overrides with an optional burst", () => {
  const off = parseConfig({});
  expect(off.HERALD_RATE_LIMIT).toBe(0);
  expect(off.HERALD_RATE_LIMIT_TENANTS.size).toBe(0);
  const cfg = parseConfig({ HERALD_RATE_LIMIT: "50", HERALD_RATE_LIMIT_BURST: "200", HERALD_RATE_LIMIT_TENANTS: "acme:1000:5000, free:0, beta:2.5" });
  expect(cfg.HERALD_RATE_LIMIT).toBe(50);
  expect(cfg.HERALD_RATE_LIMIT_BURST).toBe(200);
  expect(Object.fromEntries(cfg.HERALD_RATE_LIMIT_TENANTS)).toEqual({
    acme: { perSecond: 1000, burst: 5000 },
    free: { perSecond: 0, burst: undefined },
    beta: { perSecond: 2.5, burst: undefined },
  });
  for (const bad of ["acme", "acme:fast", "acme:10:0", "acme:-1", ":10", "acme:10:20:30"]) {
    expect(() => parseConfig({ HERALD_RATE_LIMIT_TENANTS: bad })).toThrow(/HERALD_RATE_LIMIT_TENANTS/);
  }
  expect(() => parseConfig({ HERALD_RATE_LIMIT: "-5" })).toThrow(/HERALD_RATE_LIMIT/);
});

test("reads the providers' keys: each set complete or absent, empty values unset", () => {
  const sid = (prefix: string) => `${prefix}${"a1".repeat(16)}`;
  const cfg = parseConfig({
    HERALD_SMTP_URL: "smtps://user:pw@smtp.example.com:465",
    HERALD_EMAIL_FROM: "Herald <no-reply@example.com>",
    TWILIO_ACCOUNT_SID: sid("AC"),
    TWILIO_API_KEY_SID: sid("SK"),
    TWILIO_API_KEY_SECRET: "secret",
    TWILIO_MESSAGING_SERVICE_SID: sid("MG"),
    HERALD_FCM_SERVICE_ACCOUNT: "",
  });
  expect(cfg.HERALD_SMTP_URL).toBe("smtps://user:pw@smtp.example.com:465");
  expect(cfg.TWILIO_MESSAGING_SERVICE_SID).toBe(sid("MG"));
  expect(cfg.HERALD_FCM_SERVICE_ACCOUNT).toBeUndefined();
  expect(cfg.HERALD_PROVIDER_TIMEOUT_MS).toBe(15_000);

  const keysOf = (env: Record<string, string>) => {
    try {
      parseConfig(env);
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.keys.sort();
    }
  };
  expect(keysOf({ HERALD_SMTP_URL: "http://smtp.example.com" })).toEqual(["HERALD_SMTP_URL"]);
  expect(keysOf({ HERALD_EMAIL_FROM: "a@example.com" })).toEqual(["HERALD_EMAIL_FROM", "HERALD_RESEND_API_KEY", "HERALD_SMTP_URL"]);
  expect(keysOf({ TWILIO_ACCOUNT_SID: "AC123" })).toEqual(["TWILIO_ACCOUNT_SID"]);
  expect(keysOf({ TWILIO_FROM: "+14155550100", TWILIO_AUTH_TOKEN: "t" })).toEqual(["TWILIO_ACCOUNT_SID"]);
  expect(keysOf({ TWILIO_ACCOUNT_SID: sid("AC"), TWILIO_AUTH_TOKEN: "t", TWILIO_API_KEY_SID: sid("SK"), TWILIO_FROM: "+14155550100" })).toEqual([
    "TWILIO_API_KEY_SECRET",
    "TWILIO_API_KEY_SID",
  ]);
  expect(keysOf({ TWILIO_ACCOUNT_SID: sid("AC"), TWILIO_FROM: "+14155550100" })).toEqual(["TWILIO_API_KEY_SECRET", "TWILIO_API_KEY_SID", "TWILIO_AUTH_TOKEN"]);
  // The token verifies status callbacks: alone on a gateway, or beside the API key that sends.
  expect(keysOf({ TWILIO_AUTH_TOKEN: "t", TWILIO_STATUS_CALLBACK_URL: "https://herald.example.com/v1/callbacks/twilio" })).toEqual([]);
  expect(
    keysOf({ TWILIO_ACCOUNT_SID: sid("AC"), TWILIO_AUTH_TOKEN: "t", TWILIO_API_KEY_SID: sid("SK"), TWILIO_API_KEY_SECRET: "s", TWILIO_FROM: "+14155550100" }),
  ).toEqual([]);
  expect(keysOf({ TWILIO_ACCOUNT_SID: sid("AC"), TWILIO_AUTH_TOKEN: "t", TWILIO_FROM: "+14155550100", TWILIO_MESSAGING_SERVICE_SID: sid("MG") })).toEqual([
    "TWILIO_FROM",
    "TWILIO_MESSAGING_SERVICE_SID",
  ]);
  expect(keysOf({ TWILIO_ACCOUNT_SID: sid("AC"), TWILIO_AUTH_TOKEN: "t", TWILIO_FROM: "4155550100" })).toEqual(["TWILIO_FROM"]);
});

test("reads how long the dead-letter stream keeps its feed: 14 days by default, whole days of at least 1", () => {
  expect(parseConfig({}).HERALD_DLQ_MAX_AGE_DAYS).toBe(14);
  expect(parseConfig({ HERALD_DLQ_MAX_AGE_DAYS: "90" }).HERALD_DLQ_MAX_AGE_DAYS).toBe(90);
  for (const bad of ["0", "1.5", "two weeks"]) {
    try {
      parseConfig({ HERALD_DLQ_MAX_AGE_DAYS: bad });
      throw new Error("expected a ConfigError");
    } catch (err) {
      expect((err as ConfigError).keys).toEqual(["HERALD_DLQ_MAX_AGE_DAYS"]);
    }
  }
});

test("reads per-channel retry policies: attempts, then optionally base and cap; anything else names the key", () => {
  expect(parseConfig({}).HERALD_RETRY_POLICIES.size).toBe(0);
  const cfg = parseConfig({ HERALD_RETRY_POLICIES: "sms:4:2000:60000, webhook:12" });
  expect(Object.fromEntries(cfg.HERALD_RETRY_POLICIES)).toEqual({
    sms: { maxAttempts: 4, retryBaseMs: 2000, retryMaxMs: 60000 },
    webhook: { maxAttempts: 12 },
  });
  for (const bad of ["pigeon:3", "sms", "sms:0", "sms:101", "sms:3:5000:100", "sms:3,sms:4", "sms:3:1:2:4", "sms:x", "sms:2.5"]) {
    expect(() => parseConfig({ HERALD_RETRY_POLICIES: bad })).toThrow(/HERALD_RETRY_POLICIES/);
  }
});

test("email goes through SMTP, Resend or both, with HERALD_EMAIL_FROM", () => {
  const resend = parseConfig({ HERALD_RESEND_API_KEY: "re_0123456789", HERALD_EMAIL_FROM: "Herald <n@example.com>" });
  expect(resend.HERALD_RESEND_API_KEY).toBe("re_0123456789");
  expect(() => parseConfig({ HERALD_RESEND_API_KEY: "re_0123456789" })).toThrow(/HERALD_EMAIL_FROM goes with an email provider/);
  expect(() => parseConfig({ HERALD_EMAIL_FROM: "Herald <n@example.com>" })).toThrow(/HERALD_EMAIL_FROM goes with an email provider/);
  const both = parseConfig({ HERALD_RESEND_API_KEY: "re_0123456789", HERALD_SMTP_URL: "smtp://127.0.0.1:2525", HERALD_EMAIL_FROM: "n@example.com" });
  expect(providerOrder(both, "email")).toEqual(["smtp", "resend"]);
});

test("a provider list names known providers once each, and only those whose keys are set", () => {
  const cfg = parseConfig({ HERALD_RESEND_API_KEY: "re_0123456789", HERALD_EMAIL_FROM: "n@example.com", HERALD_EMAIL_PROVIDERS: "resend, sink" });
  expect(providerOrder(cfg, "email")).toEqual(["resend", "sink"]);
  expect(providerOrder(cfg, "sms")).toEqual(["sink"]);
  expect(() => parseConfig({ HERALD_EMAIL_PROVIDERS: "sendgrid" })).toThrow(
    /"sendgrid" is not a email provider or is listed twice; the email providers are smtp, resend, sink/,
  );
  expect(() => parseConfig({ HERALD_SMS_PROVIDERS: "sink,sink" })).toThrow(/listed twice/);
  expect(() => parseConfig({ HERALD_PUSH_PROVIDERS: "apns,sink" })).toThrow(/HERALD_PUSH_PROVIDERS names apns, whose keys are not set/);
  expect(() => parseConfig({ VONAGE_API_KEY: "k", VONAGE_FROM: "Herald" })).toThrow(/missing: VONAGE_API_SECRET/);
});

test("HERALD_CORS_ORIGINS lists origins, never a URL with a path", () => {
  expect(parseConfig({ HERALD_CORS_ORIGINS: "https://app.example.com, http://localhost:3000" }).HERALD_CORS_ORIGINS).toEqual([
    "https://app.example.com",
    "http://localhost:3000",
  ]);
  expect(parseConfig({}).HERALD_CORS_ORIGINS).toEqual([]);
  expect(() => parseConfig({ HERALD_CORS_ORIGINS: "https://app.example.com/path" })).toThrow(/must be an origin/);
});
