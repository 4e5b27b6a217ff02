import { afterAll, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeSenders } from "../processor/channels/index.ts";
import { ConfigError, parseConfig } from "../schemas/config.ts";
import { loadServiceAccount, sendersFromConfig } from "./senders.ts";
import { captureLogs } from "../test/support/loggers.ts";

const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const key = {
  type: "service_account",
  project_id: "p",
  private_key_id: "k1",
  private_key: privateKey,
  client_email: "herald@p.iam.gserviceaccount.com",
  token_uri: "https://oauth2.googleapis.com/token",
};
const keyFile = join(tmpdir(), `herald-sa-${process.pid}.json`);
writeFileSync(keyFile, JSON.stringify(key));
afterAll(() => rmSync(keyFile, { force: true }));

async function configError(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => new Error("expected a ConfigError"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).keys).toEqual(["HERALD_FCM_SERVICE_ACCOUNT"]);
  return (err as Error).message;
}

test("loadServiceAccount reads the key inline or from a file", async () => {
  expect((await loadServiceAccount(JSON.stringify(key))).project_id).toBe("p");
  expect((await loadServiceAccount(keyFile)).client_email).toBe("herald@p.iam.gserviceaccount.com");
});

test("loadServiceAccount stops the start on a missing file, non-JSON, a missing field, or a key that cannot sign", async () => {
  expect(await configError(loadServiceAccount("/nonexistent/sa.json"))).toContain("no key file at /nonexistent/sa.json");
  expect(await configError(loadServiceAccount("{not json"))).toContain("the key is not JSON");
  expect(await configError(loadServiceAccount(JSON.stringify({ ...key, private_key: undefined })))).toContain("private_key");
  const garbage = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";
  expect(await configError(loadServiceAccount(JSON.stringify({ ...key, private_key: garbage })))).toContain("private_key: not an RSA PKCS#8 key");
});

test("sendersFromConfig picks each channel's provider from the keys set, logs them, and warns in production for the sink", async () => {
  const { logger: log, lines } = captureLogs<{ msg: string; providers?: unknown; channel?: string; level: number }>("info");
  const cfg = parseConfig({
    NODE_ENV: "production",
    HERALD_SMTP_URL: "smtp://127.0.0.1:2525",
    HERALD_EMAIL_FROM: "Herald <no-reply@example.com>",
    HERALD_FCM_SERVICE_ACCOUNT: keyFile,
  });
  const senders = await sendersFromConfig(cfg, `whsec_${btoa("0123456789abcdef0123")}`, log);
  try {
    expect(Object.fromEntries(Object.entries(senders).map(([c, list]) => [c, list.map((s) => s.provider)]))).toEqual({
      email: ["smtp"],
      sms: ["sink"],
      push: ["fcm"],
      in_app: ["inbox"],
      webhook: ["webhook"],
    });
    expect(lines.find((l) => l.msg === "channel providers")?.providers).toBe("email=smtp sms=sink push=fcm webhook=webhook in_app=inbox");
    // In-app goes to the inbox, so only SMS is warned about.
    expect(lines.filter((l) => l.level === 40).map((l) => l.channel)).toEqual(["sms"]);
  } finally {
    await closeSenders(senders);
  }
});

test("sendersFromConfig sends email through Resend when its key is set", async () => {
  const { logger: log, lines } = captureLogs<{ msg: string; providers?: unknown }>("info");
  const cfg = parseConfig({ HERALD_RESEND_API_KEY: "re_0123456789", HERALD_EMAIL_FROM: "Herald <no-reply@example.com>" });
  const senders = await sendersFromConfig(cfg, `whsec_${btoa("0123456789abcdef0123")}`, log);
  expect(senders.email.map((s) => s.provider)).toEqual(["resend"]);
  expect(lines.find((l) => l.msg === "channel providers")?.providers).toBe("email=resend sms=sink push=sink webhook=webhook in_app=inbox");
  await closeSenders(senders);
});

test("sendersFromConfig orders a channel's providers as HERALD_EMAIL_PROVIDERS lists them, the sink by name", async () => {
  const { logger: log, lines } = captureLogs<{ msg: string; providers?: unknown }>("info");
  const keys = { HERALD_RESEND_API_KEY: "re_0123456789", HERALD_SMTP_URL: "smtp://127.0.0.1:2525", HERALD_EMAIL_FROM: "Herald <no-reply@example.com>" };
  const both = await sendersFromConfig(parseConfig(keys), `whsec_${btoa("0123456789abcdef0123")}`, log);
  // Unlisted: every configured provider, in the documented order.
  expect(both.email.map((s) => s.provider)).toEqual(["smtp", "resend"]);
  await closeSenders(both);
  const listed = await sendersFromConfig(parseConfig({ ...keys, HERALD_EMAIL_PROVIDERS: "resend,sink" }), `whsec_${btoa("0123456789abcdef0123")}`, log);
  expect(listed.email.map((s) => s.provider)).toEqual(["resend", "sink"]);
  expect(lines.findLast((l) => l.msg === "channel providers")?.providers).toBe("email=resend>sink sms=sink push=sink webhook=webhook in_app=inbox");
  await closeSenders(listed);
});
