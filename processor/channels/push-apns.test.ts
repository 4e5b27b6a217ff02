import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createSecureServer, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError } from "../../schemas/config.ts";
import { loadApnsKey, PROVIDER_TOKEN_REUSE_MS } from "./apns-token.ts";
import { PermanentError, RetryableError } from "./errors.ts";
import { type ApnsSenderOptions, createApnsSender } from "./push-apns.ts";
import { classifyApnsFailure } from "./push-apns-errors.ts";
import type { OutboundNotification, Sender } from "./types.ts";

const KEY_ID = "ABC123DEFG";
const TEAM_ID = "DEF123GHIJ";
const TOPIC = "com.example.herald";

async function p8(algorithm: EcKeyGenParams): Promise<{ pem: string; publicKey: CryptoKey }> {
  const pair = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const der = Buffer.from(await crypto.subtle.exportKey("pkcs8", pair.privateKey)).toString("base64");
  return { pem: `-----BEGIN PRIVATE KEY-----\n${der.match(/.{1,64}/g)?.join("\n")}\n-----END PRIVATE KEY-----\n`, publicKey: pair.publicKey };
}
// The .p8 that Apple would issue, and its public half that APNs would hold.
const { pem: privateKey, publicKey } = await p8({ name: "ECDSA", namedCurve: "P-256" });
const dir = mkdtempSync(join(tmpdir(), "herald-apns-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A self-signed certificate for 127.0.0.1, made for this run by the openssl binary. */
function selfSigned(): { key: string; cert: string } {
  const [key, cert] = [join(dir, "tls-key.pem"), join(dir, "tls-cert.pem")];
  const subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"];
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  execFileSync("openssl", ["req", "-x509", ...ec, "-days", "1", ...subject, "-keyout", key, "-out", cert], { stdio: "ignore" });
  return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
}
const tls = selfSigned();

// Device tokens: hex, as iOS hands them out. The scripted ones make the peer answer as APNs does.
const DEVICE = "a1".repeat(32);
const LONG_DEVICE = "b2".repeat(80);
const UNREGISTERED = "c3".repeat(32);
const BAD_DEVICE = "d4".repeat(32);
const SLOW = "e5".repeat(32);
const SCRIPTED: Record<string, { status: number; reason: string; retryAfter?: string }> = {
  ["29".repeat(32)]: { status: 429, reason: "TooManyRequests", retryAfter: "7" },
  ["50".repeat(32)]: { status: 500, reason: "InternalServerError" },
  ["53".repeat(32)]: { status: 503, reason: "ServiceUnavailable", retryAfter: "30" },
  [BAD_DEVICE]: { status: 400, reason: "BadDeviceToken" },
};

/** What the peer has seen and how it answers; reset before each test. */
const peer = {
  sessions: 0,
  open: new Set<ServerHttp2Session>(),
  /** Provider tokens, one per request, in order. */
  tokens: [] as string[],
  expired: new Set<string>(),
  /** Requests that broke the documented contract in a way no configuration could: must stay empty. */
  violations: [] as string[],
  clock: () => Date.now(),
  last: undefined as { headers: IncomingHttpHeaders; body: unknown } | undefined,
};

const Jwt = { header: z.strictObject({ alg: z.literal("ES256"), kid: z.string() }), claims: z.strictObject({ iss: z.string(), iat: z.number().int() }) };
const Body = z.object({ aps: z.strictObject({ alert: z.strictObject({ title: z.string().min(1), body: z.string().min(1) }) }) }).catchall(z.string());
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether a provider token is one APNs takes: signed by the team's key, its kid and iss, at most an hour old. */
async function tokenProblem(authorization: string | undefined): Promise<string | undefined> {
  const jwt = authorization?.match(/^bearer (.+)$/)?.[1];
  if (!jwt) return "MissingProviderToken";
  peer.tokens.push(jwt);
  const [h = "", c = "", s = ""] = jwt.split(".");
  const json = (part: string): unknown => JSON.parse(Buffer.from(part, "base64url").toString());
  const header = Jwt.header.safeParse(json(h));
  const claims = Jwt.claims.safeParse(json(c));
  const signed = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, publicKey, Buffer.from(s, "base64url"), new TextEncoder().encode(`${h}.${c}`));
  if (!header.success || !claims.success || !signed || header.data.kid !== KEY_ID || claims.data.iss !== TEAM_ID) return "InvalidProviderToken";
  if (peer.clock() / 1000 - claims.data.iat > 3600 || peer.expired.has(jwt)) return "ExpiredProviderToken";
  return undefined;
}

/** Plays APNs' provider API, checking the documented request. */
async function answer(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, raw: Buffer): Promise<void> {
  const refuse = (status: number, reason: string, extra: Record<string, string> = {}) => {
    if (stream.destroyed) return;
    stream.respond({ ":status": status, "apns-id": String(headers["apns-id"] ?? crypto.randomUUID()), "content-type": "application/json", ...extra });
    stream.end(JSON.stringify(reason === "Unregistered" ? { reason, timestamp: Date.now() } : { reason }));
  };
  const violation = (status: number, reason: string) => {
    peer.violations.push(reason);
    refuse(status, reason);
  };
  if (stream.session?.alpnProtocol !== "h2") return violation(400, "not HTTP/2");
  if (headers[":method"] !== "POST") return violation(405, "MethodNotAllowed");
  const device = String(headers[":path"]).match(/^\/3\/device\/([0-9a-fA-F]+)$/)?.[1];
  if (!device) return violation(404, "BadPath");
  const tokenRefused = await tokenProblem(headers.authorization);
  if (tokenRefused) return refuse(403, tokenRefused);
  // Like APNs: one stream at a time on a new connection until a provider token checks out.
  if (stream.session?.localSettings.maxConcurrentStreams === 1) stream.session.settings({ maxConcurrentStreams: 100 });
  if (headers["apns-topic"] === undefined) return refuse(400, "MissingTopic");
  if (headers["apns-topic"] !== TOPIC) return refuse(400, "BadTopic");
  if (headers["apns-push-type"] !== "alert") return violation(400, "InvalidPushType");
  if (!UUID.test(String(headers["apns-id"]))) return violation(400, "BadMessageId");
  if (!["5", "10"].includes(String(headers["apns-priority"]))) return violation(400, "BadPriority");
  if (!(Number(headers["apns-expiration"]) > peer.clock() / 1000)) return violation(400, "BadExpirationDate");
  if (raw.byteLength > 4096) return refuse(413, "PayloadTooLarge");
  const body = Body.safeParse(JSON.parse(raw.toString("utf8")));
  if (!body.success) return violation(400, "PayloadEmpty");
  peer.last = { headers, body: body.data };
  const scripted = SCRIPTED[device];
  if (scripted) return refuse(scripted.status, scripted.reason, scripted.retryAfter ? { "retry-after": scripted.retryAfter } : {});
  if (device === SLOW) await Bun.sleep(1000);
  if (device !== DEVICE && device !== LONG_DEVICE && device !== SLOW) return refuse(410, "Unregistered");
  if (!stream.destroyed) {
    stream.respond({ ":status": 200, "apns-id": String(headers["apns-id"]) });
    stream.end();
  }
}

const server = createSecureServer({ ...tls, settings: { maxConcurrentStreams: 1 } });
server.on("session", (session) => {
  peer.sessions += 1;
  peer.open.add(session);
  session.on("close", () => peer.open.delete(session));
});
server.on("stream", (stream, headers) => {
  const chunks: Buffer[] = [];
  stream.on("error", () => undefined);
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  stream.on("end", () => void answer(stream as ServerHttp2Stream, headers, Buffer.concat(chunks)));
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const baseUrl = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
afterAll(async () => {
  for (const session of peer.open) session.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const senders: Sender[] = [];
function newSender(overrides: Partial<ApnsSenderOptions> = {}): Sender {
  const sender = createApnsSender({ keyId: KEY_ID, teamId: TEAM_ID, privateKey, topic: TOPIC, timeoutMs: 2000, baseUrl, tls: { ca: tls.cert }, ...overrides });
  senders.push(sender);
  return sender;
}

beforeEach(() => {
  Object.assign(peer, { tokens: [], expired: new Set(), violations: [], clock: () => Date.now(), last: undefined });
});
afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.close?.()));
  expect(peer.violations).toEqual([]);
});

const ctx = { attempt: 1, signal: new AbortController().signal };

function note(payload: Record<string, unknown>, type: OutboundNotification["type"] = "transactional"): OutboundNotification {
  return { id: crypto.randomUUID(), tenantId: "acme", userId: "u", channel: "push", type, payload, metadata: null, correlationId: null };
}
const to = (device: string) => note({ to: device, title: "Hi", body: "Your order shipped" });

async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => new Error("expected a failure"),
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await Bun.sleep(10);
  expect(condition()).toBe(true);
}

describe("APNs sender", () => {
  test("sends the documented request and returns the apns-id APNs echoes", async () => {
    const n = note({ to: DEVICE, title: "Hi", body: "Your order shipped", data: { orderId: "42", aps: "not the alert" } });
    const result = await newSender().send(n, ctx);
    expect(result.providerMessageId).toBe(n.id);
    expect(peer.last?.body).toEqual({ orderId: "42", aps: { alert: { title: "Hi", body: "Your order shipped" } } });
    const headers = peer.last?.headers ?? {};
    expect([headers["apns-topic"], headers["apns-push-type"], headers["apns-priority"], headers["apns-id"]]).toEqual([TOPIC, "alert", "10", n.id]);
    expect(Number(headers["apns-expiration"]) - Date.now() / 1000).toBeGreaterThan(3600);
  });

  test("sends marketing at priority 5 and takes device tokens longer than 32 bytes", async () => {
    await newSender().send(note({ to: LONG_DEVICE, title: "Sale", body: "Half price" }, "marketing"), ctx);
    expect(peer.last?.headers["apns-priority"]).toBe("5");
  });

  test("reuses one provider token and one HTTP/2 session across many sends", async () => {
    const sender = newSender();
    const sessions = peer.sessions;
    await Promise.all(Array.from({ length: 21 }, () => sender.send(to(DEVICE), ctx)));
    expect(peer.tokens).toHaveLength(21);
    expect(new Set(peer.tokens).size).toBe(1);
    expect(peer.sessions).toBe(sessions + 1);
  });

  test("signs a new provider token once the old one is 50 minutes old, not before", async () => {
    let t = Date.now();
    peer.clock = () => t;
    const sender = newSender({ now: () => t });
    await sender.send(to(DEVICE), ctx);
    t += PROVIDER_TOKEN_REUSE_MS - 60_000;
    await sender.send(to(DEVICE), ctx);
    t += 120_000;
    await sender.send(to(DEVICE), ctx);
    expect(new Set(peer.tokens).size).toBe(2);
    expect(peer.tokens[1]).toBe(peer.tokens[0] ?? "");
  });

  test("an unregistered device token is permanent and marks the device unreachable", async () => {
    const err = await failure(newSender().send(to(UNREGISTERED), ctx));
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).unreachable).toBe(true);
    expect(err.message).toContain("Unregistered");
  });

  test("BadDeviceToken is permanent but does not mark the device: a wrong APNs environment answers it for every token", async () => {
    const err = await failure(newSender().send(to(BAD_DEVICE), ctx));
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).unreachable).toBe(false);
    expect(err.message).toContain("HERALD_APNS_API_URL");
    expect(err.message).toContain("BadDeviceToken");
  });

  test("a provider token refused as expired is re-signed once and the send succeeds", async () => {
    const sender = newSender();
    await sender.send(to(DEVICE), ctx);
    peer.expired.add(peer.tokens[0] ?? "");
    await sender.send(to(DEVICE), ctx);
    expect(peer.tokens).toHaveLength(3);
    expect([peer.tokens[1], new Set(peer.tokens).size]).toEqual([peer.tokens[0], 2]);
  });

  test("a provider token refused again after the re-sign is retryable, and the key is not re-signed again soon", async () => {
    const { pem: otherTeamsKey } = await p8({ name: "ECDSA", namedCurve: "P-256" });
    const sender = newSender({ privateKey: otherTeamsKey });
    const err = await failure(sender.send(to(DEVICE), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain("InvalidProviderToken");
    expect(await failure(sender.send(to(DEVICE), ctx))).toBeInstanceOf(RetryableError);
    expect(peer.tokens).toHaveLength(3);
    expect(new Set(peer.tokens).size).toBe(2);
  });

  test("a topic APNs refuses is operator config: retryable", async () => {
    const err = await failure(newSender({ topic: "com.example.other" }).send(to(DEVICE), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain("BadTopic");
  });

  test.each([
    ["TooManyRequests", "29".repeat(32), 7000],
    ["ServiceUnavailable", "53".repeat(32), 30_000],
    ["InternalServerError", "50".repeat(32), undefined],
  ])("%s is retryable and honours Retry-After", async (reason, device, retryAfterMs) => {
    const err = await failure(newSender().send(to(device), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain(reason);
    expect((err as RetryableError).retryAfterMs).toBe(retryAfterMs);
  });

  test("a payload over 4 KB is permanent (PayloadTooLarge) and does not mark the device", async () => {
    const err = await failure(newSender().send(note({ to: DEVICE, title: "Long", body: "x".repeat(4096) }), ctx));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain("PayloadTooLarge");
    expect((err as PermanentError).unreachable).toBe(false);
  });

  test("does not accept an FCM registration token, nor send one", async () => {
    const sender = newSender();
    const fcm = note({ to: "dXZ1bmtub3du:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx", title: "t", body: "b" });
    expect([sender.accepts?.(to(DEVICE)), sender.accepts?.(to(LONG_DEVICE)), sender.accepts?.(fcm), sender.accepts?.(to("ab".repeat(101)))]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(await failure(sender.send(fcm, ctx))).toBeInstanceOf(PermanentError);
    expect(peer.tokens).toEqual([]);
  });

  test("an invalid payload is permanent and makes no request", async () => {
    const err = await failure(newSender().send(note({ to: DEVICE, title: "t", body: "b", data: { n: 1 } }), ctx));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain("data.n");
    expect(peer.tokens).toEqual([]);
  });

  test("a slow APNs times out as retryable within about timeoutMs, and the session stays usable", async () => {
    const sender = newSender({ timeoutMs: 300 });
    await sender.send(to(DEVICE), ctx);
    const [sessions, started] = [peer.sessions, performance.now()];
    const err = await failure(sender.send(to(SLOW), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain("timed out after 300 ms");
    expect(performance.now() - started).toBeLessThan(800);
    await sender.send(to(DEVICE), ctx);
    expect(peer.sessions).toBe(sessions);
  });

  test("a refused connection is retryable", async () => {
    const err = await failure(newSender({ baseUrl: "https://127.0.0.1:1" }).send(to(DEVICE), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain("APNs request");
  });

  test("close() closes the HTTP/2 session", async () => {
    const sender = newSender();
    await sender.send(to(DEVICE), ctx);
    expect(peer.open.size).toBe(1);
    await sender.close?.();
    await until(() => peer.open.size === 0);
  });

  test("opens a new session after APNs sends GOAWAY", async () => {
    const sender = newSender();
    await sender.send(to(DEVICE), ctx);
    const sessions = peer.sessions;
    for (const session of peer.open) session.goaway(0, 0, Buffer.from(JSON.stringify({ reason: "Shutdown" })));
    await until(() => peer.open.size === 0);
    await sender.send(to(DEVICE), ctx);
    expect(peer.sessions).toBe(sessions + 1);
  });

  test("error texts never hold the device token", async () => {
    const devices = [UNREGISTERED, BAD_DEVICE, SLOW, ...Object.keys(SCRIPTED)];
    const sender = newSender({ timeoutMs: 300 });
    const errors = await Promise.all(devices.map((d) => failure(sender.send(to(d), ctx))));
    errors.push(await failure(newSender({ baseUrl: "https://127.0.0.1:1" }).send(to(DEVICE), ctx)));
    errors.push(await failure(sender.send(note({ to: DEVICE, title: "t", body: "x".repeat(4096) }), ctx)));
    for (const err of errors) {
      expect(err.message).toMatch(/^(APNs|invalid)/);
      for (const device of [...devices, DEVICE]) expect(err.message).not.toContain(device);
    }
  });
});

describe("loadApnsKey", () => {
  test("takes the .p8 PEM text, or the path of the .p8 file", async () => {
    const file = join(dir, "AuthKey_ABC123DEFG.p8");
    writeFileSync(file, privateKey);
    expect(await loadApnsKey(privateKey)).toBe(privateKey);
    expect(await loadApnsKey(file)).toBe(privateKey);
  });

  test("takes PEM text whose newlines arrived as literal \\n, and signs with it", async () => {
    const pasted = privateKey.replaceAll("\n", "\\n");
    const sender = newSender({ privateKey: await loadApnsKey(pasted) });
    await sender.send(to(DEVICE), ctx);
  });

  test("refuses a key that is not EC P-256, naming HERALD_APNS_PRIVATE_KEY", async () => {
    const { pem } = await p8({ name: "ECDSA", namedCurve: "P-384" });
    const err = await failure(loadApnsKey(pem));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain("HERALD_APNS_PRIVATE_KEY");
    expect(err.message).toContain("P-256");
  });

  test("refuses a SEC1 EC key, asking for the PKCS#8 form Apple issues", async () => {
    const sec1 = createPrivateKey(privateKey).export({ type: "sec1", format: "pem" }).toString();
    const err = await failure(loadApnsKey(sec1));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain("PKCS#8");
  });

  test("refuses a missing file, naming HERALD_APNS_PRIVATE_KEY", async () => {
    const err = await failure(loadApnsKey(join(dir, "AuthKey_MISSING.p8")));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain("HERALD_APNS_PRIVATE_KEY");
    expect(err.message).toContain("ENOENT");
  });

  test("refuses a value that is neither PEM nor a file, without echoing it", async () => {
    const err = await failure(loadApnsKey("MIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg-secret"));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain("HERALD_APNS_PRIVATE_KEY");
    expect(err.message).not.toContain("secret");
  });
});

describe("classifyApnsFailure", () => {
  const rows: [string, number, string, "permanent" | "unreachable" | "retryable"][] = [
    ["Unregistered", 410, `{"reason":"Unregistered","timestamp":1700000000000}`, "unreachable"],
    ["ExpiredToken", 410, `{"reason":"ExpiredToken"}`, "unreachable"],
    ["a 410 with an unknown reason", 410, `{"reason":"SomethingNew"}`, "unreachable"],
    ["DeviceTokenNotForTopic", 400, `{"reason":"DeviceTokenNotForTopic"}`, "permanent"],
    ["BadExpirationDate (our bug)", 400, `{"reason":"BadExpirationDate"}`, "permanent"],
    ["TopicDisallowed (config)", 400, `{"reason":"TopicDisallowed"}`, "retryable"],
    ["MissingProviderToken (config)", 403, `{"reason":"MissingProviderToken"}`, "retryable"],
    ["TooManyProviderTokenUpdates", 429, `{"reason":"TooManyProviderTokenUpdates"}`, "retryable"],
    ["Shutdown", 503, `{"reason":"Shutdown"}`, "retryable"],
    ["an HTML 502 from a front end", 502, "<html>bad gateway</html>", "retryable"],
    ["an unknown 4xx", 418, "", "permanent"],
  ];

  test.each(rows)("%s (HTTP %i)", (_, status, body, kind) => {
    const { error, staleToken } = classifyApnsFailure(status, body, null);
    expect(error).toBeInstanceOf(kind === "retryable" ? RetryableError : PermanentError);
    expect(error instanceof PermanentError && error.unreachable).toBe(kind === "unreachable");
    expect(staleToken).toBe(false);
  });

  test("ExpiredProviderToken and InvalidProviderToken ask for a re-signed token", () => {
    for (const reason of ["ExpiredProviderToken", "InvalidProviderToken"]) {
      const { error, staleToken } = classifyApnsFailure(403, JSON.stringify({ reason }), null);
      expect([error instanceof RetryableError, staleToken]).toEqual([true, true]);
    }
  });
});
