import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { generateKeyPairSync, verify } from "node:crypto";
import { z } from "zod";
import { PermanentError, RetryableError } from "./errors.ts";
import { createServiceAccountTokenSource, ServiceAccountKey, TokenGrantError } from "./google-oauth.ts";
import { createFcmSender, FCM_SCOPE } from "./push-fcm.ts";
import { classifyFcmFailure } from "./push-fcm-errors.ts";
import type { OutboundNotification } from "./types.ts";

// One key pair per file: RSA generation is the slow part.
const { privateKey, publicKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
});
const PROJECT = "herald-test";
const KEY_ID = "0123456789abcdef0123456789abcdef01234567";
const EMAIL = "herald-push@herald-test.iam.gserviceaccount.com";

/** What the peer has seen and how it answers; reset before each test. */
const peer = {
  grants: 0,
  sends: 0,
  /** Requests that broke the documented contract; must stay empty. */
  violations: [] as string[],
  validTokens: new Set<string>(),
  tokenMode: "ok" as "ok" | "invalid_grant",
  tokenDelayMs: 20,
  expiresIn: 3600,
  clock: () => Date.now(),
  lastMessage: undefined as unknown,
};

const Claims = z.strictObject({ iss: z.literal(EMAIL), scope: z.literal(FCM_SCOPE), aud: z.string(), iat: z.number().int(), exp: z.number().int() });
const SendRequest = z.strictObject({
  message: z.strictObject({
    token: z.string().min(1),
    notification: z.strictObject({ title: z.string().min(1), body: z.string().min(1) }),
    data: z.record(z.string(), z.string()).optional(),
  }),
});

function rpcError(code: number, status: string, fcmCode?: string): Response {
  const details = fcmCode ? [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode: fcmCode }] : [];
  return Response.json({ error: { code, message: "Request failed.", status, details } }, { status: code, headers: code === 429 ? { "retry-after": "7" } : {} });
}

/** Plays Google's token endpoint and FCM, checking the documented shapes. */
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const path = new URL(req.url).pathname;
    if (path === "/token") return grant(req);
    if (path === `/v1/projects/${PROJECT}/messages:send` && req.method === "POST") return send(req);
    peer.violations.push(`unexpected ${req.method} ${path}`);
    return new Response("not found", { status: 404 });
  },
});
const tokenUri = `http://127.0.0.1:${server.port}/token`;
const baseUrl = `http://127.0.0.1:${server.port}`;
const serviceAccount: ServiceAccountKey = { project_id: PROJECT, client_email: EMAIL, private_key_id: KEY_ID, private_key: privateKey, token_uri: tokenUri };
afterAll(() => server.stop(true));

async function grant(req: Request): Promise<Response> {
  const refuse = (why: string) => {
    peer.violations.push(why);
    return Response.json({ error: "invalid_grant", error_description: why }, { status: 400 });
  };
  if (!req.headers.get("content-type")?.startsWith("application/x-www-form-urlencoded")) return refuse("not a form");
  const form = new URLSearchParams(await req.text());
  if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") return refuse("grant_type");
  const [h = "", c = "", s = ""] = (form.get("assertion") ?? "").split(".");
  const header: unknown = JSON.parse(Buffer.from(h, "base64url").toString());
  if (!z.strictObject({ alg: z.literal("RS256"), typ: z.literal("JWT"), kid: z.literal(KEY_ID) }).safeParse(header).success) return refuse("header");
  if (!verify("sha256", Buffer.from(`${h}.${c}`), publicKey, Buffer.from(s, "base64url"))) return refuse("signature");
  const claims = Claims.safeParse(JSON.parse(Buffer.from(c, "base64url").toString()));
  if (!claims.success || claims.data.aud !== tokenUri) return refuse("claims");
  const { iat, exp } = claims.data;
  if (Math.abs(iat - peer.clock() / 1000) > 60 || exp <= iat || exp - iat > 3600) return refuse("iat/exp");
  await Bun.sleep(peer.tokenDelayMs);
  if (peer.tokenMode === "invalid_grant") return Response.json({ error: "invalid_grant", error_description: "Invalid JWT Signature." }, { status: 400 });
  peer.grants += 1;
  const token = `ya29.test-${peer.grants}-${crypto.randomUUID()}`;
  peer.validTokens.add(token);
  return Response.json({ access_token: token, expires_in: peer.expiresIn, token_type: "Bearer" });
}

async function send(req: Request): Promise<Response> {
  const bearer = req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
  if (!peer.validTokens.has(bearer)) return rpcError(401, "UNAUTHENTICATED");
  if (req.headers.get("content-type") !== "application/json") peer.violations.push("content-type");
  const parsed = SendRequest.safeParse(await req.json());
  if (!parsed.success) {
    peer.violations.push(`message shape: ${parsed.error.message}`);
    return rpcError(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT");
  }
  peer.lastMessage = parsed.data.message;
  // The device token's prefix scripts the answer.
  switch (parsed.data.message.token.split(":")[0]) {
    case "unregistered":
      return rpcError(404, "NOT_FOUND", "UNREGISTERED");
    case "quota":
      return rpcError(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED");
    case "unavailable":
      return rpcError(503, "UNAVAILABLE", "UNAVAILABLE");
    case "slow":
      await Bun.sleep(1500);
  }
  peer.sends += 1;
  return Response.json({ name: `projects/${PROJECT}/messages/${peer.sends}` });
}

beforeEach(() => {
  Object.assign(peer, { tokenMode: "ok", tokenDelayMs: 20, expiresIn: 3600, clock: () => Date.now(), violations: [], lastMessage: undefined });
});
afterEach(() => expect(peer.violations).toEqual([]));

const ctx = { attempt: 1, signal: new AbortController().signal };
const newSender = (timeoutMs = 2000) => createFcmSender({ serviceAccount, baseUrl, timeoutMs });

function note(payload: Record<string, unknown>): OutboundNotification {
  return { id: crypto.randomUUID(), tenantId: "acme", userId: "u", channel: "push", type: "transactional", payload, metadata: null, correlationId: null };
}

async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => new Error("expected a failure"),
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );
}

describe("ServiceAccountKey", () => {
  test("accepts a key file and drops the fields it does not use", () => {
    const parsed = ServiceAccountKey.parse({ type: "service_account", client_id: "1", ...serviceAccount });
    expect(parsed).toEqual(serviceAccount);
  });

  test("rejects a key file without private_key, naming the field", () => {
    const { private_key: _, ...rest } = serviceAccount;
    const result = ServiceAccountKey.safeParse(rest);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join("."))).toEqual(["private_key"]);
  });
});

describe("service-account token source", () => {
  const tokenSource = (now?: () => number) => createServiceAccountTokenSource({ serviceAccount, scope: FCM_SCOPE, ...(now ? { now } : {}) });

  test("grants a token for an RS256 assertion the endpoint verifies", async () => {
    const before = peer.grants;
    const token = await tokenSource().token(ctx.signal);
    expect(peer.validTokens.has(token)).toBe(true);
    expect(peer.grants).toBe(before + 1);
  });

  test("reads a private key whose newlines arrived as literal \\n", async () => {
    const pasted = { ...serviceAccount, private_key: privateKey.replaceAll("\n", "\\n") };
    const token = await createServiceAccountTokenSource({ serviceAccount: pasted, scope: FCM_SCOPE }).token(ctx.signal);
    expect(peer.validTokens.has(token)).toBe(true);
  });

  test("caches the token until a minute before it expires, then grants again", async () => {
    let t = Date.parse("2030-01-01T00:00:00Z");
    peer.clock = () => t;
    const source = tokenSource(() => t);
    const before = peer.grants;
    const first = await source.token(ctx.signal);
    t += 3539_000;
    expect(await source.token(ctx.signal)).toBe(first);
    t += 2_000;
    expect(await source.token(ctx.signal)).not.toBe(first);
    expect(peer.grants).toBe(before + 2);
  });

  test("does not cache a failed grant", async () => {
    const source = tokenSource();
    peer.tokenMode = "invalid_grant";
    const err = await failure(source.token(ctx.signal));
    expect(err).toBeInstanceOf(TokenGrantError);
    expect(err.message).toContain("invalid_grant");
    peer.tokenMode = "ok";
    expect(peer.validTokens.has(await source.token(ctx.signal))).toBe(true);
  });

  test("a caller that stops waiting does not cancel the grant for the others", async () => {
    peer.tokenDelayMs = 100;
    const source = tokenSource();
    const before = peer.grants;
    const impatient = failure(source.token(AbortSignal.timeout(10)));
    const patient = source.token(ctx.signal);
    expect((await impatient).name).toBe("TimeoutError");
    expect(peer.validTokens.has(await patient)).toBe(true);
    expect(peer.grants).toBe(before + 1);
  });

  test("invalidating a token that was already replaced keeps the newer one", async () => {
    const source = tokenSource();
    const old = await source.token(ctx.signal);
    source.invalidate(old);
    const fresh = await source.token(ctx.signal);
    const before = peer.grants;
    source.invalidate(old);
    expect(await source.token(ctx.signal)).toBe(fresh);
    expect(peer.grants).toBe(before);
  });
});

describe("FCM sender", () => {
  test("sends the documented message and returns FCM's message name", async () => {
    const result = await newSender().send(note({ to: "dev:abc", title: "Hi", body: "Your order shipped", data: { orderId: "42" } }), ctx);
    expect(result.providerMessageId).toMatch(new RegExp(`^projects/${PROJECT}/messages/\\d+$`));
    expect(peer.lastMessage).toEqual({ token: "dev:abc", notification: { title: "Hi", body: "Your order shipped" }, data: { orderId: "42" } });
  });

  test("many concurrent sends share exactly one token grant", async () => {
    const sender = newSender();
    const [grants, sends] = [peer.grants, peer.sends];
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => sender.send(note({ to: `dev:${i}`, title: "t", body: "b" }), ctx)));
    expect(results.every((r) => r.providerMessageId !== undefined)).toBe(true);
    expect(peer.grants).toBe(grants + 1);
    expect(peer.sends).toBe(sends + 25);
  });

  test("a 401 drops the cached token and the next send grants a fresh one", async () => {
    const sender = newSender();
    await sender.send(note({ to: "dev:1", title: "t", body: "b" }), ctx);
    const grants = peer.grants;
    peer.validTokens.clear();
    const err = await failure(sender.send(note({ to: "dev:2", title: "t", body: "b" }), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain("UNAUTHENTICATED");
    await sender.send(note({ to: "dev:3", title: "t", body: "b" }), ctx);
    expect(peer.grants).toBe(grants + 1);
  });

  test("UNREGISTERED is permanent, marks the device unreachable, and names the code, never the device token or text", async () => {
    const err = await failure(newSender().send(note({ to: "unregistered:device-secret-7f3a", title: "Private title", body: "Private body" }), ctx));
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).unreachable).toBe(true);
    expect(err.message).toContain("UNREGISTERED");
    for (const pii of ["device-secret", "Private"]) expect(err.message).not.toContain(pii);
  });

  test("QUOTA_EXCEEDED is retryable and honours Retry-After", async () => {
    const err = await failure(newSender().send(note({ to: "quota:x", title: "t", body: "b" }), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain("QUOTA_EXCEEDED");
    expect((err as RetryableError).retryAfterMs).toBe(7000);
  });

  test("UNAVAILABLE is retryable", async () => {
    const err = await failure(newSender().send(note({ to: "unavailable:x", title: "t", body: "b" }), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain("UNAVAILABLE");
  });

  test("a token endpoint refusing the grant is retryable and nothing is sent", async () => {
    peer.tokenMode = "invalid_grant";
    const sends = peer.sends;
    const err = await failure(newSender().send(note({ to: "dev:x", title: "t", body: "b" }), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain("invalid_grant");
    expect(peer.sends).toBe(sends);
  });

  test("a slow FCM times out as retryable within about timeoutMs", async () => {
    const sender = newSender(300);
    await sender.send(note({ to: "dev:warm", title: "t", body: "b" }), ctx);
    const started = performance.now();
    const err = await failure(sender.send(note({ to: "slow:x", title: "t", body: "b" }), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain("timed out after 300 ms");
    expect(performance.now() - started).toBeLessThan(800);
  });

  test("a refused connection is retryable", async () => {
    const sender = createFcmSender({ serviceAccount, baseUrl: "http://127.0.0.1:1", timeoutMs: 2000 });
    expect(await failure(sender.send(note({ to: "dev:x", title: "t", body: "b" }), ctx))).toBeInstanceOf(RetryableError);
  });

  test("an invalid payload is permanent and makes no request", async () => {
    const [grants, sends] = [peer.grants, peer.sends];
    const err = await failure(newSender().send(note({ to: "dev:x", title: "t", body: "b", data: { n: 1 } }), ctx));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain("data.n");
    expect([peer.grants, peer.sends]).toEqual([grants, sends]);
  });
});

describe("classifyFcmFailure", () => {
  const fcmError = (code: number, status: string, errorCode: string) => ({
    error: {
      code,
      message: "…",
      status,
      details: [
        { "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [] },
        { "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode },
      ],
    },
  });
  const rows: [string, number, unknown, "permanent" | "retryable", string][] = [
    ["UNREGISTERED", 404, fcmError(404, "NOT_FOUND", "UNREGISTERED"), "permanent", "UNREGISTERED"],
    ["INVALID_ARGUMENT", 400, fcmError(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"), "permanent", "INVALID_ARGUMENT"],
    ["SENDER_ID_MISMATCH", 403, fcmError(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"), "permanent", "SENDER_ID_MISMATCH"],
    ["QUOTA_EXCEEDED", 429, fcmError(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), "retryable", "QUOTA_EXCEEDED"],
    ["UNAVAILABLE", 503, fcmError(503, "UNAVAILABLE", "UNAVAILABLE"), "retryable", "UNAVAILABLE"],
    ["INTERNAL", 500, fcmError(500, "INTERNAL", "INTERNAL"), "retryable", "INTERNAL"],
    ["THIRD_PARTY_AUTH_ERROR (not our token)", 401, fcmError(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR"), "retryable", "THIRD_PARTY_AUTH_ERROR"],
    [
      "a BadRequest detail alone",
      400,
      { error: { code: 400, status: "INVALID_ARGUMENT", details: [{ "@type": "type.googleapis.com/google.rpc.BadRequest" }] } },
      "permanent",
      "INVALID_ARGUMENT",
    ],
    [
      "PERMISSION_DENIED without an FCM code (the service account's role: config)",
      403,
      { error: { code: 403, status: "PERMISSION_DENIED" } },
      "retryable",
      "PERMISSION_DENIED",
    ],
    ["an unknown 4xx", 418, undefined, "permanent", "HTTP 418"],
    ["an HTML 502 from the front end", 502, undefined, "retryable", "HTTP 502"],
    ["a redirect", 302, undefined, "permanent", "HTTP 302"],
  ];

  test.each(rows)("%s (HTTP %i) is classified by code", (_, status, body, kind, named) => {
    const { error, staleToken } = classifyFcmFailure(status, body, null);
    expect(error).toBeInstanceOf(kind === "permanent" ? PermanentError : RetryableError);
    expect(error.message).toContain(named);
    expect(staleToken).toBe(false);
  });

  test("a 401 for our own token asks for a fresh one", () => {
    const { error, staleToken } = classifyFcmFailure(401, { error: { code: 401, status: "UNAUTHENTICATED" } }, null);
    expect(error).toBeInstanceOf(RetryableError);
    expect(staleToken).toBe(true);
  });

  test("Retry-After reaches the retryable error", () => {
    const { error } = classifyFcmFailure(503, fcmError(503, "UNAVAILABLE", "UNAVAILABLE"), "30");
    expect((error as RetryableError).retryAfterMs).toBe(30_000);
  });
});
